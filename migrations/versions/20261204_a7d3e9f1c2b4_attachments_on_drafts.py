"""attachments on draft claims: a paper attached to a draft follows its claim at submission

Revision ID: a7d3e9f1c2b4
Revises: f3a1c7d2e5b8
Create Date: 2026-12-04 20:45:00

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "a7d3e9f1c2b4"
down_revision = "f3a1c7d2e5b8"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("claim_attachment", schema=None) as batch_op:
        batch_op.add_column(sa.Column("draft_id", sa.Integer(), nullable=True))
        batch_op.alter_column("claim_id", existing_type=sa.Integer(), nullable=True)
        batch_op.create_index(batch_op.f("ix_claim_attachment_draft_id"), ["draft_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_claim_attachment_draft_id_claim_draft"), "claim_draft", ["draft_id"], ["id"]
        )
        batch_op.create_check_constraint(batch_op.f("ck_claim_attachment_of_claim_or_draft"), "claim_id IS NOT NULL OR draft_id IS NOT NULL")


def downgrade():
    op.execute("DELETE FROM claim_attachment WHERE claim_id IS NULL")
    with op.batch_alter_table("claim_attachment", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_claim_attachment_of_claim_or_draft"), type_="check")
        batch_op.drop_constraint(batch_op.f("fk_claim_attachment_draft_id_claim_draft"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_claim_attachment_draft_id"))
        batch_op.alter_column("claim_id", existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column("draft_id")
