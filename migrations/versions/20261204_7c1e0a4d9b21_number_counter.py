"""number counter: one allocation mechanism for every generated number (issue 18)

Revision ID: 7c1e0a4d9b21
Revises: a7e3c51d2f90
Create Date: 2026-12-04 16:10:00

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "7c1e0a4d9b21"
down_revision = "a7e3c51d2f90"
branch_labels = None
depends_on = None


def upgrade():
    # Counters start empty: core/numbering.py skips the numbers already stored when a counter is first used.
    op.create_table(
        "number_counter",
        sa.Column("scheme_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("scope", sa.String(length=60), nullable=False),
        sa.Column("last", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["scheme_id"], ["scheme.id"], name=op.f("fk_number_counter_scheme_id_scheme")),
        sa.PrimaryKeyConstraint("scheme_id", "kind", "scope", name=op.f("pk_number_counter")),
    )


def downgrade():
    op.drop_table("number_counter")
