"""Printing screens: the card batch from the form to the PDF through the background job, the job page's
polling, the statement and the slip, and who may see what."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mhi.cards.services import CARD_JOB
from mhi.core import clock
from mhi.core.jobs import Job
from mhi.members.models import Household, Person
from tests.cards.helpers import claim, make_household, pay, pdf_text
from tests.factories import login, make_scheme, make_user, records
from tests.pages import has_inline_script

RECENT = clock.today() - timedelta(days=10)  # enrolled lately: not struck off today


@pytest.fixture
def world(app):
    """Scheme A with two households (one in Pout) and a receipt and a claim; scheme B with one household."""
    with records(app) as session:
        scheme_a = make_scheme(session, "MUT-A", name="Mutuelle de santé de Ndiagane")
        scheme_b = make_scheme(session, "MUT-B")
        first = make_household(session, scheme_a, "H-001", enrolment=RECENT)
        make_household(session, scheme_a, "H-002", enrolment=RECENT, village="Pout", first_no=10)
        other = make_household(session, scheme_b, "H-001", enrolment=RECENT, prefix="B")
        receipt = pay(session, first, RECENT, "1900", number="R-1")
        patient = session.query(Person).filter_by(member_no="M-00002").one()
        claim(session, patient, "C-1", RECENT, "5000", "4000", "REDUCED")
        users = {
            role: make_user(session, role, scheme=scheme_a)
            for role in ("clerk", "auditor", "claims_officer", "scheme_manager")
        }
        users["other_clerk"] = make_user(session, "clerk", scheme=scheme_b)
        return {
            "a": scheme_a,
            "b": scheme_b,
            "household": first.id,
            "other_household": other.id,
            "receipt": receipt.id,
            "users": users,
        }


def test_card_batch_from_form_to_pdf(app, client, world):
    login(client, world["users"]["clerk"])
    form = client.get("/schemes/MUT-A/cards")
    assert form.status_code == 200 and "Pout" in form.get_data(as_text=True)
    response = client.post("/schemes/MUT-A/cards", data={"scope": "village", "village": "Pout"})
    assert response.status_code == 302
    job_url = response.headers["Location"]  # the suite's queue is immediate: the job ran on commit
    page = client.get(job_url)
    assert page.status_code == 200 and "Refresh" not in page.headers
    html = page.get_data(as_text=True)
    assert "cards.pdf" in html
    with records(app) as session:
        job = session.query(Job).one()
        assert (job.kind, job.state, job.progress, job.total, job.error) == (CARD_JOB, "done", 3, 3, "")
        assert job.created_by_id == world["users"]["clerk"].id
    download = client.get(f"{job_url}/cards.pdf")
    assert download.status_code == 200 and download.mimetype == "application/pdf"
    assert "attachment" in download.headers["Content-Disposition"]
    text = pdf_text(download.data)
    assert "M-00010" in text and "François Ndiaye-Sène" in text
    assert "M-00001" not in text  # H-001 is in Ndiagane


def test_a_running_job_page_polls_without_script(app, client, world):
    with records(app) as session:
        job = Job(kind=CARD_JOB, scheme_id=world["a"].id, params={}, state="running", progress=3, total=10)
        session.add(job)
        session.commit()
        job_id = job.id
    login(client, world["users"]["clerk"])
    page = client.get(f"/schemes/MUT-A/cards/jobs/{job_id}")
    assert page.headers["Refresh"] == "2"
    html = page.get_data(as_text=True)
    assert '<meta http-equiv="refresh" content="2">' in html
    assert '<progress value="3" max="10">' in html and not has_inline_script(html)
    # Not ready: no PDF to download.
    assert client.get(f"/schemes/MUT-A/cards/jobs/{job_id}/cards.pdf").status_code == 404


def test_card_form_errors_create_no_job(app, client, world):
    login(client, world["users"]["clerk"])
    missing = client.post("/schemes/MUT-A/cards", data={"scope": "household", "household_ref": ""})
    assert missing.status_code == 200 and "Fill this in" in missing.get_data(as_text=True)
    unknown = client.post("/schemes/MUT-A/cards", data={"scope": "household", "household_ref": "NOPE"})
    assert unknown.status_code == 200 and "Nobody in this selection" in unknown.get_data(as_text=True)
    with records(app) as session:
        assert session.query(Job).count() == 0


def test_card_printing_needs_register_write(client, world):
    login(client, world["users"]["auditor"])
    assert client.get("/schemes/MUT-A/cards").status_code == 403


def test_another_schemes_job_is_not_found(app, client, world):
    with records(app) as session:
        job = Job(kind=CARD_JOB, scheme_id=world["b"].id, params={}, state="done", total=1)
        session.add(job)
        session.commit()
        job_id = job.id
    login(client, world["users"]["clerk"])
    assert client.get(f"/schemes/MUT-A/cards/jobs/{job_id}").status_code == 404
    assert client.get(f"/schemes/MUT-B/cards/jobs/{job_id}").status_code == 404


def statement_url(household_id: int, code: str = "MUT-A") -> str:
    """The statement of a household from the day before its enrolment to today."""
    start = RECENT - timedelta(days=1)
    return f"/schemes/{code}/households/{household_id}/statement?date_from={start}&date_to={clock.today()}"


def test_statement_claims_only_for_claims_staff(client, world):
    login(client, world["users"]["clerk"])
    form = client.get(f"/schemes/MUT-A/households/{world['household']}/statement")
    assert form.status_code == 200 and 'name="date_from"' in form.get_data(as_text=True)
    response = client.get(statement_url(world["household"]))
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text = pdf_text(response.data)
    assert "Aïssatou Lô" in text and "R-1" in text
    assert "C-1" not in text  # a clerk does not see health data
    client.post("/logout")
    login(client, world["users"]["claims_officer"])
    assert "C-1" in pdf_text(client.get(statement_url(world["household"])).data)


def test_statement_prints_the_assembly_decisions_when_asked(app, client, world):
    """The statement form offers the last general assembly's decisions, ticked by default (C102 art. 72)."""
    from tests.factories import make_resolution

    with records(app) as session:
        make_resolution(session, world["a"], held_on=clock.today() - timedelta(days=2), text="Cotisation maintenue.")
        session.commit()
    login(client, world["users"]["clerk"])
    form = client.get(f"/schemes/MUT-A/households/{world['household']}/statement").get_data(as_text=True)
    tag = next(t for t in form.split("<input")[1:] if 'name="decisions"' in t.split(">", 1)[0]).split(">", 1)[0]
    assert "checked" in tag
    text = pdf_text(client.get(statement_url(world["household"]) + "&decisions=y").data)  # in the household's French
    assert "Décisions de l'assemblée générale" in text and "1. Cotisation maintenue." in text
    assert "Cotisation maintenue" not in pdf_text(client.get(statement_url(world["household"])).data)


