"""The migrations build exactly the schema of the models, on SQLite and on PostgreSQL.

The suite's own schema comes from ``db.create_all()`` (tests/conftest.py); this test proves that ``flask db
upgrade`` on an empty database gives the same tables, columns, types, indexes and constraints, so a model change
without its migration fails here. It also goes down to base and up again.

The PostgreSQL half runs when ``MHI_TEST_DATABASE_URL`` names a PostgreSQL database: it works in a database of
its own (``mhi_migrations_test``, made and dropped here) so the suite's schema is left alone.
"""

from __future__ import annotations

import os

import flask_migrate
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import make_url

from mhi import create_app, normalise_database_url
from mhi.core.db import db

MIGRATIONS_DATABASE = "mhi_migrations_test"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    """An empty database: a new SQLite file, or a new PostgreSQL database beside the suite's."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrations.sqlite'}"
        return
    suite_url = os.environ.get("MHI_TEST_DATABASE_URL")
    if not suite_url or not normalise_database_url(suite_url).startswith("postgresql"):
        pytest.skip("MHI_TEST_DATABASE_URL does not name a PostgreSQL database")
    url = make_url(normalise_database_url(suite_url))
    # Named after the suite's database, so that two suites on one server (two clones) do not share it.
    name = f"{url.database}_{MIGRATIONS_DATABASE}"
    _admin(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    _admin(url, f'CREATE DATABASE "{name}"')
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        _admin(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _admin(url, statement: str) -> None:
    """Run a CREATE/DROP DATABASE on the suite's server (outside a transaction, as PostgreSQL requires)."""
    import psycopg

    conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as connection:
        connection.execute(statement)


@pytest.fixture
def migrated_app(database_url):
    """An application on the empty database (nothing built yet: the test migrates it)."""
    app = create_app({"TESTING": True, "SECRET_KEY": "test-secret", "SQLALCHEMY_DATABASE_URI": database_url})
    with app.app_context():
        try:
            yield app
        finally:
            db.session.remove()
            db.engine.dispose()


def schema_differences() -> list:
    """What autogenerate would write to bring the database in line with the models (empty when they agree)."""
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, db.metadata)


def test_upgrade_builds_the_models_schema(migrated_app):
    flask_migrate.upgrade()

    differences = schema_differences()

    assert differences == [], "the migrations and the models differ:\n" + "\n".join(map(str, differences))


def test_downgrade_to_base_and_upgrade_again(migrated_app):
    flask_migrate.upgrade()

    flask_migrate.downgrade(revision="base")
    left = set(inspect(db.engine).get_table_names()) - {"alembic_version"}
    flask_migrate.upgrade()

    assert left == set(), f"tables left after downgrading to base: {sorted(left)}"
    assert schema_differences() == []
    assert set(db.metadata.tables) <= set(inspect(db.engine).get_table_names())
