"""Uploads through the job queue (issue 18): the preview kept in the shared storage (not the session cookie),
for its user only, deleted when it expires; the confirmed import runs as a job with its progress and outcome on
a page; a double or triple click imports once, also when the clicks race on PostgreSQL."""

from __future__ import annotations

import io
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from mhi.core import jobs
from mhi.core.jobs import Job
from mhi.core.storage import StoredFile, utcnow
from mhi.members.imports import import_members
from mhi.members.models import Household, Person
from mhi.members.uploads import PROBLEMS, UPLOAD_TTL
from mhi.schemes.models import Scheme
from tests.factories import login, make_user, records
from tests.trust.helpers import everything_scheme, members_csv, postgresql_only

URL = "/schemes/MUT-TRUST/imports/members"


@pytest.fixture
def world(app):
    """A scheme and two clerks of it."""
    with records(app) as session:
        scheme = everything_scheme(session)
        return {
            "scheme": scheme,
            "clerk": make_user(session, "clerk", scheme),
            "other": make_user(session, "clerk", scheme),
        }


def preview(client, text: str, name: str = "members.csv") -> str:
    """Upload ``text``; the confirm token of its preview."""
    response = client.post(URL, data={"file": (io.BytesIO(text.encode()), name)}, content_type="multipart/form-data")
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True).split('name="token" type="hidden" value="')[1][:32]


def counts(app) -> tuple[int, int, int]:
    """(households, jobs, stored files)."""
    with records(app) as session:
        return tuple(session.scalar(select(func.count()).select_from(m)) for m in (Household, Job, StoredFile))


def test_the_preview_is_kept_in_the_database_for_its_user_only(app, client, world):
    login(client, world["clerk"])
    token = preview(client, members_csv(2))
    with records(app) as session:
        stored = session.scalar(select(StoredFile))
        assert (stored.token, stored.purpose, stored.owner_id) == (token, "upload:members", world["clerk"].id)
        assert stored.data == members_csv(2).encode() and not stored.on_disk
        assert timedelta(minutes=59) < stored.expires_at - utcnow() <= UPLOAD_TTL
    cookie = client.get_cookie("session")
    assert cookie is None or len(cookie.value) < 400  # nothing of the file or its token list in the cookie
    # Another clerk of the scheme cannot confirm it: to them it does not exist.
    client.post("/logout")
    login(client, world["other"])
    response = client.post(f"{URL}/confirm", data={"token": token}, follow_redirects=True)
    assert "That upload has expired" in response.get_data(as_text=True)
    assert counts(app) == (0, 0, 1)


def test_a_triple_click_imports_once(app, client, world):
    login(client, world["clerk"])
    token = preview(client, members_csv(3))
    answers = [client.post(f"{URL}/confirm", data={"token": token}) for _ in range(3)]
    assert [a.status_code for a in answers] == [302, 302, 302]
    assert len({a.headers["Location"] for a in answers}) == 1  # every click lands on the one job's page
    assert counts(app) == (3, 1, 1)  # imported once
    with records(app) as session:
        assert session.scalar(select(StoredFile.data)) is None  # the file's bytes deleted once imported
    page = client.get(answers[2].headers["Location"])
    html = page.get_data(as_text=True)
    assert "This file is already being imported" in html and "9 row(s) added" in html  # 3 households of 3
    with records(app) as session:
        job = session.scalar(select(Job))
        assert (job.kind, job.state, job.progress, job.total) == ("import.members", "done", 9, 9)
        assert job.result == {"added": 9, "unchanged": 0} and job.created_by_id == world["clerk"].id


def test_an_expired_preview_is_refused_and_deleted(app, client, world):
    login(client, world["clerk"])
    token = preview(client, members_csv(1))
    with records(app) as session:
        session.execute(update(StoredFile).values(expires_at=utcnow() - timedelta(seconds=1)))
        session.commit()
    response = client.post(f"{URL}/confirm", data={"token": token}, follow_redirects=True)
    assert "That upload has expired" in response.get_data(as_text=True)
    assert counts(app) == (0, 0, 1)
    assert jobs.sweep(app).deleted_files == 1 and counts(app) == (0, 0, 0)


