"""Issue 18: the database, backups and uploads were world-readable. Files that hold the register are created
0600 in folders 0700 whatever the umask (mhi/core/files.py); backups and the database: tests/core/test_backup.py."""

from __future__ import annotations

import io
import os

import pytest

from mhi import create_app
from tests.factories import login, make_user, records
from tests.trust.helpers import everything_scheme, members_csv


@pytest.fixture
def open_umask():
    """A permissive umask (022, the usual default) while the test runs."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def _mode(path) -> int:
    return path.stat().st_mode & 0o777


def test_an_uploaded_file_and_its_folder_are_private(app, client, tmp_path, monkeypatch, open_umask):
    """A previewed upload kept in the shared storage directory (MHI_STORAGE_DIR) is readable by this user only."""
    storage = tmp_path / "storage"
    monkeypatch.setitem(app.config, "STORAGE_DIR", str(storage))
    with records(app) as session:
        code = everything_scheme(session).code
        admin = make_user(session, "admin")
    login(client, admin)

    response = client.post(
        f"/schemes/{code}/imports/members",
        data={"file": (io.BytesIO(members_csv(2).encode()), "members.csv")},
        content_type="multipart/form-data",
    )

    assert response.status_code == 200
    (kept,) = (path for path in storage.rglob("*") if path.is_file())
    assert _mode(kept.parent) == 0o700
    assert _mode(kept) == 0o600


def test_the_instance_folder_and_a_new_sqlite_database_are_private(tmp_path, monkeypatch, open_umask):
    import mhi

    monkeypatch.setattr(mhi, "ROOT", tmp_path)
    for name in ("MHI_ENV", "MHI_SECRET_KEY", "MHI_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "instance").mkdir(mode=0o755)
    database = tmp_path / "data" / "mhi.sqlite"
    database.parent.mkdir()

    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}"})
    from mhi.core.db import db

    with app.app_context():
        db.create_all()
        db.engine.dispose()

    assert _mode(tmp_path / "instance") == 0o700
    assert _mode(tmp_path / "instance" / "secret_key") == 0o600
    assert _mode(database) == 0o600
