"""SMS outbox and households' SMS choices

Revision ID: e8b2f4a6c7d9
Revises: c5a9d0e7f1b3
Create Date: 2026-12-04 17:40:00

"""

from alembic import op
import sqlalchemy as sa


revision = "e8b2f4a6c7d9"
down_revision = "c5a9d0e7f1b3"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "outbox_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scheme_id", sa.Integer(), nullable=False),
        sa.Column("household_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("dedupe_key", sa.String(length=80), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("language", sa.String(length=10), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("gateway_id", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(), server_default=sa.text("(CURRENT_TIMESTAMP)"), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint("kind IN ('receipt','arrears','claim_decided')", name=op.f("ck_outbox_message_kind_known")),
        sa.CheckConstraint("status IN ('queued','sent','failed')", name=op.f("ck_outbox_message_status_known")),
        sa.ForeignKeyConstraint(["household_id"], ["household.id"], name=op.f("fk_outbox_message_household_id_household")),
        sa.ForeignKeyConstraint(["scheme_id"], ["scheme.id"], name=op.f("fk_outbox_message_scheme_id_scheme")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_message")),
        sa.UniqueConstraint("scheme_id", "dedupe_key", name=op.f("uq_outbox_message_scheme_id_dedupe_key")),
    )
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_outbox_message_household_id"), ["household_id"], unique=False)
        batch_op.create_index("ix_outbox_message_status_next", ["status", "next_attempt_at"], unique=False)
    op.create_table(
        "sms_preference",
        sa.Column("household_id", sa.Integer(), nullable=False),
        sa.Column("opted_out", sa.Boolean(), nullable=False),
        sa.Column("claims_consent", sa.Boolean(), nullable=False),
        sa.Column("changed_at", sa.DateTime(), server_default=sa.text("(CURRENT_TIMESTAMP)"), nullable=False),
        sa.ForeignKeyConstraint(["household_id"], ["household.id"], name=op.f("fk_sms_preference_household_id_household")),
        sa.PrimaryKeyConstraint("household_id", name=op.f("pk_sms_preference")),
    )


def downgrade():
    op.drop_table("sms_preference")
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_message_status_next")
        batch_op.drop_index(batch_op.f("ix_outbox_message_household_id"))
    op.drop_table("outbox_message")
