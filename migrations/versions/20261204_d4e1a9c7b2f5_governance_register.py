"""governance register: meetings, resolutions, the resolution a product version was activated on

General assemblies and board meetings of a scheme with attendance and quorum, their resolutions with the votes
(C102 art. 72, issue 16), and product_version.resolution_id.

Revision ID: d4e1a9c7b2f5
Revises: 7c3f1e2a9b10
Create Date: 2026-12-04 19:00:00

"""

from alembic import op
import sqlalchemy as sa

import mhi.core.db


# revision identifiers, used by Alembic.
revision = "d4e1a9c7b2f5"
down_revision = "b9e4d2a7c1f3"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "meeting",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scheme_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("held_on", sa.Date(), nullable=False),
        sa.Column("place", sa.String(length=200), nullable=False),
        sa.Column("members_entitled", sa.Integer(), nullable=False),
        sa.Column("attendance", sa.Integer(), nullable=False),
        sa.Column("quorum_share", mhi.core.db.Rate(), nullable=False),
        sa.Column("quorum_reached", sa.Boolean(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), server_default=sa.text("(CURRENT_TIMESTAMP)"), nullable=False),
        sa.CheckConstraint("kind IN ('general_assembly','board')", name=op.f("ck_meeting_kind_known")),
        sa.CheckConstraint("members_entitled > 0", name=op.f("ck_meeting_entitled_positive")),
        sa.CheckConstraint(
            "attendance >= 0 AND attendance <= members_entitled", name=op.f("ck_meeting_attendance_in_range")
        ),
        sa.ForeignKeyConstraint(["created_by_id"], ["user_account.id"], name=op.f("fk_meeting_created_by_id_user_account")),
        sa.ForeignKeyConstraint(["scheme_id"], ["scheme.id"], name=op.f("fk_meeting_scheme_id_scheme")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meeting")),
    )
    with op.batch_alter_table("meeting") as batch_op:
        batch_op.create_index(batch_op.f("ix_meeting_scheme_id"), ["scheme_id"], unique=False)
    op.create_table(
        "resolution",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("votes_for", sa.Integer(), nullable=False),
        sa.Column("votes_against", sa.Integer(), nullable=False),
        sa.Column("votes_abstain", sa.Integer(), nullable=False),
        sa.Column("adopted", sa.Boolean(), nullable=False),
        sa.CheckConstraint(
            "votes_for >= 0 AND votes_against >= 0 AND votes_abstain >= 0", name=op.f("ck_resolution_votes_positive")
        ),
        sa.ForeignKeyConstraint(["meeting_id"], ["meeting.id"], name=op.f("fk_resolution_meeting_id_meeting")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_resolution")),
        sa.UniqueConstraint("meeting_id", "position", name=op.f("uq_resolution_meeting_id_position")),
    )
    with op.batch_alter_table("resolution") as batch_op:
        batch_op.create_index(batch_op.f("ix_resolution_meeting_id"), ["meeting_id"], unique=False)
    with op.batch_alter_table("product_version") as batch_op:
        batch_op.add_column(sa.Column("resolution_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            op.f("fk_product_version_resolution_id_resolution"), "resolution", ["resolution_id"], ["id"]
        )


def downgrade():
    with op.batch_alter_table("product_version") as batch_op:
        batch_op.drop_constraint(op.f("fk_product_version_resolution_id_resolution"), type_="foreignkey")
        batch_op.drop_column("resolution_id")
    with op.batch_alter_table("resolution") as batch_op:
        batch_op.drop_index(batch_op.f("ix_resolution_meeting_id"))
    op.drop_table("resolution")
    with op.batch_alter_table("meeting") as batch_op:
        batch_op.drop_index(batch_op.f("ix_meeting_scheme_id"))
    op.drop_table("meeting")
