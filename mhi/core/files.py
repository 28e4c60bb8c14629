"""Files and folders only the application's own user may read: the database, its backups, uploaded files.

They hold health and identity data (issue 18 found them world-readable), so they are created ``0600`` in folders
``0700`` whatever the process's umask, and an existing one is narrowed when the application opens it. SQLite makes
its ``-wal``, ``-shm`` and ``-journal`` files with the database file's own permissions.
"""

from __future__ import annotations

import os
from pathlib import Path

FILE_MODE = 0o600
FOLDER_MODE = 0o700


def private_folder(path: Path) -> Path:
    """``path`` as a folder readable by this user only (made, with its missing parents, if absent)."""
    path = Path(path)
    path.mkdir(mode=FOLDER_MODE, parents=True, exist_ok=True)
    if path.stat().st_mode & 0o777 != FOLDER_MODE:
        path.chmod(FOLDER_MODE)
    return path


def new_private_file(path: Path) -> Path:
    """An empty new file at ``path``, readable by this user only from its first byte (SQLite opens an empty file
    as a new database). Refuses to replace an existing file."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    os.close(descriptor)
    return Path(path)


def make_private(path: Path) -> None:
    """Narrow an existing file to ``0600`` (nothing when it does not exist)."""
    try:
        if Path(path).stat().st_mode & 0o777 != FILE_MODE:
            Path(path).chmod(FILE_MODE)
    except FileNotFoundError:
        return
