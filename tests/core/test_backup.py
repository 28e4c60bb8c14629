"""``flask backup FILE`` / ``flask restore FILE`` (mhi/core/backup.py): a SQLite database backed up while in use
and restored with nothing lost; files that are not an mhi database at this version's revision are refused;
PostgreSQL is pointed at pg_dump / pg_restore.

These tests build their own SQLite database (the suite's may be PostgreSQL): schema from the models, stamped at
the migrations' head as ``flask db upgrade`` leaves it.
"""

from __future__ import annotations

import sqlite3
import threading
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


def _household_refs(path: Path) -> set[str]:
    with sqlite3.connect(path) as connection:
        refs = {ref for (ref,) in connection.execute("SELECT ref FROM household")}
    connection.close()
    return refs


def _writer(app, started: threading.Event, release: threading.Event, outcome: dict) -> threading.Thread:
    """An import's shape: households written in one transaction (holding the write lock from its first row),
    committed once ``release`` is set; ``outcome["committed"]`` says whether it was acknowledged."""

    def work():
        with app.app_context():
            session = db.session
            try:
                from mhi.schemes.models import Scheme

                scheme = session.scalar(select(Scheme))
                for n in range(50):
                    make_household(session, scheme, f"H-IMPORT{n}", [(f"M-IMPORT{n}", "head")])
                session.flush()
                started.set()
                release.wait(timeout=30)
                session.commit()
                outcome["committed"] = True
            except Exception as exc:  # noqa: BLE001 - reported to the test
                outcome["error"] = exc
                session.rollback()
            finally:
                started.set()
                db.session.remove()

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    return thread


def _restore_in_thread(app, source: Path, outcome: dict, wait: float | None = None) -> threading.Thread:
    def work():
        options = {} if wait is None else {"wait": wait}
        try:
            outcome["result"] = backup.restore(app.config["SQLALCHEMY_DATABASE_URI"], source, **options)
        except backup.BackupRefused as exc:
            outcome["refused"] = str(exc)

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    return thread


def test_a_restore_during_an_import_waits_for_it_and_keeps_it_in_the_safety_copy(sqlite_app, tmp_path):
    """Issue 18: an import acknowledged while a restore ran was in neither the restored database nor the safety
    copy. Now the restore waits for the import's commit, then takes the safety copy under its own lock."""
    target = tmp_path / "before-import.sqlite"
    backup.backup(sqlite_app.config["SQLALCHEMY_DATABASE_URI"], target)
    started, release = threading.Event(), threading.Event()
    imported: dict = {}
    restored: dict = {}

    writer = _writer(sqlite_app, started, release, imported)
    assert started.wait(timeout=30)
    restorer = _restore_in_thread(sqlite_app, target, restored)
    restorer.join(timeout=1)  # the restore has started and is waiting for the import's write lock
    assert restorer.is_alive() and not restored
    release.set()  # the import commits: from now on it is acknowledged
    writer.join(timeout=30)
    restorer.join(timeout=30)

    assert imported == {"committed": True}
    safety = restored["result"].safety_copy
    assert {f"H-IMPORT{n}" for n in range(50)} <= _household_refs(safety)
    assert not any(ref.startswith("H-IMPORT") for ref in _household_refs(sqlite_app.database))
    assert safety.stat().st_mode & 0o777 == 0o600


def test_a_restore_refuses_while_an_import_goes_on_and_changes_nothing(sqlite_app, tmp_path):
    target = tmp_path / "b.sqlite"
    backup.backup(sqlite_app.config["SQLALCHEMY_DATABASE_URI"], target)
    started, release = threading.Event(), threading.Event()
    imported: dict = {}
    restored: dict = {}

    writer = _writer(sqlite_app, started, release, imported)
    assert started.wait(timeout=30)
    _restore_in_thread(sqlite_app, target, restored, wait=0.2).join(timeout=30)
    release.set()
    writer.join(timeout=30)

    assert restored["refused"].startswith("the database is being written to")
    assert "nothing was restored" in restored["refused"]
    assert imported == {"committed": True}
    assert {f"H-IMPORT{n}" for n in range(50)} <= _household_refs(sqlite_app.database)
    assert not list(sqlite_app.database.parent.glob("*.before-restore-*"))
    assert not list(sqlite_app.database.parent.glob(".*.tmp"))


