"""sign-in throttle per (e-mail, address) instead of the account lockout (issue 18); the forced password
change (issue 16)

Revision ID: 7a1e0c4b9f21
Revises: 5e5510a1c0de
Create Date: 2026-12-04 16:30:00

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "7a1e0c4b9f21"
down_revision = "5e5510a1c0de"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "login_throttle",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("address", sa.String(length=45), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("first_failure_at", sa.DateTime(), nullable=False),
        sa.Column("last_failure_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["user_account.id"], name=op.f("fk_login_throttle_user_id_user_account")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_throttle")),
        sa.UniqueConstraint("email", "address", name=op.f("uq_login_throttle_email_address")),
    )
    with op.batch_alter_table("login_throttle", schema=None) as batch_op:
        batch_op.create_index("ix_login_throttle_address_last", ["address", "last_failure_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_login_throttle_user_id"), ["user_id"], unique=False)
    # The account-wide lockout is gone: anyone could lock anyone out with it.
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.drop_column("locked_until")
        batch_op.drop_column("failed_logins")
        # Existing accounts chose their passwords long ago: only new ones must change theirs.
        batch_op.add_column(sa.Column("must_change_password", sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade():
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.drop_column("must_change_password")
        batch_op.add_column(sa.Column("failed_logins", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("locked_until", sa.DateTime(), nullable=True))
    with op.batch_alter_table("login_throttle", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_login_throttle_user_id"))
        batch_op.drop_index("ix_login_throttle_address_last")
    op.drop_table("login_throttle")
