"""Test fixtures: one application per test session on the test database, emptied after each test.

The database is ``MHI_TEST_DATABASE_URL`` when set (CI sets it to PostgreSQL), else a SQLite file in a
temporary folder. The schema is built once from the models; ``tests/core/test_migrations.py`` proves the
migrations build exactly the same schema.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings
from sqlalchemy import text

from mhi import create_app, normalise_database_url
from mhi.core.audit import APPEND_ONLY_SQL, DROP_APPEND_ONLY_SQL
from mhi.core.db import db

# Property-based tests draw the same examples on every run, so a red CI run can be replayed exactly and a green
# one is not luck; set HYPOTHESIS_RANDOM=1 to explore new examples locally.
settings.register_profile("repeatable", derandomize=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile("explore" if os.environ.get("HYPOTHESIS_RANDOM") else "repeatable")

SPEC = Path(__file__).resolve().parents[1] / "docs" / "spec"
EXAMPLES = SPEC / "examples"


def test_database_url(tmp_path_factory) -> str:
    """The URL the suite runs against."""
    url = os.environ.get("MHI_TEST_DATABASE_URL")
    if url:
        return normalise_database_url(url)
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite'}"


test_database_url.__test__ = False  # a helper, not a test


@pytest.fixture(scope="session")
def app(tmp_path_factory):
    """The application, with CSRF off (one dedicated test turns it on) and a fresh schema."""
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test-secret",
            "SQLALCHEMY_DATABASE_URI": test_database_url(tmp_path_factory),
            "WTF_CSRF_ENABLED": False,
            "QUEUE_URL": "immediate",  # jobs run inside the committing request (tests/core/test_jobs.py runs a worker)
        }
    )
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            # A test database is the suite's own: start from an empty schema, whatever an older schema left
            # (a foreign key the models no longer declare would stop drop_all).
            with db.engine.begin() as connection:
                connection.exec_driver_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
        else:
            _drop_leftover_tables()
            db.drop_all()
            _drop_alembic_version()
        db.create_all()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _drop_leftover_tables() -> None:
    """Drop tables a test database keeps from an older schema (a table the models no longer have would hold
    foreign keys that stop ``drop_all``)."""
    from sqlalchemy import MetaData

    found = MetaData()
    found.reflect(db.engine)
    leftover = [table for name, table in found.tables.items() if name not in db.metadata.tables]
    if leftover:
        found.drop_all(db.engine, tables=leftover)


def _drop_alembic_version() -> None:
    with db.engine.begin() as connection:
        connection.execute(text("DROP TABLE IF EXISTS alembic_version"))


@pytest.fixture(autouse=True)
def _clean_database(request):
    """Empty every table after each test that used the app (fast on both databases)."""
    yield
    if "app" not in request.fixturenames:
        return
    empty_database(request.getfixturevalue("app"))


def empty_database(app) -> None:
    """Delete every row of every table (a test that runs two scenarios on one database calls it between them)."""
    with app.app_context():
        db.session.remove()
        tables = list(reversed(db.metadata.sorted_tables))
        # The totals kept by triggers last: deleting the claims and periods fires the triggers that subtract them
        # (mhi/claims/totals.py, mhi/contributions/period_totals.py, mhi/contributions/coverage_totals.py).
        derived = ("claim_month_total", "claim_delay_total", "report_period_total", "coverage_change_total")
        tables = [t for t in tables if t.name not in derived] + [t for t in tables if t.name in derived]
        # DELETE in dependency order: on the few rows a test leaves, much faster than TRUNCATE (whose cost on
        # PostgreSQL is per table, whatever it holds). The audit trail refuses deletion by trigger: the suite
        # lifts that guard for its own purge only, inside the same transaction.
        with db.engine.begin() as connection:
            dialect = connection.dialect.name
            for statement in DROP_APPEND_ONLY_SQL[dialect]:
                connection.exec_driver_sql(statement)
            for table in tables:
                connection.execute(table.delete())
            for statement in APPEND_ONLY_SQL[dialect]:
                connection.exec_driver_sql(statement)


@pytest.fixture
def ctx(app):
    """An application context, for service tests that use ``db.session`` directly."""
    with app.app_context():
        yield app
        db.session.rollback()


@pytest.fixture
def session(ctx):
    """The database session of the application context."""
    return db.session


@pytest.fixture
def client(app):
    """A test client."""
    return app.test_client()


@pytest.fixture
def runner(app):
    """A CLI runner bound to the app."""
    return app.test_cli_runner(mix_stderr=False) if _mix_stderr_supported(app) else app.test_cli_runner()


def _mix_stderr_supported(app) -> bool:
    import inspect

    from click.testing import CliRunner

    return "mix_stderr" in inspect.signature(CliRunner.__init__).parameters