def test_a_write_during_a_restore_waits_or_fails_and_nothing_acknowledged_is_lost(sqlite_app, tmp_path, monkeypatch):
    """Writes that reach the lock while the restore holds it: each either lands in the restored database
    (it waited) or failed without being acknowledged — none is acknowledged and then gone."""
    target = tmp_path / "b.sqlite"
    backup.backup(sqlite_app.config["SQLALCHEMY_DATABASE_URI"], target)
    replacing = threading.Event()
    original = backup._replace_content

    def slow_replace(live):
        replacing.set()
        threading.Event().wait(0.5)  # the writers below reach the lock while the restore holds it
        original(live)

    monkeypatch.setattr(backup, "_replace_content", slow_replace)
    outcomes: list[dict] = [{} for _ in range(3)]
    restored: dict = {}
    restorer = _restore_in_thread(sqlite_app, target, restored, wait=30)
    assert replacing.wait(timeout=30)
    writers = []
    for index, outcome in enumerate(outcomes):

        def work(index=index, outcome=outcome):
            with sqlite_app.app_context():
                session = db.session
                try:
                    session.execute(
                        text("INSERT INTO federation (code, name, currency) VALUES (:c, :n, 'XOF')"),
                        {"c": f"FED-W{index}", "n": "written during the restore"},
                    )
                    session.commit()
                    outcome["committed"] = True
                except Exception as exc:  # noqa: BLE001 - reported to the test
                    outcome["error"] = exc
                    session.rollback()
                finally:
                    db.session.remove()

        writers.append(threading.Thread(target=work, daemon=True))
        writers[-1].start()
    restorer.join(timeout=60)
    for thread in writers:
        thread.join(timeout=60)

    assert "result" in restored
    with sqlite3.connect(sqlite_app.database) as connection:
        stored = {code for (code,) in connection.execute("SELECT code FROM federation")}
    connection.close()
    for index, outcome in enumerate(outcomes):
        assert outcome.get("committed") or outcome.get("error") is not None
        if outcome.get("committed"):
            assert f"FED-W{index}" in stored, "a write acknowledged during the restore was lost"


@pytest.mark.parametrize("where", [0.25, 0.5, 0.75])
def test_a_backup_damaged_in_the_middle_is_refused_with_a_message(sqlite_app, tmp_path, where):
    """Issue 18: a backup damaged in the middle printed a traceback. Whatever page the damage hits, the
    restore says the file is damaged and changes nothing."""
    add_business(sqlite_app, "A", households=30)
    source = tmp_path / "damaged.sqlite"
    backup.backup(sqlite_app.config["SQLALCHEMY_DATABASE_URI"], source)
    data = bytearray(source.read_bytes())
    start = int(len(data) * where) // 4096 * 4096
    data[start : start + 8192] = b"\xde\xad\xbe\xef" * 2048
    source.write_bytes(bytes(data))

    before = snapshot(sqlite_app)
    result = sqlite_app.test_cli_runner().invoke(args=["restore", str(source)])

    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.exception
    assert "damaged" in result.output or "not a SQLite database" in result.output, result.output
    assert snapshot(sqlite_app) == before
    assert not list(sqlite_app.database.parent.glob("*.before-restore-*"))


def test_the_database_and_its_backups_are_private(sqlite_app, tmp_path):
    target = tmp_path / "b.sqlite"
    backup.backup(sqlite_app.config["SQLALCHEMY_DATABASE_URI"], target)
    result = backup.restore(sqlite_app.config["SQLALCHEMY_DATABASE_URI"], target)

    for path in (sqlite_app.database, target, result.safety_copy):
        assert path.stat().st_mode & 0o777 == 0o600, path
