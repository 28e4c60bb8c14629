"""per-scheme totals of the stored ledgers' member dues by month (report_due_total, report_household.due_totals)

A month-aligned report reads its dues of the period paid and arrears from these totals (docs/scale.md, issue 17).
Existing stored ledgers get ``due_totals`` NULL: the totals are then not whole, reports keep the scans, and
``flask report refresh-ledgers`` fills them (it needs the contributions engine: receipts split over the dues in
order, which SQL alone does not do).

Revision ID: e7d2b5c1a904
Revises: d4c8a1f6e3b2
Create Date: 2026-12-06 01:30:00

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "e7d2b5c1a904"
down_revision = "d4c8a1f6e3b2"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "report_due_total",
        sa.Column("scheme_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("start_month", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("paid_month", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("left_month", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("due", sa.BigInteger(), nullable=False),
        sa.Column("paid", sa.BigInteger(), nullable=False),
        sa.Column("short", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "scheme_id", "start_month", "paid_month", "left_month", name=op.f("pk_report_due_total")
        ),
    )
    with op.batch_alter_table("report_household", schema=None) as batch_op:
        batch_op.add_column(sa.Column("due_totals", sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table("report_household", schema=None) as batch_op:
        batch_op.drop_column("due_totals")
    op.drop_table("report_due_total")
