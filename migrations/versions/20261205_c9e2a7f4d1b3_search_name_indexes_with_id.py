"""member search: the name indexes end with the person id

(scheme_id, last_key, first_key) and (scheme_id, first_key, last_key) become (…, id): the search orders by the
two name keys and then the id, so a page is now read in index order instead of sorted from every person of a
common name, and the name walk of a search with several words (members/queries.py ``_name_walk``) steps
through the index one probe at a time (issue 17: search p95 at 5 M persons).

Revision ID: c9e2a7f4d1b3
Revises: b5e1c9d4a2f7
Create Date: 2026-12-05 12:00:00

"""

from alembic import op


# revision identifiers, used by Alembic.
revision = "c9e2a7f4d1b3"
down_revision = "b5e1c9d4a2f7"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_person_scheme_last_first_id", "person", ["scheme_id", "last_key", "first_key", "id"])
    op.create_index("ix_person_scheme_first_last_id", "person", ["scheme_id", "first_key", "last_key", "id"])
    op.drop_index("ix_person_scheme_last_key", table_name="person")
    op.drop_index("ix_person_scheme_first_key", table_name="person")


def downgrade():
    op.create_index("ix_person_scheme_first_key", "person", ["scheme_id", "first_key", "last_key"])
    op.create_index("ix_person_scheme_last_key", "person", ["scheme_id", "last_key", "first_key"])
    op.drop_index("ix_person_scheme_first_last_id", table_name="person")
    op.drop_index("ix_person_scheme_last_first_id", table_name="person")
