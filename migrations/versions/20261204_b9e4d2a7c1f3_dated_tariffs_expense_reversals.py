"""dated provider tariffs; expense reversals carry their reason and author

A provider's tariffs become dated lists (data-formats.md ``tariff_changes``: a convention amendment gives new
tariffs from a date, earlier care keeps the old ones). Existing tariffs become the first list, from the
provider's contract_from. An expense reversal records why and by whom (the expense book on screen).

Revision ID: b9e4d2a7c1f3
Revises: d4a8e1c2b7f5
Create Date: 2026-12-04 19:20:00

"""

from alembic import op
import sqlalchemy as sa

import mhi.core.db


# revision identifiers, used by Alembic.
revision = "b9e4d2a7c1f3"
down_revision = "d4a8e1c2b7f5"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("tariff") as batch_op:
        batch_op.add_column(sa.Column("effective_from", sa.Date(), nullable=True))
    op.execute(
        "UPDATE tariff SET effective_from = (SELECT p.contract_from FROM provider p WHERE p.id = tariff.provider_id)"
    )
    with op.batch_alter_table("tariff") as batch_op:
        batch_op.alter_column("effective_from", existing_type=sa.Date(), nullable=False)
        batch_op.alter_column("amount", existing_type=mhi.core.db.Money(), nullable=True)
        batch_op.drop_constraint("uq_tariff_provider_id_benefit_code", type_="unique")
        batch_op.create_unique_constraint(
            "uq_tariff_provider_id_effective_from_benefit_code", ["provider_id", "effective_from", "benefit_code"]
        )
    with op.batch_alter_table("expense") as batch_op:
        batch_op.alter_column("reference", existing_type=sa.String(length=40), type_=sa.String(length=44))
        batch_op.add_column(sa.Column("reason", sa.Text(), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("created_by_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key("fk_expense_created_by_id_user_account", "user_account", ["created_by_id"], ["id"])
    with op.batch_alter_table("expense") as batch_op:
        batch_op.alter_column("reason", existing_type=sa.Text(), server_default=None)


def downgrade():
    with op.batch_alter_table("expense") as batch_op:
        batch_op.drop_constraint("fk_expense_created_by_id_user_account", type_="foreignkey")
        batch_op.drop_column("created_by_id")
        batch_op.drop_column("reason")
        batch_op.alter_column("reference", existing_type=sa.String(length=44), type_=sa.String(length=40))
    # Only each provider's first tariff list can go back into the undated table.
    op.execute(
        "DELETE FROM tariff WHERE amount IS NULL OR effective_from > "
        "(SELECT MIN(t.effective_from) FROM tariff t WHERE t.provider_id = tariff.provider_id)"
    )
    with op.batch_alter_table("tariff") as batch_op:
        batch_op.drop_constraint("uq_tariff_provider_id_effective_from_benefit_code", type_="unique")
        batch_op.create_unique_constraint("uq_tariff_provider_id_benefit_code", ["provider_id", "benefit_code"])
        batch_op.alter_column("amount", existing_type=mhi.core.db.Money(), nullable=False)
        batch_op.drop_column("effective_from")
