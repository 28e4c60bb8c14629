"""stored ledgers kept by the writes: no report signature; households found by scheme and horizon

The stored ledgers are written by the writes that change their inputs (issue 17), so a report no longer checks
a register signature (``report_scheme`` goes) and only asks the lowest horizon of a scheme, which the
(scheme_id, horizon) index answers at once. Existing stored ledgers stay; ``flask report refresh-ledgers``
builds those that are missing.

Revision ID: 7c1e2f3a9b10
Revises: c5a9d0e7f1b3
Create Date: 2026-12-04 16:30:00

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "7c1e2f3a9b10"
down_revision = "7c3f1e2a9b10"
branch_labels = None
depends_on = None


def upgrade():
    op.drop_table("report_scheme")
    with op.batch_alter_table("report_household", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_report_household_scheme_id"))
        batch_op.create_index("ix_report_household_scheme_horizon", ["scheme_id", "horizon"], unique=False)


def downgrade():
    with op.batch_alter_table("report_household", schema=None) as batch_op:
        batch_op.drop_index("ix_report_household_scheme_horizon")
        batch_op.create_index(batch_op.f("ix_report_household_scheme_id"), ["scheme_id"], unique=False)
    op.create_table(
        "report_scheme",
        sa.Column("scheme_id", sa.Integer(), nullable=False),
        sa.Column("signature", sa.String(length=400), nullable=False),
        sa.Column("horizon", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["scheme_id"], ["scheme.id"], name=op.f("fk_report_scheme_scheme_id_scheme"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("scheme_id", name=op.f("pk_report_scheme")),
    )
