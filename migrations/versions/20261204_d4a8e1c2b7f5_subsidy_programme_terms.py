"""dated subsidy programme terms

A subsidy programme's share and categories become effective-dated rows (data-formats.md "Loading the same
scheme.json": a changed programme takes its new terms from a date; periods starting before it keep the old ones).
Each existing programme's terms become its first row, from its valid_from.

Revision ID: d4a8e1c2b7f5
Revises: 7c1e2f3a9b10
Create Date: 2026-12-04 19:00:00

"""

from alembic import op
import sqlalchemy as sa

import mhi.core.db


# revision identifiers, used by Alembic.
revision = "d4a8e1c2b7f5"
down_revision = "7c1e2f3a9b10"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "subsidy_programme_terms",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("programme_id", sa.Integer(), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("share", mhi.core.db.Rate(), nullable=False),
        sa.Column("categories", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), server_default=sa.text("(CURRENT_TIMESTAMP)"), nullable=False),
        sa.ForeignKeyConstraint(
            ["programme_id"],
            ["subsidy_programme.id"],
            name=op.f("fk_subsidy_programme_terms_programme_id_subsidy_programme"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subsidy_programme_terms")),
        sa.UniqueConstraint(
            "programme_id", "effective_from", name=op.f("uq_subsidy_programme_terms_programme_id_effective_from")
        ),
    )
    op.execute(
        "INSERT INTO subsidy_programme_terms (programme_id, effective_from, share, categories) "
        "SELECT id, valid_from, share, categories FROM subsidy_programme"
    )
    with op.batch_alter_table("subsidy_programme") as batch_op:
        batch_op.drop_column("share")
        batch_op.drop_column("categories")


def downgrade():
    with op.batch_alter_table("subsidy_programme") as batch_op:
        batch_op.add_column(sa.Column("categories", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("share", mhi.core.db.Rate(), nullable=True))
    # The first terms go back into the programme; later dated terms cannot be kept.
    op.execute(
        "UPDATE subsidy_programme SET "
        "share = (SELECT t.share FROM subsidy_programme_terms t WHERE t.programme_id = subsidy_programme.id "
        "ORDER BY t.effective_from LIMIT 1), "
        "categories = (SELECT t.categories FROM subsidy_programme_terms t WHERE t.programme_id = subsidy_programme.id "
        "ORDER BY t.effective_from LIMIT 1)"
    )
    with op.batch_alter_table("subsidy_programme") as batch_op:
        batch_op.alter_column("categories", nullable=False)
        batch_op.alter_column("share", nullable=False)
    op.drop_table("subsidy_programme_terms")
