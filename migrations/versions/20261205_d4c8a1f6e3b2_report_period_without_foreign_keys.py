"""stored ledger periods without foreign keys: written set-wise by the writes that read their households

``report_period`` is a cache (contributions/models.py): its rows are written only by ``store_ledgers``, for
households the same transaction has just read and locked, with their scheme's id. PostgreSQL checks a foreign
key row by row (COPY and INSERT … SELECT alike); at a year of receipts those checks were about 60 % of the time
spent copying the periods (issue 17, docs/scale.md). The household's stored ledger, ``report_household``, keeps
its foreign key.

Revision ID: d4c8a1f6e3b2
Revises: c9e2a7f4d1b3
Create Date: 2026-12-05 12:00:00

"""

from alembic import op


# revision identifiers, used by Alembic.
revision = "d4c8a1f6e3b2"
down_revision = "c9e2a7f4d1b3"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("report_period", schema=None) as batch_op:
        batch_op.drop_constraint("fk_report_period_household_id_household", type_="foreignkey")
        batch_op.drop_constraint("fk_report_period_scheme_id_scheme", type_="foreignkey")


def downgrade():
    with op.batch_alter_table("report_period", schema=None) as batch_op:
        batch_op.create_foreign_key(
            "fk_report_period_household_id_household", "household", ["household_id"], ["id"], ondelete="CASCADE"
        )
        batch_op.create_foreign_key("fk_report_period_scheme_id_scheme", "scheme", ["scheme_id"], ["id"])
