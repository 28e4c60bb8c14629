"""operators' statement lines

Revision ID: 9e4d2b7f3a10
Revises: 7c1e0a4b9d21
Create Date: 2026-12-04 16:40:00

"""

from alembic import op
import sqlalchemy as sa

import mhi.core.db


revision = "9e4d2b7f3a10"
down_revision = "7c1e0a4b9d21"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "statement_line",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scheme_id", sa.Integer(), nullable=False),
        sa.Column("operator", sa.String(length=20), nullable=False),
        sa.Column("transaction_id", sa.String(length=64), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("amount", mhi.core.db.Money(), nullable=False),
        sa.Column("payer_phone", sa.String(length=40), nullable=False),
        sa.Column("reference", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("candidates", sa.Integer(), nullable=False),
        sa.Column("household_id", sa.Integer(), nullable=True),
        sa.Column("receipt_id", sa.Integer(), nullable=True),
        sa.Column("file", sa.String(length=200), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("imported_by_id", sa.Integer(), nullable=True),
        sa.Column("imported_at", sa.DateTime(), server_default=sa.text("(CURRENT_TIMESTAMP)"), nullable=False),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint("amount > 0", name=op.f("ck_statement_line_amount_positive")),
        sa.CheckConstraint(
            "(receipt_id IS NOT NULL) = (status IN ('matched','assigned'))",
            name=op.f("ck_statement_line_receipt_when_matched"),
        ),
        sa.CheckConstraint(
            "status IN ('matched','unmatched','ambiguous','assigned','not_ours')",
            name=op.f("ck_statement_line_status_known"),
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_id"], ["user_account.id"], name=op.f("fk_statement_line_decided_by_id_user_account")
        ),
        sa.ForeignKeyConstraint(["household_id"], ["household.id"], name=op.f("fk_statement_line_household_id_household")),
        sa.ForeignKeyConstraint(
            ["imported_by_id"], ["user_account.id"], name=op.f("fk_statement_line_imported_by_id_user_account")
        ),
        sa.ForeignKeyConstraint(["receipt_id"], ["receipt.id"], name=op.f("fk_statement_line_receipt_id_receipt")),
        sa.ForeignKeyConstraint(["scheme_id"], ["scheme.id"], name=op.f("fk_statement_line_scheme_id_scheme")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_statement_line")),
        sa.UniqueConstraint(
            "scheme_id", "operator", "transaction_id", name=op.f("uq_statement_line_scheme_id_operator_transaction_id")
        ),
    )
    with op.batch_alter_table("statement_line", schema=None) as batch_op:
        batch_op.create_index(
            "ix_statement_line_scheme_status", ["scheme_id", "status", "date"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_statement_line_receipt_id"), ["receipt_id"], unique=False)


def downgrade():
    with op.batch_alter_table("statement_line", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_statement_line_receipt_id"))
        batch_op.drop_index("ix_statement_line_scheme_status")
    op.drop_table("statement_line")