def test_a_file_that_went_wrong_since_its_preview_writes_nothing(app, client, world):
    login(client, world["clerk"])
    token = preview(client, members_csv(2))
    # Meanwhile the first household is imported with another name: the file now conflicts with the register.
    changed = members_csv(1).replace("Awa,Ndiaye", "Awa,Sarr")
    with records(app) as session:
        scheme = session.scalar(select(Scheme))
        header, *rows = [line.split(",") for line in changed.strip().splitlines()]
        assert import_members(session, scheme, header, rows, dry_run=False, actor=None).ok
        session.commit()
    response = client.post(f"{URL}/confirm", data={"token": token})
    page = client.get(response.headers["Location"])
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "nothing was imported" in html and "H-000001" in html
    with records(app) as session:
        job = session.scalar(select(Job))
        assert (job.state, job.error) == ("failed", PROBLEMS) and job.error_params["count"] >= 1
        assert session.scalar(select(func.count()).select_from(Person)) == 3  # only the other import's


def test_the_job_page_belongs_to_its_scheme_and_kind(app, client, world):
    with records(app) as session:
        other = everything_scheme(session, "MUT-OTHER")
        foreign = Job(kind="import.members", scheme_id=other.id, params={}, state="done")
        card = Job(kind="cards.print", scheme_id=world["scheme"].id, params={}, state="done")
        running = Job(kind="import.members", scheme_id=world["scheme"].id, params={}, state="running", total=10)
        running.progress = 4
        session.add_all([foreign, card, running])
        session.commit()
        ids = foreign.id, card.id, running.id
    login(client, world["clerk"])
    assert client.get(f"{URL}/jobs/{ids[0]}").status_code == 404
    assert client.get(f"{URL}/jobs/{ids[1]}").status_code == 404
    assert client.get(f"/schemes/MUT-TRUST/imports/contributions/jobs/{ids[2]}").status_code == 404
    page = client.get(f"{URL}/jobs/{ids[2]}")
    assert page.status_code == 200 and page.headers["Refresh"] == "2"
    assert "4 of 10 rows checked" in page.get_data(as_text=True)


def test_racing_confirmations_import_once(app, world):
    """Three clicks at the same moment on PostgreSQL: one job, one import, no error, all sent to its page."""
    postgresql_only(app)
    first = app.test_client()
    login(first, world["clerk"])
    token = preview(first, members_csv(3))
    clients = [first] + [app.test_client() for _ in range(2)]
    for other in clients[1:]:
        login(other, world["clerk"])
    start = threading.Barrier(len(clients))
    answers: list = [None] * len(clients)

    def click(index: int) -> None:
        start.wait()
        answers[index] = clients[index].post(f"{URL}/confirm", data={"token": token})

    threads = [threading.Thread(target=click, args=(i,)) for i in range(len(clients))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert [a.status_code for a in answers] == [302] * 3
    assert len({a.headers["Location"] for a in answers}) == 1
    assert counts(app) == (3, 1, 1)


def test_a_claims_file_is_decided_by_its_import_job(app, client, world):
    """The claims upload: the preview decides each claim and rolls back; the job decides and stores them."""
    from mhi.claims.models import Claim

    with records(app) as session:
        scheme = session.scalar(select(Scheme))
        header, *rows = [line.split(",") for line in members_csv(1).strip().splitlines()]
        assert import_members(session, scheme, header, rows, dry_run=False, actor=None).ok
        session.commit()
        officer = make_user(session, "claims_officer", scheme)
    login(client, officer)
    claims = (
        "claim_ref,member_no,provider_code,benefit_code,date_of_service,date_submitted,amount_claimed\n"
        "C-1,H-000001-01,CS,OPD,2025-05-01,2025-05-02,3000\n"
        "C-2,H-000001-03,CS,OPD,2025-05-03,2025-05-04,2000\n"
    )
    url = "/schemes/MUT-TRUST/imports/claims"
    response = client.post(
        url, data={"file": (io.BytesIO(claims.encode()), "claims.csv")}, content_type="multipart/form-data"
    )
    token = response.get_data(as_text=True).split('name="token" type="hidden" value="')[1][:32]
    with records(app) as session:
        assert session.scalar(select(func.count()).select_from(Claim)) == 0  # the preview wrote nothing
    done = client.post(f"{url}/confirm", data={"token": token})
    assert "2 row(s) added" in client.get(done.headers["Location"]).get_data(as_text=True)
    with records(app) as session:
        assert sorted(session.scalars(select(Claim.claim_ref))) == ["C-1", "C-2"]
        assert session.scalar(select(Job.kind)) == "import.claims"