def test_statement_form_errors(client, world):
    login(client, world["users"]["auditor"])
    url = f"/schemes/MUT-A/households/{world['household']}/statement?date_from=2024-03-01&date_to=2024-01-01"
    response = client.get(url)
    assert response.status_code == 200 and response.mimetype == "text/html"
    assert "The end comes before the start." in response.get_data(as_text=True)


def test_records_of_another_scheme_are_not_found(client, world):
    login(client, world["users"]["clerk"])
    # B's household under A's code, and under B's code (not the clerk's scheme).
    assert client.get(statement_url(world["other_household"])).status_code == 404
    assert client.get(statement_url(world["other_household"], "MUT-B")).status_code == 404
    client.post("/logout")
    login(client, world["users"]["other_clerk"])
    assert client.get(statement_url(world["household"])).status_code == 404
    assert client.get(f"/schemes/MUT-A/receipts/{world['receipt']}/slip.pdf").status_code == 404
    assert client.get(f"/schemes/MUT-B/receipts/{world['receipt']}/slip.pdf").status_code == 404


def test_receipt_slip(client, world):
    login(client, world["users"]["auditor"])
    a6 = client.get(f"/schemes/MUT-A/receipts/{world['receipt']}/slip.pdf")
    assert a6.status_code == 200 and a6.mimetype == "application/pdf"
    assert "R-1" in pdf_text(a6.data)
    roll = client.get(f"/schemes/MUT-A/receipts/{world['receipt']}/slip.pdf?size=roll80")
    assert roll.status_code == 200 and roll.data != a6.data


def test_statement_is_in_the_households_language(app, client, world):
    with records(app) as session:
        household = session.get(Household, world["household"])
        household.language = "en"
        session.commit()
    login(client, world["users"]["clerk"])
    text = pdf_text(client.get(statement_url(world["household"])).data)
    # English dates although the scheme's locale is fr_SN.
    assert f"{RECENT:%b} {RECENT.day}, {RECENT.year}" in text
