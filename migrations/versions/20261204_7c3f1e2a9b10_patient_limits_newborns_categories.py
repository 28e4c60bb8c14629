"""patient limits, newborns, dated categories, guarantee letters

Benefits limited by sex and age (adjudication.md check 3), a product version's newborn_days, the dated category
changes of households (data-formats.md categories.csv), guarantee letters and the letter a claim cites.

Revision ID: 7c3f1e2a9b10
Revises: e8b2f4a6c7d9
Create Date: 2026-12-04 16:10:00

"""

from alembic import op
import sqlalchemy as sa

import mhi.core.db


# revision identifiers, used by Alembic.
revision = "7c3f1e2a9b10"
down_revision = "e8b2f4a6c7d9"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("benefit") as batch_op:
        batch_op.add_column(sa.Column("sex", sa.String(length=1), nullable=True))
        batch_op.add_column(sa.Column("min_age_years", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("max_age_years", sa.Integer(), nullable=True))
        batch_op.create_check_constraint(op.f("ck_benefit_sex_known"), "sex IS NULL OR sex IN ('F','M')")
    with op.batch_alter_table("product_version") as batch_op:
        batch_op.add_column(sa.Column("newborn_days", sa.Integer(), nullable=True))
    with op.batch_alter_table("claim") as batch_op:
        # Existing claims cite no letter; the default only fills them and is dropped again.
        batch_op.add_column(sa.Column("guarantee_ref", sa.String(length=40), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("awaiting_approval", sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table("claim") as batch_op:
        batch_op.alter_column("guarantee_ref", server_default=None)
        batch_op.alter_column("awaiting_approval", server_default=None)
    with op.batch_alter_table("claim_decision") as batch_op:
        batch_op.add_column(sa.Column("approval_required", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column("approved_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("approval_note", sa.Text(), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("approved_at", sa.DateTime(), nullable=True))
        batch_op.create_foreign_key(
            op.f("fk_claim_decision_approved_by_id_user_account"), "user_account", ["approved_by_id"], ["id"]
        )
    with op.batch_alter_table("claim_decision") as batch_op:
        batch_op.alter_column("approval_required", server_default=None)
        batch_op.alter_column("approval_note", server_default=None)
    op.create_table(
        "category_change",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scheme_id", sa.Integer(), nullable=False),
        sa.Column("household_id", sa.Integer(), nullable=False),
        sa.Column("from_date", sa.Date(), nullable=False),
        sa.Column("category", sa.String(length=40), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), server_default=sa.text("(CURRENT_TIMESTAMP)"), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["user_account.id"], name=op.f("fk_category_change_created_by_id_user_account")
        ),
        sa.ForeignKeyConstraint(
            ["household_id"], ["household.id"], name=op.f("fk_category_change_household_id_household")
        ),
        sa.ForeignKeyConstraint(["scheme_id"], ["scheme.id"], name=op.f("fk_category_change_scheme_id_scheme")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_category_change")),
        sa.UniqueConstraint("household_id", "from_date", name=op.f("uq_category_change_household_id_from_date")),
    )
    with op.batch_alter_table("category_change") as batch_op:
        batch_op.create_index(batch_op.f("ix_category_change_household_id"), ["household_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_category_change_scheme_id"), ["scheme_id"], unique=False)
    op.create_table(
        "guarantee_letter",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scheme_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=40), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("member_no", sa.String(length=40), nullable=False),
        sa.Column("benefit_code", sa.String(length=20), nullable=False),
        sa.Column("provider_id", sa.Integer(), nullable=False),
        sa.Column("provider_code", sa.String(length=20), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=False),
        sa.Column("amount", mhi.core.db.Money(), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("used_by_claim_id", sa.Integer(), nullable=True),
        sa.Column("cancelled_reason", sa.Text(), nullable=False),
        sa.Column("cancelled_by_id", sa.Integer(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), server_default=sa.text("(CURRENT_TIMESTAMP)"), nullable=False),
        sa.CheckConstraint("amount > 0", name=op.f("ck_guarantee_letter_amount_positive")),
        sa.CheckConstraint("status IN ('issued','used','cancelled')", name=op.f("ck_guarantee_letter_status_known")),
        sa.CheckConstraint("valid_to >= valid_from", name=op.f("ck_guarantee_letter_validity_ordered")),
        sa.ForeignKeyConstraint(
            ["cancelled_by_id"], ["user_account.id"], name=op.f("fk_guarantee_letter_cancelled_by_id_user_account")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["user_account.id"], name=op.f("fk_guarantee_letter_created_by_id_user_account")
        ),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"], name=op.f("fk_guarantee_letter_person_id_person")),
        sa.ForeignKeyConstraint(["provider_id"], ["provider.id"], name=op.f("fk_guarantee_letter_provider_id_provider")),
        sa.ForeignKeyConstraint(["scheme_id"], ["scheme.id"], name=op.f("fk_guarantee_letter_scheme_id_scheme")),
        sa.ForeignKeyConstraint(
            ["used_by_claim_id"], ["claim.id"], name=op.f("fk_guarantee_letter_used_by_claim_id_claim")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_guarantee_letter")),
        sa.UniqueConstraint("scheme_id", "number", name=op.f("uq_guarantee_letter_scheme_id_number")),
    )
    with op.batch_alter_table("guarantee_letter") as batch_op:
        batch_op.create_index(
            "ix_guarantee_letter_person_benefit", ["person_id", "benefit_code", "valid_from"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_guarantee_letter_scheme_id"), ["scheme_id"], unique=False)


def downgrade():
    with op.batch_alter_table("guarantee_letter") as batch_op:
        batch_op.drop_index(batch_op.f("ix_guarantee_letter_scheme_id"))
        batch_op.drop_index("ix_guarantee_letter_person_benefit")
    op.drop_table("guarantee_letter")
    with op.batch_alter_table("category_change") as batch_op:
        batch_op.drop_index(batch_op.f("ix_category_change_scheme_id"))
        batch_op.drop_index(batch_op.f("ix_category_change_household_id"))
    op.drop_table("category_change")
    with op.batch_alter_table("claim_decision") as batch_op:
        batch_op.drop_constraint(op.f("fk_claim_decision_approved_by_id_user_account"), type_="foreignkey")
        batch_op.drop_column("approved_at")
        batch_op.drop_column("approval_note")
        batch_op.drop_column("approved_by_id")
        batch_op.drop_column("approval_required")
    with op.batch_alter_table("claim") as batch_op:
        batch_op.drop_column("awaiting_approval")
        batch_op.drop_column("guarantee_ref")
    with op.batch_alter_table("product_version") as batch_op:
        batch_op.drop_column("newborn_days")
    with op.batch_alter_table("benefit") as batch_op:
        batch_op.drop_constraint(op.f("ck_benefit_sex_known"), type_="check")
        batch_op.drop_column("max_age_years")
        batch_op.drop_column("min_age_years")
        batch_op.drop_column("sex")

