"""the persons' phone index holds only the persons with a phone

``ix_person_scheme_phone_key`` becomes partial (``WHERE phone_key <> ''``): most persons have no phone (children),
their empty keys were entries that no query reads, and inserting them cost the persons' COPY of a national file
≈ 2.5 s of the server's 24 s (issue 17; docs/scale.md). The queries on phone_key say ``phone_key != ''``.

Revision ID: b2e7c4a9d153
Revises: f6b3d9a2c1e4
Create Date: 2026-12-07 17:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "b2e7c4a9d153"
down_revision = "f6b3d9a2c1e4"
branch_labels = None
depends_on = None

WITH_PHONE = sa.text("phone_key <> ''")


def upgrade():
    op.drop_index("ix_person_scheme_phone_key", table_name="person")
    op.create_index(
        "ix_person_scheme_phone_key",
        "person",
        ["scheme_id", "phone_key"],
        postgresql_where=WITH_PHONE,
        sqlite_where=WITH_PHONE,
    )


def downgrade():
    op.drop_index("ix_person_scheme_phone_key", table_name="person")
    op.create_index("ix_person_scheme_phone_key", "person", ["scheme_id", "phone_key"])
