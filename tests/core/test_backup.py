"""``flask backup FILE`` / ``flask restore FILE`` (mhi/core/backup.py): a SQLite database backed up while in use
and restored with nothing lost; files that are not an mhi database at this version's revision are refused;
PostgreSQL is pointed at pg_dump / pg_restore.

These tests build their own SQLite database (the suite's may be PostgreSQL): schema from the models, stamped at
the migrations' head as ``flask db upgrade`` leaves it.
"""

from __future__ import annotations

import sqlite3
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from mhi import create_app
from mhi.claims.models import Claim, ClaimDecision, ClaimLine
from mhi.claims.services import submit_claim
from mhi.contributions.models import Receipt
from mhi.contributions.services import record_receipt, reverse_receipt
from mhi.core import backup
from mhi.core.audit import AuditEvent
from mhi.core.db import db
from mhi.members.models import Household, Person
from tests.claims.claim_helpers import RECORDED, entry, make_household, make_scheme


@pytest.fixture
def sqlite_app(tmp_path):
    """An application on a SQLite database of its own, at the migrations' head revision, with a scheme."""
    database = tmp_path / "live" / "mhi.sqlite"
    database.parent.mkdir()
    app = create_app({"TESTING": True, "SECRET_KEY": "test", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}"})
    with app.app_context():
        db.create_all()
        db.session.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY)"))
        db.session.execute(text("INSERT INTO alembic_version VALUES (:v)"), {"v": backup.head_revision()})
        make_scheme(db.session)
        db.session.commit()
    app.database = database
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def add_business(app, tag: str, households: int = 3) -> None:
    """Households with receipts (one reversed) and decided claims: people, money and decisions."""
    with app.app_context():
        session = db.session
        from mhi.schemes.models import Scheme

        scheme = session.scalar(select(Scheme))
        for n in range(households):
            member = f"M-{tag}{n}"
            household = make_household(session, scheme, f"H-{tag}{n}", [(member, "head")])
            receipt = record_receipt(session, household, date=date(2024, 1, 5), amount=Decimal(3600 + n))
            if n == 0:
                reverse_receipt(session, receipt, reason="typed twice")
            submit_claim(
                session,
                scheme,
                entry(f"C-{tag}{n}", member, amount=str(2000 + n)),
                source="form",
                actor=None,
                recorded_on=RECORDED,
            )
        session.commit()


def snapshot(app) -> dict:
    """Row counts and money sums of the tables a restore must bring back exactly."""
    with app.app_context():
        session = db.session
        counts = {
            model.__tablename__: session.scalar(select(func.count()).select_from(model))
            for model in (Household, Person, Receipt, Claim, ClaimLine, ClaimDecision, AuditEvent)
        }
        sums = {
            "receipts": session.scalar(select(func.sum(Receipt.amount))),
            "claimed": session.scalar(select(func.sum(Claim.amount_claimed))),
            "approved": session.scalar(select(func.sum(Claim.amount_approved))),
        }
        session.remove()
    return {"counts": counts, "sums": sums}


def test_backup_while_in_use_then_restore_loses_nothing(sqlite_app, tmp_path):
    add_business(sqlite_app, "A")
    before = snapshot(sqlite_app)
    assert before["counts"]["receipt"] == 4 and before["counts"]["claim"] == 3  # three receipts and a reversal
    runner = sqlite_app.test_cli_runner()
    target = tmp_path / "mhi-backup.sqlite"
    with sqlite_app.app_context():
        # A transaction is open on the live database while the backup is taken (the application at work).
        db.session.execute(text("SELECT count(*) FROM household")).scalar()

        result = runner.invoke(args=["backup", str(target)])

        db.session.rollback()
    assert result.exit_code == 0, result.output
    assert target.exists() and not Path(f"{target}-wal").exists()

    add_business(sqlite_app, "B", households=2)  # work done after the backup, then lost by the restore
    assert snapshot(sqlite_app) != before

    result = sqlite_app.test_cli_runner().invoke(args=["restore", str(target)])

    assert result.exit_code == 0, result.output
    assert snapshot(sqlite_app) == before
    kept = list(sqlite_app.database.parent.glob("mhi.sqlite.before-restore-*"))
    assert len(kept) == 1  # the content replaced is kept beside the database
    with sqlite3.connect(kept[0]) as copy:
        assert copy.execute("SELECT count(*) FROM claim").fetchone()[0] == 5
    copy.close()


