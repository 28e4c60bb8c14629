"""What the three tables of totals kept by triggers share (mhi/core/triggers.py): each migration's frozen
statements are today's, and ``create_all`` run again keeps one set of triggers (a second set would count every
write twice)."""

import importlib.util
from pathlib import Path

import pytest
from sqlalchemy import text

from mhi.claims import totals as claim_totals
from mhi.contributions import coverage_totals, period_totals
from mhi.core.db import db

VERSIONS = Path(__file__).resolve().parents[2] / "migrations" / "versions"

#: (module, migration file, trigger name prefix, triggers per database)
KEPT = [
    (claim_totals, "20261206_a7c3e9f1b2d4_claim_totals.py", "claim_totals_", 3),
    (period_totals, "20261206_b5e1d8c3f720_period_totals.py", "report_period_totals_", 3),
    (coverage_totals, "20261206_c4e8a2d6f1b3_coverage_totals.py", "coverage_totals_", 6),
]
IDS = [module.__name__.rsplit(".", 1)[-1] for module, *_ in KEPT]


def _fill(module, dialect: str) -> tuple:
    statements = module.rebuild_sql(dialect)
    return statements if isinstance(statements, tuple) else (statements,)


@pytest.mark.parametrize(("module", "migration_file", "prefix", "count"), KEPT, ids=IDS)
def test_the_migration_builds_the_same_triggers(module, migration_file, prefix, count):
    """The migration's frozen statements are today's (create_all and `db upgrade` give the same triggers)."""
    spec = importlib.util.spec_from_file_location(f"migration_{prefix}", VERSIONS / migration_file)
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    assert migration.TRIGGERS == module.TRIGGER_SQL
    assert migration.DROP_TRIGGERS == module.DROP_TRIGGER_SQL
    assert migration.FILL == {dialect: _fill(module, dialect) for dialect in ("postgresql", "sqlite")}
    assert all(
        len(statements) == count * (2 if dialect == "postgresql" else 1)
        for dialect, statements in module.TRIGGER_SQL.items()
    )


@pytest.mark.parametrize(("module", "migration_file", "prefix", "count"), KEPT, ids=IDS)
def test_a_second_create_all_keeps_one_set_of_triggers(app, module, migration_file, prefix, count):
    """``create_all`` on a database that has the tables (a tool, a test, a bench run twice) neither fails on the
    triggers already there nor adds a second set."""
    with app.app_context():
        db.session.remove()
        db.create_all()
        if db.engine.dialect.name == "postgresql":
            query = f"SELECT count(*) FROM pg_trigger WHERE tgname LIKE '{prefix}%'"
        else:
            query = f"SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name LIKE '{prefix}%'"
        with db.engine.connect() as connection:
            assert connection.execute(text(query)).scalar() == count
