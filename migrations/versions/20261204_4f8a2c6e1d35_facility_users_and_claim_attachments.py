"""facility users (bound to one provider) and claim attachments (issue 13)

A ``facility`` account is bound to exactly one provider (``user_account.provider_id``; the database refuses a
facility without one and any other role with one). A claim's attachments are ``claim_attachment`` rows whose
bytes are a ``stored_file`` kept with the claim: ``stored_file.expires_at`` may now be NULL (never purged).

Revision ID: 4f8a2c6e1d35
Revises: 7c1e2f3a9b10
Create Date: 2026-12-04 18:45:00

"""

from alembic import op
import sqlalchemy as sa


revision = "4f8a2c6e1d35"
down_revision = "d7a2f0c3b8e1"
branch_labels = None
depends_on = None

OLD_ROLES = "role IN ('admin','federation_reviewer','scheme_manager','clerk','claims_officer','auditor','funder')"
NEW_ROLES = (
    "role IN ('admin','federation_reviewer','scheme_manager','clerk','claims_officer','auditor','funder','facility')"
)
PROVIDER_FOR_FACILITY = "(role = 'facility') = (provider_id IS NOT NULL)"


def upgrade():
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.add_column(sa.Column("provider_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_user_account_provider_id"), ["provider_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_user_account_provider_id_provider"), "provider", ["provider_id"], ["id"]
        )
        batch_op.drop_constraint(batch_op.f("ck_user_account_role_known"), type_="check")
        batch_op.create_check_constraint(batch_op.f("ck_user_account_role_known"), NEW_ROLES)
        batch_op.create_check_constraint(batch_op.f("ck_user_account_provider_for_facility"), PROVIDER_FOR_FACILITY)

    with op.batch_alter_table("stored_file", schema=None) as batch_op:
        batch_op.alter_column("expires_at", existing_type=sa.DateTime(), nullable=True)

    op.create_table(
        "claim_attachment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("claim_id", sa.Integer(), nullable=False),
        sa.Column("scheme_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("file_id", sa.Integer(), nullable=False),
        sa.Column("content_type", sa.String(length=40), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=120), nullable=False),
        sa.Column("uploaded_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), server_default=sa.text("(CURRENT_TIMESTAMP)"), nullable=False),
        sa.CheckConstraint(
            "content_type IN ('application/pdf','image/jpeg','image/png')",
            name=op.f("ck_claim_attachment_content_type_known"),
        ),
        sa.CheckConstraint("kind IN ('bill','referral','other')", name=op.f("ck_claim_attachment_kind_known")),
        sa.CheckConstraint("size > 0", name=op.f("ck_claim_attachment_size_positive")),
        sa.ForeignKeyConstraint(["claim_id"], ["claim.id"], name=op.f("fk_claim_attachment_claim_id_claim")),
        sa.ForeignKeyConstraint(["file_id"], ["stored_file.id"], name=op.f("fk_claim_attachment_file_id_stored_file")),
        sa.ForeignKeyConstraint(["scheme_id"], ["scheme.id"], name=op.f("fk_claim_attachment_scheme_id_scheme")),
        sa.ForeignKeyConstraint(
            ["uploaded_by_id"], ["user_account.id"], name=op.f("fk_claim_attachment_uploaded_by_id_user_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_claim_attachment")),
        sa.UniqueConstraint("file_id", name=op.f("uq_claim_attachment_file_id")),
    )
    with op.batch_alter_table("claim_attachment", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_claim_attachment_claim_id"), ["claim_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_claim_attachment_scheme_id"), ["scheme_id"], unique=False)


def downgrade():
    with op.batch_alter_table("claim_attachment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_claim_attachment_scheme_id"))
        batch_op.drop_index(batch_op.f("ix_claim_attachment_claim_id"))
    op.drop_table("claim_attachment")
    # The old schema keeps no file forever: the attachments' bytes go with their table.
    op.execute("DELETE FROM stored_file WHERE expires_at IS NULL")
    with op.batch_alter_table("stored_file", schema=None) as batch_op:
        batch_op.alter_column("expires_at", existing_type=sa.DateTime(), nullable=False)

    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_user_account_provider_for_facility"), type_="check")
    # The old schema knows no facility account: such accounts are kept (the audit trail names them), closed.
    op.execute("UPDATE user_account SET role = 'auditor', active = false, provider_id = NULL WHERE role = 'facility'")
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_user_account_role_known"), type_="check")
        batch_op.create_check_constraint(batch_op.f("ck_user_account_role_known"), OLD_ROLES)
        batch_op.drop_constraint(batch_op.f("fk_user_account_provider_id_provider"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_user_account_provider_id"))
        batch_op.drop_column("provider_id")
