"""group payers, their member households and their split payments

Revision ID: b3f6c8d1e2a4
Revises: 9e4d2b7f3a10
Create Date: 2026-12-04 17:05:00

"""

from alembic import op
import sqlalchemy as sa

import mhi.core.db


revision = "b3f6c8d1e2a4"
down_revision = "9e4d2b7f3a10"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "group_payer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scheme_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("phone", sa.String(length=40), nullable=False),
        sa.Column("created_at", sa.DateTime(), server_default=sa.text("(CURRENT_TIMESTAMP)"), nullable=False),
        sa.CheckConstraint(
            "kind IN ('self_help_group','cooperative','gie','employer','sponsor_abroad')",
            name=op.f("ck_group_payer_kind_known"),
        ),
        sa.ForeignKeyConstraint(["scheme_id"], ["scheme.id"], name=op.f("fk_group_payer_scheme_id_scheme")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_group_payer")),
        sa.UniqueConstraint("scheme_id", "code", name=op.f("uq_group_payer_scheme_id_code")),
    )
    op.create_table(
        "group_member",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("payer_id", sa.Integer(), nullable=False),
        sa.Column("household_id", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("added_at", sa.DateTime(), server_default=sa.text("(CURRENT_TIMESTAMP)"), nullable=False),
        sa.ForeignKeyConstraint(["household_id"], ["household.id"], name=op.f("fk_group_member_household_id_household")),
        sa.ForeignKeyConstraint(["payer_id"], ["group_payer.id"], name=op.f("fk_group_member_payer_id_group_payer")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_group_member")),
        sa.UniqueConstraint("payer_id", "household_id", name=op.f("uq_group_member_payer_id_household_id")),
    )
    with op.batch_alter_table("group_member", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_group_member_household_id"), ["household_id"], unique=False)
    op.create_table(
        "group_payment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scheme_id", sa.Integer(), nullable=False),
        sa.Column("payer_id", sa.Integer(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("amount", mhi.core.db.Money(), nullable=False),
        sa.Column("method", sa.String(length=20), nullable=False),
        sa.Column("operator", sa.String(length=20), nullable=True),
        sa.Column("transaction_id", sa.String(length=64), nullable=True),
        sa.Column("split", sa.String(length=10), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), server_default=sa.text("(CURRENT_TIMESTAMP)"), nullable=False),
        sa.CheckConstraint("amount > 0", name=op.f("ck_group_payment_amount_positive")),
        sa.CheckConstraint("method IN ('cash','mobile_money','bank')", name=op.f("ck_group_payment_method_known")),
        sa.CheckConstraint("split IN ('listed','even','owed')", name=op.f("ck_group_payment_split_known")),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["user_account.id"], name=op.f("fk_group_payment_created_by_id_user_account")
        ),
        sa.ForeignKeyConstraint(["payer_id"], ["group_payer.id"], name=op.f("fk_group_payment_payer_id_group_payer")),
        sa.ForeignKeyConstraint(["scheme_id"], ["scheme.id"], name=op.f("fk_group_payment_scheme_id_scheme")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_group_payment")),
        sa.UniqueConstraint(
            "scheme_id", "operator", "transaction_id", name=op.f("uq_group_payment_scheme_id_operator_transaction_id")
        ),
    )
    with op.batch_alter_table("group_payment", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_group_payment_payer_id"), ["payer_id"], unique=False)
    op.create_table(
        "group_payment_part",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("payment_id", sa.Integer(), nullable=False),
        sa.Column("household_id", sa.Integer(), nullable=False),
        sa.Column("amount", mhi.core.db.Money(), nullable=False),
        sa.Column("receipt_id", sa.Integer(), nullable=False),
        sa.CheckConstraint("amount > 0", name=op.f("ck_group_payment_part_amount_positive")),
        sa.ForeignKeyConstraint(
            ["household_id"], ["household.id"], name=op.f("fk_group_payment_part_household_id_household")
        ),
        sa.ForeignKeyConstraint(
            ["payment_id"], ["group_payment.id"], name=op.f("fk_group_payment_part_payment_id_group_payment")
        ),
        sa.ForeignKeyConstraint(["receipt_id"], ["receipt.id"], name=op.f("fk_group_payment_part_receipt_id_receipt")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_group_payment_part")),
        sa.UniqueConstraint("payment_id", "household_id", name=op.f("uq_group_payment_part_payment_id_household_id")),
        sa.UniqueConstraint("receipt_id", name=op.f("uq_group_payment_part_receipt_id")),
    )


def downgrade():
    op.drop_table("group_payment_part")
    with op.batch_alter_table("group_payment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_group_payment_payer_id"))
    op.drop_table("group_payment")
    with op.batch_alter_table("group_member", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_group_member_household_id"))
    op.drop_table("group_member")
    op.drop_table("group_payer")
