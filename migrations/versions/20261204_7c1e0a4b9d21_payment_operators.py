"""payment operators; receipts carry their operator and transaction id

Revision ID: 7c1e0a4b9d21
Revises: 7a1e0c4b9f21
Create Date: 2026-12-04 16:10:00

Existing receipts keep their method (cash unless imported otherwise) and get no operator: a transaction id
cannot be invented for them. A scheme starts with the default operators (mhi/schemes/operators.py) until its
manager saves its own list, so no row is written here.
"""

from alembic import op
import sqlalchemy as sa


revision = "7c1e0a4b9d21"
down_revision = "7a1e0c4b9f21"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "payment_operator",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scheme_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("method", sa.String(length=20), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("column_map", sa.JSON(), nullable=False),
        sa.Column("decimal_comma", sa.Boolean(), nullable=False),
        sa.Column("delimiter", sa.String(length=1), nullable=False),
        sa.CheckConstraint("method IN ('mobile_money','bank')", name=op.f("ck_payment_operator_method_known")),
        sa.ForeignKeyConstraint(["scheme_id"], ["scheme.id"], name=op.f("fk_payment_operator_scheme_id_scheme")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_operator")),
        sa.UniqueConstraint("scheme_id", "code", name=op.f("uq_payment_operator_scheme_id_code")),
    )
    with op.batch_alter_table("receipt", schema=None) as batch_op:
        batch_op.add_column(sa.Column("operator", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("transaction_id", sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(
            batch_op.f("uq_receipt_scheme_id_operator_transaction_id"), ["scheme_id", "operator", "transaction_id"]
        )
        batch_op.create_check_constraint(
            batch_op.f("ck_receipt_transaction_has_operator"), "transaction_id IS NULL OR operator IS NOT NULL"
        )


def downgrade():
    with op.batch_alter_table("receipt", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_receipt_transaction_has_operator"), type_="check")
        batch_op.drop_constraint(batch_op.f("uq_receipt_scheme_id_operator_transaction_id"), type_="unique")
        batch_op.drop_column("transaction_id")
        batch_op.drop_column("operator")
    op.drop_table("payment_operator")
