"""Backing up and restoring a SQLite database while the application runs (``flask backup`` / ``flask restore``).

SQLite only: a PostgreSQL database is backed up with ``pg_dump`` and restored with ``pg_restore`` (README
"Backups"), which know its server, roles and sequences. Both directions go through SQLite's online backup API
(``sqlite3.Connection.backup``) rather than copying files: a plain copy of a database in use can catch it
half-written, and in WAL mode the recent changes are in the ``-wal`` file beside it, not in the database file.

A restore first checks that the file is an mhi database at this version's migration revision, on a private copy;
then the live database's current content is saved beside it (``<name>.before-restore-<time>``), and the backup
is copied into the live database in one backup step, which holds the write lock from the first page to the last:
other connections see the old database or the restored one, never a mixture.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy.engine import make_url

from mhi.core import clock
from mhi.core.files import new_private_file

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"

#: Tables every mhi database has, whatever its version: a file without them is something else.
MHI_TABLES = frozenset({"alembic_version", "user_account", "scheme", "audit_event"})

#: How long a restore waits for a write in progress (an import) to finish before refusing, in seconds.
RESTORE_WAIT = 30.0


class BackupRefused(Exception):
    """The backup or restore cannot be done; the message says why and what to do instead."""


@dataclass(frozen=True)
class BackupResult:
    """What a backup or restore did: the file written, the revision it carries, and (restore) the safety copy."""

    path: Path
    revision: str
    size: int
    safety_copy: Path | None = None


def sqlite_path(database_url: str) -> Path:
    """The file of a SQLite database URL; refuses PostgreSQL (pointing at pg_dump) and in-memory databases."""
    url = make_url(database_url)
    if url.get_backend_name() == "postgresql":
        raise BackupRefused(
            "the database is PostgreSQL: back it up with pg_dump (pg_dump --format=custom --file=mhi.dump DBNAME) "
            "and restore it with pg_restore (pg_restore --clean --no-owner --dbname=DBNAME mhi.dump); "
            "see README, Backups"
        )
    if url.get_backend_name() != "sqlite":
        raise BackupRefused(f"backups of {url.get_backend_name()} databases are not supported")
    if not url.database or url.database == ":memory:" or url.database.startswith("file::memory:"):
        raise BackupRefused("an in-memory database has no file to back up")
    return Path(url.database)


def head_revision(migrations: Path = MIGRATIONS) -> str:
    """The migration revision this version of mhi expects (the single head of migrations/)."""
    script = _scripts(migrations)
    heads = script.get_heads()
    if len(heads) != 1:
        raise BackupRefused(f"the migrations have {len(heads)} heads ({', '.join(heads)}); merge them first")
    return heads[0]


def database_revision(connection: sqlite3.Connection) -> str:
    """The revision an mhi database is at; refuses a file that is not an mhi database."""
    try:
        tables = {name for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.DatabaseError as exc:
        raise BackupRefused(f"the file is not a SQLite database ({exc})") from exc
    missing = MHI_TABLES - tables
    if missing:
        raise BackupRefused(f"the file is not an mhi database (no table {', '.join(sorted(missing))})")
    versions = [row[0] for row in connection.execute("SELECT version_num FROM alembic_version")]
    if len(versions) != 1:
        raise BackupRefused("the file is not at a single migration revision (alembic_version has no single row)")
    return versions[0]


def backup(database_url: str, target: Path) -> BackupResult:
    """Write a consistent copy of the live SQLite database to ``target`` (which must not exist yet).

    The copy is made into a temporary file beside ``target`` and renamed at the end, so ``target`` is either
    absent or complete. It is left in rollback-journal mode: one self-contained file, with no ``-wal`` beside it.
    """
    source_path = sqlite_path(database_url)
    target = Path(target)
    if not source_path.exists():
        raise BackupRefused(f"there is no database at {source_path}")
    if target.exists():
        raise BackupRefused(f"{target} already exists: choose a new file name")
    if not target.parent.is_dir():
        raise BackupRefused(f"the folder {target.parent} does not exist")
    temporary = _temporary_beside(target)
    try:
        source = sqlite3.connect(source_path)
        try:
            revision = database_revision(source)
            copy = sqlite3.connect(temporary)
            try:
                source.backup(copy)  # all pages in one step: a snapshot of one moment, writers carry on (WAL)
                copy.execute("PRAGMA journal_mode=DELETE")
            finally:
                copy.close()
        finally:
            source.close()
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)
    return BackupResult(target, revision, target.stat().st_size)


def restore(
    database_url: str,
    source: Path,
    *,
    migrations: Path = MIGRATIONS,
    now: datetime | None = None,
    wait: float = RESTORE_WAIT,
) -> BackupResult:
    """Replace the live SQLite database's content with the backup ``source``, after checking it.

    Refused, with nothing changed, when ``source`` is not an mhi database, is damaged, or is at another migration
    revision than this version of mhi (a newer one: upgrade mhi first; an older one: upgrade a copy of the backup
    first) — and when another connection is still writing after ``wait`` seconds (an import in progress).

    Nothing acknowledged is lost (issue 18: an import reported done was in neither the restored database nor the
    safety copy, because it was committed between the two). The restore takes the database's write lock
    (``BEGIN IMMEDIATE``: it waits for the writer of the moment to commit, and no other write starts), takes the
    safety copy and replaces the content under that one lock, and commits: every write acknowledged before is in
    the safety copy, every write after lands in the restored database.
    """
    live_path = sqlite_path(database_url)
    source = Path(source)
    if not source.is_file():
        raise BackupRefused(f"there is no file {source}")
    expected = head_revision(migrations)
    checked = _temporary_beside(live_path)
    stamp = (now or clock.now()).strftime("%Y%m%d-%H%M%S")
    safety = live_path.with_name(f"{live_path.name}.before-restore-{stamp}")
    try:
        revision = _checked_copy(source, checked, expected, migrations)
        if not live_path.exists():
            _copy_database(checked, live_path)
            return BackupResult(live_path, revision, live_path.stat().st_size, None)
        _replace_under_lock(live_path, checked, safety, wait)
    finally:
        checked.unlink(missing_ok=True)
    return BackupResult(live_path, revision, live_path.stat().st_size, safety)


def _checked_copy(source: Path, checked: Path, expected: str, migrations: Path) -> str:
    """Copy ``source`` to the private file ``checked`` and check the copy (what is checked is what is restored:
    the file may change under us); its revision. Any damage is a ``BackupRefused``, never a traceback."""
    try:
        original = sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True)
        try:
            private = sqlite3.connect(checked)
            try:
                original.backup(private)
            finally:
                private.close()
        finally:
            original.close()
        candidate = sqlite3.connect(checked)
        try:
            revision = database_revision(candidate)
            _check_revision(revision, expected, source, migrations)
            problems = [row[0] for row in candidate.execute("PRAGMA integrity_check")]
            if problems != ["ok"]:
                raise BackupRefused(f"{source} is damaged: {'; '.join(problems[:5])}; nothing was restored")
        finally:
            candidate.close()
    except sqlite3.DatabaseError as exc:
        # A file damaged in the middle passes the first page's checks and fails wherever it is read next.
        raise BackupRefused(f"{source} is damaged or is not a SQLite database ({exc}); nothing was restored") from exc
    return revision


def _copy_database(source: Path, target: Path) -> None:
    """A whole database copied into ``target`` (no live database yet: nothing to lock or keep)."""
    origin = sqlite3.connect(source)
    try:
        copy = sqlite3.connect(new_private_file(target))
        try:
            origin.backup(copy)
        finally:
            copy.close()
    finally:
        origin.close()


def _replace_under_lock(live_path: Path, checked: Path, safety: Path, wait: float) -> None:
    """The safety copy, then the live database's schema and rows replaced by ``checked``'s, in one write
    transaction of the live database."""
    live = sqlite3.connect(live_path, timeout=wait, isolation_level=None)
    try:
        live.execute("ATTACH DATABASE ? AS restored", (str(checked),))
        try:
            live.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise BackupRefused(
                f"the database is being written to (an import or another write did not finish within {wait:g} "
                "seconds): nothing was restored; try again once it is done, or stop the application first"
            ) from exc
        try:
            # Copied through a second connection: the lock holder cannot be a backup's source (SQLite would
            # wait for its own transaction), and while it holds the lock, what any reader sees is exactly the
            # last committed content — what is about to be replaced.
            reader = sqlite3.connect(live_path, timeout=wait)
            try:
                keep = sqlite3.connect(new_private_file(safety))
                try:
                    reader.backup(keep)
                    keep.execute("PRAGMA journal_mode=DELETE")
                finally:
                    keep.close()
            finally:
                reader.close()
            _replace_content(live)
            live.execute("COMMIT")
        except BaseException:
            live.execute("ROLLBACK")
            raise
    finally:
        live.close()


def _replace_content(live: sqlite3.Connection) -> None:
    """Inside the open transaction: drop every table, index, trigger and view of ``main`` and make them again as
    ``restored`` has them, with its rows. The revisions are equal, so this is the same schema; taking it from
    the backup all the same makes the result an exact copy. Foreign keys are off on this connection (SQLite's
    default), and DROP TABLE fires no trigger (the audit trail's guard goes with its table and comes back)."""

    def quoted(name: str) -> str:
        return '"' + name.replace('"', '""') + '"'

    for kind in ("view", "trigger", "table"):
        names = [row[0] for row in live.execute(
            "SELECT name FROM main.sqlite_master WHERE type = ? AND name NOT LIKE 'sqlite_%'", (kind,)
        )]  # fmt: skip
        for name in names:
            live.execute(f"DROP {kind.upper()} IF EXISTS main.{quoted(name)}")
    objects = live.execute(
        "SELECT type, name, sql FROM restored.sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%' "
        "ORDER BY CASE type WHEN 'table' THEN 0 WHEN 'index' THEN 1 WHEN 'trigger' THEN 2 ELSE 3 END, rowid"
    ).fetchall()
    for kind, name, sql in objects:
        live.execute(sql)
        if kind == "table":
            live.execute(f"INSERT INTO main.{quoted(name)} SELECT * FROM restored.{quoted(name)}")
    has_sequence = live.execute("SELECT 1 FROM restored.sqlite_master WHERE name = 'sqlite_sequence'").fetchone()
    if has_sequence:
        live.execute("DELETE FROM main.sqlite_sequence")
        live.execute("INSERT INTO main.sqlite_sequence SELECT * FROM restored.sqlite_sequence")
    (version,) = live.execute("PRAGMA restored.user_version").fetchone()
    live.execute(f"PRAGMA main.user_version = {int(version)}")


def _check_revision(revision: str, expected: str, source: Path, migrations: Path) -> None:
    """Refuse a backup at another revision than ``expected``, saying which way it differs and what to do."""
    if revision == expected:
        return
    script = _scripts(migrations)
    try:
        script.get_revision(revision)
    except Exception as exc:  # alembic raises several kinds for a revision it does not know
        raise BackupRefused(
            f"{source} was made by a newer version of mhi (migration revision {revision}, unknown to this "
            f"version, which is at {expected}): install that version of mhi first, then restore"
        ) from exc
    raise BackupRefused(
        f"{source} is at an older migration revision ({revision}; this version is at {expected}): upgrade a copy "
        f"first (MHI_DATABASE_URL=sqlite:////path/to/copy.sqlite flask --app mhi db upgrade), then restore the copy"
    )


def _scripts(migrations: Path):
    """Alembic's view of the migrations folder."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory(str(migrations))


def _temporary_beside(path: Path) -> Path:
    """A new, empty temporary file in ``path``'s folder (so a final rename stays on one file system), readable
    by this user only (mkstemp makes it ``0600``; SQLite opens an empty file as a new database)."""
    handle, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(handle)
    return Path(name)
