"""An import killed half-way leaves the database exactly as it was, and running it again completes it.

``flask --app mhi import members`` runs in a subprocess on a generated members.csv of 30,000 persons (10,000
households), long enough to be caught writing. The test waits until the import holds the database's write lock
(SQLite: another connection cannot start a write transaction; PostgreSQL: the import's backend holds a
RowExclusiveLock on ``household``), sends SIGKILL — no handler, no rollback, no cleanup — and compares every
table's row count with the counts before. Runs on a temporary SQLite file, and on the PostgreSQL test database
when the suite runs on one.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from mhi import create_app
from mhi.core.db import db
from tests.trust.helpers import everything_scheme, members_csv, write

ROOT = Path(__file__).resolve().parents[2]
FLASK = Path(sys.executable).parent / "flask"
HOUSEHOLDS = 10_000  # 30,000 persons


def _sqlite_file(tmp_path: Path) -> str:
    """A fresh SQLite file with the schema and the scheme MUT-TRUST; its URL."""
    url = f"sqlite:///{tmp_path / 'crash.sqlite'}"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "test-secret", "TESTING": True})
    with app.app_context():
        db.create_all()
        everything_scheme(db.session)
        db.session.remove()
        db.engine.dispose()
    return url


def _test_database(app) -> str:
    """The PostgreSQL test database with the scheme MUT-TRUST (emptied after the test by conftest)."""
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("the test database is SQLite: the temporary SQLite file covers it")
        everything_scheme(db.session)
        db.session.remove()
        return db.engine.url.render_as_string(hide_password=False)


def _counts(url: str) -> dict[str, int]:
    """Every table's row count, read through a connection of its own."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return {
                table.name: connection.scalar(text(f'SELECT count(*) FROM "{table.name}"'))
                for table in db.metadata.sorted_tables
            }
    finally:
        engine.dispose()


def _writing(url: str) -> bool:
    """Whether another connection is in the middle of a write transaction on the database."""
    if url.startswith("sqlite"):
        connection = sqlite3.connect(url.removeprefix("sqlite:///"), timeout=0, isolation_level=None)
        try:
            connection.execute("BEGIN IMMEDIATE")
            connection.execute("ROLLBACK")
            return False
        except sqlite3.OperationalError:  # "database is locked": the import holds the write lock
            return True
        finally:
            connection.close()
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return bool(
                connection.scalar(
                    text(
                        "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
                        "WHERE c.relname = 'household' AND l.mode = 'RowExclusiveLock' AND l.granted "
                        "AND l.pid <> pg_backend_pid()"
                    )
                )
            )
    finally:
        engine.dispose()


def _start_import(url: str, path: Path, log: Path) -> subprocess.Popen:
    """``flask import members`` in a process of its own, its output going to ``log``."""
    env = {**os.environ, "MHI_DATABASE_URL": url, "MHI_SECRET_KEY": "crash-test"}
    with log.open("wb") as out:
        return subprocess.Popen(
            [str(FLASK), "--app", "mhi", "import", "members", "--scheme", "MUT-TRUST", str(path)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


@pytest.mark.parametrize("database", ["sqlite-file", "test-database"])
def test_import_killed_while_writing_leaves_the_database_as_before(database, app, tmp_path):
    url = _sqlite_file(tmp_path) if database == "sqlite-file" else _test_database(app)
    path = write(tmp_path, "members.csv", members_csv(HOUSEHOLDS))
    before = _counts(url)

    log = tmp_path / "import.log"
    process = _start_import(url, path, log)
    deadline = time.monotonic() + 120
    try:
        while not _writing(url):
            assert process.poll() is None, f"the import ended before it was caught writing: {log.read_text()}"
            assert time.monotonic() < deadline, "the import never started writing"
            time.sleep(0.02)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == -signal.SIGKILL  # killed, not finished
    if not url.startswith("sqlite"):
        # The server notices the dead client and aborts its transaction; wait until its locks are gone.
        deadline = time.monotonic() + 30
        while _writing(url):
            assert time.monotonic() < deadline, "the killed import's transaction is still open"
            time.sleep(0.05)
    assert _counts(url) == before

    again = _start_import(url, path, log)
    assert again.wait(timeout=300) == 0, log.read_text()
    assert "members: 30000 added, 0 unchanged" in log.read_text()
    after = _counts(url)
    assert (after["household"], after["person"]) == (HOUSEHOLDS, 3 * HOUSEHOLDS)
    assert after["audit_event"] == before["audit_event"] + 1
