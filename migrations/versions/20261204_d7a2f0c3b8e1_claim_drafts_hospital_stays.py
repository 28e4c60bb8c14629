"""claim drafts, hospital stays

Claims typed in the form are kept as drafts (their own table and bill lines) until submitted; a claim may carry a
hospital stay's discharge date (its date_of_service is the admission day).

Revision ID: d7a2f0c3b8e1
Revises: 7c3f1e2a9b10
Create Date: 2026-12-04 19:00:00

"""

from alembic import op
import sqlalchemy as sa

import mhi.core.db


# revision identifiers, used by Alembic.
revision = "d7a2f0c3b8e1"
down_revision = "d4e1a9c7b2f5"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("claim") as batch_op:
        batch_op.add_column(sa.Column("discharge_date", sa.Date(), nullable=True))
        batch_op.create_check_constraint(
            op.f("ck_claim_stay_ordered"), "discharge_date IS NULL OR discharge_date >= date_of_service"
        )
    op.create_table(
        "claim_draft",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scheme_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("claim_ref", sa.String(length=40), nullable=False),
        sa.Column("member_no", sa.String(length=40), nullable=False),
        sa.Column("benefit_code", sa.String(length=40), nullable=False),
        sa.Column("provider_code", sa.String(length=40), nullable=False),
        sa.Column("date_of_service", sa.Date(), nullable=False),
        sa.Column("discharge_date", sa.Date(), nullable=True),
        sa.Column("date_submitted", sa.Date(), nullable=False),
        sa.Column("diagnosis_code", sa.String(length=10), nullable=False),
        sa.Column("guarantee_ref", sa.String(length=40), nullable=False),
        sa.Column("claim_id", sa.Integer(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), server_default=sa.text("(CURRENT_TIMESTAMP)"), nullable=False),
        sa.Column("closed_by_id", sa.Integer(), nullable=True),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint("state IN ('draft','submitted','discarded')", name=op.f("ck_claim_draft_state_known")),
        sa.CheckConstraint(
            "discharge_date IS NULL OR discharge_date >= date_of_service", name=op.f("ck_claim_draft_stay_ordered")
        ),
        sa.ForeignKeyConstraint(["claim_id"], ["claim.id"], name=op.f("fk_claim_draft_claim_id_claim")),
        sa.ForeignKeyConstraint(
            ["closed_by_id"], ["user_account.id"], name=op.f("fk_claim_draft_closed_by_id_user_account")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["user_account.id"], name=op.f("fk_claim_draft_created_by_id_user_account")
        ),
        sa.ForeignKeyConstraint(["scheme_id"], ["scheme.id"], name=op.f("fk_claim_draft_scheme_id_scheme")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_claim_draft")),
        sa.UniqueConstraint("claim_id", name=op.f("uq_claim_draft_claim_id")),
    )
    op.create_index("ix_claim_draft_scheme_state", "claim_draft", ["scheme_id", "state"], unique=False)
    op.create_table(
        "claim_draft_line",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("draft_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=120), nullable=False),
        sa.Column("amount", mhi.core.db.Money(), nullable=False),
        sa.CheckConstraint("amount > 0", name=op.f("ck_claim_draft_line_amount_positive")),
        sa.ForeignKeyConstraint(["draft_id"], ["claim_draft.id"], name=op.f("fk_claim_draft_line_draft_id_claim_draft")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_claim_draft_line")),
    )
    op.create_index(op.f("ix_claim_draft_line_draft_id"), "claim_draft_line", ["draft_id"], unique=False)


def downgrade():
    op.drop_index(op.f("ix_claim_draft_line_draft_id"), table_name="claim_draft_line")
    op.drop_table("claim_draft_line")
    op.drop_index("ix_claim_draft_scheme_state", table_name="claim_draft")
    op.drop_table("claim_draft")
    with op.batch_alter_table("claim") as batch_op:
        batch_op.drop_constraint(op.f("ck_claim_stay_ordered"), type_="check")
        batch_op.drop_column("discharge_date")