def test_the_restored_database_keeps_its_audit_guard(sqlite_app, tmp_path):
    target = tmp_path / "b.sqlite"
    backup.backup(sqlite_app.config["SQLALCHEMY_DATABASE_URI"], target)
    backup.restore(sqlite_app.config["SQLALCHEMY_DATABASE_URI"], target)

    with sqlite_app.app_context():
        names = set(db.session.scalars(text("SELECT name FROM sqlite_master WHERE type = 'trigger'")))
        db.session.remove()
    assert {"audit_event_no_update", "audit_event_no_delete"} <= names


def test_backup_refuses_to_overwrite_a_file(sqlite_app, tmp_path):
    target = tmp_path / "exists.sqlite"
    target.write_text("precious")

    result = sqlite_app.test_cli_runner().invoke(args=["backup", str(target)])

    assert result.exit_code == 1 and "already exists" in result.output
    assert target.read_text() == "precious"


def _refused(app, source: Path, message: str) -> None:
    """``flask restore source`` exits 1 with ``message`` and leaves the live database as it was."""
    before = snapshot(app)

    result = app.test_cli_runner().invoke(args=["restore", str(source)])

    assert result.exit_code == 1, result.output
    assert message in result.output
    assert snapshot(app) == before
    assert not list(app.database.parent.glob("*.before-restore-*"))
    assert not list(app.database.parent.glob(".*.tmp"))


def test_restore_refuses_a_file_that_is_not_a_database(sqlite_app, tmp_path):
    source = tmp_path / "notes.sqlite"
    source.write_text("not a database at all " * 100)

    _refused(sqlite_app, source, "not a SQLite database")


def test_restore_refuses_a_database_of_something_else(sqlite_app, tmp_path):
    source = tmp_path / "other.sqlite"
    with sqlite3.connect(source) as other:
        other.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
    other.close()

    _refused(sqlite_app, source, "not an mhi database")


def test_restore_refuses_a_backup_of_a_newer_version(sqlite_app, tmp_path):
    source = tmp_path / "newer.sqlite"
    backup.backup(sqlite_app.config["SQLALCHEMY_DATABASE_URI"], source)
    with sqlite3.connect(source) as newer:
        newer.execute("UPDATE alembic_version SET version_num = 'f00dfeedbeef'")
    newer.close()

    _refused(sqlite_app, source, "newer version of mhi")


def test_restore_refuses_a_backup_at_an_older_revision(tmp_path):
    migrations = tmp_path / "migrations"
    (migrations / "versions").mkdir(parents=True)
    for revision, down in (("aaa111", None), ("bbb222", "aaa111")):
        (migrations / "versions" / f"{revision}.py").write_text(
            f"revision = {revision!r}\ndown_revision = {down!r}\nbranch_labels = None\ndepends_on = None\n"
        )
    live = tmp_path / "live.sqlite"
    source = tmp_path / "old.sqlite"
    for path, revision in ((live, "bbb222"), (source, "aaa111")):
        with sqlite3.connect(path) as connection:
            for table in backup.MHI_TABLES - {"alembic_version"}:
                connection.execute(f"CREATE TABLE {table} (id INTEGER PRIMARY KEY)")
            connection.execute("CREATE TABLE alembic_version (version_num VARCHAR(32))")
            connection.execute("INSERT INTO alembic_version VALUES (?)", (revision,))
        connection.close()

    with pytest.raises(backup.BackupRefused, match="older migration revision"):
        backup.restore(f"sqlite:///{live}", source, migrations=migrations)
    result = backup.restore(f"sqlite:///{live}", live.with_name("live.sqlite"), migrations=migrations)
    assert result.revision == "bbb222"


@pytest.mark.parametrize("command", ["backup", "restore"])
def test_postgresql_is_sent_to_pg_dump_and_pg_restore(tmp_path, command):
    app = create_app(
        {"TESTING": True, "SECRET_KEY": "test", "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://mhi@127.0.0.1/mhi"}
    )
    (tmp_path / "f.dump").write_text("x")

    result = app.test_cli_runner().invoke(args=[command, str(tmp_path / "f.dump")])

    assert result.exit_code == 1
    assert "pg_dump" in result.output and "pg_restore" in result.output
