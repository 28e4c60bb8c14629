"""funder role, the programmes a funder follows, signed-off subsidy claims

Revision ID: c5a9d0e7f1b3
Revises: b3f6c8d1e2a4
Create Date: 2026-12-04 17:30:00

"""

from alembic import op
import sqlalchemy as sa

import mhi.core.db


revision = "c5a9d0e7f1b3"
down_revision = "b3f6c8d1e2a4"
branch_labels = None
depends_on = None

OLD_ROLES = "role IN ('admin','federation_reviewer','scheme_manager','clerk','claims_officer','auditor')"
NEW_ROLES = "role IN ('admin','federation_reviewer','scheme_manager','clerk','claims_officer','auditor','funder')"


def upgrade():
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_user_account_role_known"), type_="check")
        batch_op.create_check_constraint(batch_op.f("ck_user_account_role_known"), NEW_ROLES)
    op.create_table(
        "funder_programme",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("programme_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["programme_id"], ["subsidy_programme.id"], name=op.f("fk_funder_programme_programme_id_subsidy_programme")
        ),
        sa.ForeignKeyConstraint(["user_id"], ["user_account.id"], name=op.f("fk_funder_programme_user_id_user_account")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_funder_programme")),
        sa.UniqueConstraint("user_id", "programme_id", name=op.f("uq_funder_programme_user_id_programme_id")),
    )
    with op.batch_alter_table("funder_programme", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_funder_programme_programme_id"), ["programme_id"], unique=False)
    op.create_table(
        "subsidy_claim",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scheme_id", sa.Integer(), nullable=False),
        sa.Column("programme_id", sa.Integer(), nullable=False),
        sa.Column("date_from", sa.Date(), nullable=False),
        sa.Column("date_to", sa.Date(), nullable=False),
        sa.Column("due", mhi.core.db.Money(), nullable=False),
        sa.Column("received", mhi.core.db.Money(), nullable=False),
        sa.Column("households", sa.Integer(), nullable=False),
        sa.Column("signed_by_id", sa.Integer(), nullable=True),
        sa.Column("signed_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("date_to >= date_from", name=op.f("ck_subsidy_claim_period_ordered")),
        sa.ForeignKeyConstraint(
            ["programme_id"], ["subsidy_programme.id"], name=op.f("fk_subsidy_claim_programme_id_subsidy_programme")
        ),
        sa.ForeignKeyConstraint(["scheme_id"], ["scheme.id"], name=op.f("fk_subsidy_claim_scheme_id_scheme")),
        sa.ForeignKeyConstraint(
            ["signed_by_id"], ["user_account.id"], name=op.f("fk_subsidy_claim_signed_by_id_user_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subsidy_claim")),
        sa.UniqueConstraint(
            "programme_id", "date_from", "date_to", name=op.f("uq_subsidy_claim_programme_id_date_from_date_to")
        ),
    )
    with op.batch_alter_table("subsidy_claim", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_subsidy_claim_scheme_id"), ["scheme_id"], unique=False)
    op.create_table(
        "subsidy_claim_line",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("claim_id", sa.Integer(), nullable=False),
        sa.Column("household_ref", sa.String(length=40), nullable=False),
        sa.Column("head", sa.String(length=201), nullable=False),
        sa.Column("persons", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(length=40), nullable=False),
        sa.Column("months", sa.Integer(), nullable=False),
        sa.Column("amount", mhi.core.db.Money(), nullable=False),
        sa.ForeignKeyConstraint(
            ["claim_id"], ["subsidy_claim.id"], name=op.f("fk_subsidy_claim_line_claim_id_subsidy_claim")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subsidy_claim_line")),
        sa.UniqueConstraint("claim_id", "household_ref", name=op.f("uq_subsidy_claim_line_claim_id_household_ref")),
    )


def downgrade():
    op.drop_table("subsidy_claim_line")
    with op.batch_alter_table("subsidy_claim", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_subsidy_claim_scheme_id"))
    op.drop_table("subsidy_claim")
    with op.batch_alter_table("funder_programme", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_funder_programme_programme_id"))
    op.drop_table("funder_programme")
    # The old schema knows no funder: such accounts are kept (the audit trail names them), closed.
    op.execute("UPDATE user_account SET role = 'auditor', active = false WHERE role = 'funder'")
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_user_account_role_known"), type_="check")
        batch_op.create_check_constraint(batch_op.f("ck_user_account_role_known"), OLD_ROLES)
