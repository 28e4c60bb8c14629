"""dated product changes of households

A household's product from a date on (docs/decisions.md "Product changes", product_changes.csv), beside its
dated category changes.

Revision ID: b5e1c9d4a2f7
Revises: a7d3e9f1c2b4
Create Date: 2026-12-05 08:00:00

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "b5e1c9d4a2f7"
down_revision = "a7d3e9f1c2b4"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "product_change",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scheme_id", sa.Integer(), nullable=False),
        sa.Column("household_id", sa.Integer(), nullable=False),
        sa.Column("from_date", sa.Date(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), server_default=sa.text("(CURRENT_TIMESTAMP)"), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["user_account.id"], name=op.f("fk_product_change_created_by_id_user_account")
        ),
        sa.ForeignKeyConstraint(
            ["household_id"], ["household.id"], name=op.f("fk_product_change_household_id_household")
        ),
        sa.ForeignKeyConstraint(["product_id"], ["product.id"], name=op.f("fk_product_change_product_id_product")),
        sa.ForeignKeyConstraint(["scheme_id"], ["scheme.id"], name=op.f("fk_product_change_scheme_id_scheme")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_product_change")),
        sa.UniqueConstraint("household_id", "from_date", name=op.f("uq_product_change_household_id_from_date")),
    )
    with op.batch_alter_table("product_change") as batch_op:
        batch_op.create_index(batch_op.f("ix_product_change_household_id"), ["household_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_product_change_scheme_id"), ["scheme_id"], unique=False)


def downgrade():
    with op.batch_alter_table("product_change") as batch_op:
        batch_op.drop_index(batch_op.f("ix_product_change_scheme_id"))
        batch_op.drop_index(batch_op.f("ix_product_change_household_id"))
    op.drop_table("product_change")
