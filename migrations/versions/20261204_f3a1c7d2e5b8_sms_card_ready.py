"""SMS outbox: the "card ready" message kind

Revision ID: f3a1c7d2e5b8
Revises: 7c1e2f3a9b10
Create Date: 2026-12-04 18:50:00

"""

from alembic import op


revision = "f3a1c7d2e5b8"
down_revision = "4f8a2c6e1d35"
branch_labels = None
depends_on = None

OLD_KINDS = "kind IN ('receipt','arrears','claim_decided')"
NEW_KINDS = "kind IN ('receipt','arrears','claim_decided','card_ready')"


def upgrade():
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_outbox_message_kind_known"), type_="check")
        batch_op.create_check_constraint(batch_op.f("ck_outbox_message_kind_known"), NEW_KINDS)


def downgrade():
    op.execute("DELETE FROM outbox_message WHERE kind = 'card_ready'")
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_outbox_message_kind_known"), type_="check")
        batch_op.create_check_constraint(batch_op.f("ck_outbox_message_kind_known"), OLD_KINDS)
