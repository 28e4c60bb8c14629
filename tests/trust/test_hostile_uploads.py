"""Path tricks in uploads: whatever name the browser sends (``../../etc/passwd``, ``..\\x.csv``, absolute paths,
NUL bytes, markup), a previewed file is kept in the database, or under a random name in the shared directory
(``MHI_STORAGE_DIR``, here ``instance/files``), and nothing is ever written elsewhere; the confirmation step's
token cannot be bent into a path either."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import login, make_user, records
from tests.trust.helpers import everything_scheme, members_csv

TRICKS = [
    "../../etc/passwd",
    "../../escape.csv",
    "..\\..\\escape.csv",
    "..\\x.csv",
    "/tmp/absolute.csv",
    "/etc/cron.d/x.csv",
    "C:\\Windows\\system32\\x.csv",
    "\\\\server\\share\\x.csv",
    "%2e%2e%2fescape.csv",
    "....//....//escape.csv",
    "uploads/../../escape.csv",
    "a\x00.csv",
    "<script>alert(1)</script>.csv",
    ".csv",
    "x.CSV",
    "../../escape.xlsx",
    "~/.bashrc.csv",
    " ../escape.csv ",
]
KINDS = {"members": "members", "contributions": "contributions", "subsidy-receipts": "subsidy-receipts"}
STORED = re.compile(r"^[0-9a-f]{32}$")


@pytest.fixture
def uploading(app, client, tmp_path, monkeypatch):
    """The app's instance folder moved to ``tmp_path/instance`` (a sandbox: anything written outside it shows)
    with the shared file directory in it, a scheme, an admin signed in. The scheme's code."""
    sandbox = tmp_path / "sandbox" / "a" / "b"
    instance = sandbox / "instance"
    instance.mkdir(parents=True)
    monkeypatch.setattr(app, "instance_path", str(instance))
    monkeypatch.setitem(app.config, "STORAGE_DIR", str(instance / "files"))
    with records(app) as session:
        code = everything_scheme(session).code
        admin = make_user(session, "admin")
    login(client, admin)
    return code, tmp_path / "sandbox", instance


def _files(root: Path) -> set[str]:
    return {str(path.relative_to(root)) for path in root.rglob("*") if path.is_file()}


def _check_sandbox(root: Path, instance: Path) -> None:
    """Only random names in instance/files/<2 hex>/; nothing anywhere else in the sandbox."""
    for name in _files(root):
        parts = Path(name).parts
        assert parts[:4] == ("a", "b", "instance", "files") and len(parts) == 6, f"written outside: {name}"
        assert STORED.match(parts[5]) and parts[4] == parts[5][:2], f"stored under a client-chosen name: {name}"


def test_upload_names_never_become_paths(uploading, client):
    code, root, instance = uploading
    data = members_csv(1).encode()

    @settings(max_examples=40, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
    @given(
        name=st.one_of(st.sampled_from(TRICKS), st.text(max_size=30).map(lambda t: t + ".csv")),
        kind=st.sampled_from(sorted(KINDS)),
    )
    def check(name, kind):
        response = client.post(
            f"/schemes/{code}/imports/{kind}",
            data={"file": (io.BytesIO(data), name)},
            content_type="multipart/form-data",
        )
        assert response.status_code in (200, 400), response.status_code
        body = response.get_data(as_text=True)
        assert "<script>alert(1)" not in body
        _check_sandbox(root, instance)

    check()
    # The sandbox's parents hold nothing the uploads put there.
    assert not (root.parent / "escape.csv").exists() and not (root / "escape.csv").exists()


def test_a_kept_upload_is_confirmed_and_removed(uploading, client):
    """A good file under a tricky name: kept under a random name, imported on confirmation (the suite's job queue
    runs the import at once), then deleted."""
    code, root, instance = uploading
    response = client.post(
        f"/schemes/{code}/imports/members",
        data={"file": (io.BytesIO(members_csv(2).encode()), "../../etc/passwd.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 200
    kept = _files(instance / "files")
    assert len(kept) == 1 and STORED.match(Path(next(iter(kept))).name)
    token = Path(next(iter(kept))).name
    response = client.post(f"/schemes/{code}/imports/members/confirm", data={"token": token})
    assert response.status_code == 302
    assert _files(instance / "files") == set()
    _check_sandbox(root, instance)


@pytest.mark.parametrize(
    "token", ["../sentinel", "..%2fsentinel", "../../a/b/instance/sentinel", "/etc/passwd", "sentinel", "x" * 5000]
)
def test_a_forged_token_reads_and_deletes_nothing(uploading, client, token):
    code, _root, instance = uploading
    sentinel = instance / "sentinel.csv"
    sentinel.write_text(members_csv(1))
    (instance / "files" / "se").mkdir(parents=True, exist_ok=True)
    planted = instance / "files" / "se" / "sentinel"
    planted.write_text(members_csv(1))
    response = client.post(f"/schemes/{code}/imports/members/confirm", data={"token": token})
    assert response.status_code in (302, 400)
    assert sentinel.exists() and planted.exists()
    with records(client.application) as session:
        from sqlalchemy import func, select

        from mhi.members.models import Person

        assert session.scalar(select(func.count()).select_from(Person)) == 0
