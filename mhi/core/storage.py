"""Files every machine reaches: upload previews and job results, each with the time after which it is deleted,
and files kept with a record (a claim's attachments: no expiry, ``expires_in=None``).

A file's row (``stored_file``) is always in the database; its bytes are in the row too by default, or, when
``MHI_STORAGE_DIR`` names a directory that every machine mounts, in a file there named after the row's random
token (mode 0600, folders 0700). Either way a file written by one web worker is read by any other worker or
job queue worker, and nothing lives on one machine's disk unless that disk is the configured shared one.

    stored = put_file(session, data, name="members.csv", purpose="upload:members", scheme_id=scheme.id,
                      owner_id=user.id, expires_in=timedelta(hours=1))   # flushed; stored.token names it
    data = read_file(stored)
    purge_expired(session)                   # deletes every expired file (row and bytes); the job sweep calls it

Files attached to a job (``job_id``) go with the job when the job's retention ends (``mhi.core.jobs``).
"""

from __future__ import annotations

import logging
import os
import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path

from flask import current_app
from sqlalchemy import ForeignKey, Index, String, delete, select
from sqlalchemy.orm import Mapped, deferred, mapped_column

from mhi.core import clock
from mhi.core.db import db

log = logging.getLogger(__name__)

#: A file on disk older than this without its row was left by a transaction that rolled back: deleted.
ORPHAN_AFTER = timedelta(days=1)


def utcnow() -> datetime:
    """Now, in UTC without a zone (how the job and storage tables keep times on both databases)."""
    return clock.stored_now()


class StoredFile(db.Model):
    """One stored file: what it is for, whose it is, until when it is kept, and its bytes (or where they are)."""

    __tablename__ = "stored_file"
    __table_args__ = (Index("ix_stored_file_expires_at", "expires_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # 128 random bits, hex: the only name of the file in URLs, forms and on disk.
    token: Mapped[str] = mapped_column(String(32), unique=True)
    # "upload:<kind>" for a previewed upload, "result" for a job's output, "input" for a job's input.
    purpose: Mapped[str] = mapped_column(String(40))
    # The name the user gave the file (never used for a path), or the name to download it under.
    name: Mapped[str] = mapped_column(String(200), default="")
    size: Mapped[int] = mapped_column(default=0)
    scheme_id: Mapped[int | None] = mapped_column(ForeignKey("scheme.id"), index=True)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    job_id: Mapped[int | None] = mapped_column(ForeignKey("job.id"), index=True)
    # Deferred: listing files never drags their bytes along. NULL when the bytes are in MHI_STORAGE_DIR.
    data: Mapped[bytes | None] = deferred(mapped_column(db.LargeBinary))
    on_disk: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # NULL: kept with the record that names it (a claim's attachment), never purged.
    expires_at: Mapped[datetime | None]


def storage_dir() -> Path | None:
    """The shared directory of ``MHI_STORAGE_DIR`` (config ``STORAGE_DIR``), or None for the database."""
    configured = current_app.config.get("STORAGE_DIR")
    return Path(configured) if configured else None


def _path(folder: Path, token: str) -> Path:
    """Where a token's bytes are in the shared directory (two levels, so no folder grows too large)."""
    return folder / token[:2] / token


def put_file(
    session,
    data: bytes,
    *,
    name: str,
    purpose: str,
    expires_in: timedelta | None,
    scheme_id: int | None = None,
    owner_id: int | None = None,
    job_id: int | None = None,
) -> StoredFile:
    """Store ``data`` (flushed, not committed) and return its row; ``token`` names it from now on. With
    ``expires_in=None`` it is kept until its record deletes it."""
    token = secrets.token_hex(16)
    folder = storage_dir()
    stored = StoredFile(
        token=token,
        purpose=purpose,
        name=(name or "")[-200:],
        size=len(data),
        scheme_id=scheme_id,
        owner_id=owner_id,
        job_id=job_id,
        on_disk=folder is not None,
        data=None if folder is not None else data,
        created_at=utcnow(),
        expires_at=utcnow() + expires_in if expires_in is not None else None,
    )
    if folder is not None:
        _write_private(_path(folder, token), data)
    session.add(stored)
    session.flush()
    return stored


def _write_private(path: Path, data: bytes) -> None:
    """Write ``data`` readable by this user only (health and identity data), through a temporary name."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)
    os.replace(temporary, path)


def read_file(stored: StoredFile) -> bytes:
    """The bytes of ``stored``. Raises FileNotFoundError when they are gone (deleted, or the directory moved)."""
    if not stored.on_disk:
        if stored.data is None:
            raise FileNotFoundError(stored.token)
        return stored.data
    folder = storage_dir()
    if folder is None:
        raise FileNotFoundError(f"{stored.token}: MHI_STORAGE_DIR is not set on this machine")
    return _path(folder, stored.token).read_bytes()


def delete_files(session, condition) -> int:
    """Delete the stored files matching ``condition`` (rows and bytes); returns how many. Flushed."""
    folder = storage_dir()
    if folder is not None:
        tokens = session.scalars(select(StoredFile.token).where(condition, StoredFile.on_disk.is_(True))).all()
        for token in tokens:
            _path(folder, token).unlink(missing_ok=True)
    return session.execute(delete(StoredFile).where(condition)).rowcount


def empty_files(session, condition) -> int:
    """Delete the bytes of the stored files matching ``condition`` but keep their rows (what they were, whose,
    for which job) until they expire; returns how many. Flushed."""
    from sqlalchemy import update

    folder = storage_dir()
    if folder is not None:
        tokens = session.scalars(select(StoredFile.token).where(condition, StoredFile.on_disk.is_(True))).all()
        for token in tokens:
            _path(folder, token).unlink(missing_ok=True)
    return session.execute(
        update(StoredFile).where(condition).values(data=None, size=0).execution_options(synchronize_session=False)
    ).rowcount


def purge_expired(session, *, now: datetime | None = None) -> int:
    """Delete every file whose time is up, and files left on disk by rolled-back transactions. Flushed."""
    now = now or utcnow()
    count = delete_files(session, StoredFile.expires_at <= now)
    folder = storage_dir()
    if folder is not None and folder.is_dir():
        _purge_orphans(session, folder, now)
    return count


def _purge_orphans(session, folder: Path, now: datetime) -> None:
    """Unlink files of the shared directory older than ORPHAN_AFTER that no row names."""
    cutoff = (now - ORPHAN_AFTER).replace(tzinfo=UTC).timestamp()
    old = {path.name: path for path in folder.glob("??/*") if path.is_file() and path.stat().st_mtime < cutoff}
    if not old:
        return
    names = list(old)
    known: set[str] = set()
    for start in range(0, len(names), 1000):
        known.update(session.scalars(select(StoredFile.token).where(StoredFile.token.in_(names[start : start + 1000]))))
    for name in set(names) - known:
        old[name].unlink(missing_ok=True)
        log.info("deleted %s: a stored file without its row", name)
