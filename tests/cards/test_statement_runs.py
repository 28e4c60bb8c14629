"""Statement runs (issue 17): many households' statements in one PDF, each from a new page and in its own
language; the arrears filter is the arrears list; the data is read in batches with a fixed number of queries;
the page, the job and the download; the command line."""

from __future__ import annotations

import io
from contextlib import contextmanager
from datetime import date

import pypdf
import pytest
from sqlalchemy import event, select

from mhi.cards import statements
from mhi.cards.statements import STATEMENT_JOB, make_run, run_household_ids, write_statement_run
from mhi.contributions.queries import households_in_arrears
from mhi.core.db import db
from mhi.core.jobs import Job
from mhi.members.models import Household, Person
from tests.cards.helpers import claim, make_household, pay, pdf_text
from tests.factories import login, make_scheme, make_user, records

F, T = date(2024, 2, 1), date(2024, 3, 31)
TODAY = date(2024, 4, 2)


def _run(session, scheme, **options) -> tuple[int, bytes]:
    run = make_run(F, T, include_claims=True, **options)
    return write_statement_run(session, scheme, run, languages=("en", "fr"), default_language="en", today=TODAY)


def pages(data: bytes) -> list[str]:
    """The text of each page."""
    reader = pypdf.PdfReader(io.BytesIO(data))
    return [page.extract_text().replace("\u202f", " ").replace("\xa0", " ") for page in reader.pages]


@pytest.fixture
def village(session):
    """Four households of Ndiagane (paid up, in arrears, never paid, French) and one of Pout; one left before
    the period."""
    scheme = make_scheme(session, name="Mutuelle de santé de Ndiagane")
    paid = make_household(session, scheme, "H-001", language="en")
    pay(session, paid, date(2024, 1, 5), "20000", number="R-1")
    late = make_household(session, scheme, "H-002", first_no=10, language="en")
    pay(session, late, date(2024, 1, 5), "1500", number="R-2")
    pay(session, late, date(2024, 2, 10), "1300", number="R-3")
    make_household(session, scheme, "H-003", first_no=20, language="en")
    french = make_household(session, scheme, "H-004", first_no=30, language="fr")
    pay(session, french, date(2024, 1, 5), "20000", number="R-4")
    pout = make_household(session, scheme, "P-001", first_no=40, village="Pout", language="en")
    pay(session, pout, date(2024, 1, 5), "1500", number="R-5")
    later = make_household(session, scheme, "H-005", first_no=50, enrolment=date(2024, 5, 1))  # after T
    patient = session.scalar(select(Person).where(Person.member_no == "M-00011"))
    claim(session, patient, "C-1", date(2024, 2, 15), "5000", "4000", "REDUCED")
    return scheme, later


def test_a_run_prints_every_selected_household_each_from_a_new_page_in_its_language(session, village):
    scheme, later = village
    count, data = _run(session, scheme)
    assert count == 5
    text = pdf_text(data)
    for ref in ("H-001", "H-002", "H-003", "H-004", "P-001"):
        assert f"— {ref} —" in text, ref  # its footer: the household's own pages
    assert "H-005" not in text  # enrolled after the period
    starts = [page for page in pages(data) if "Mutuelle de santé de Ndiagane\n" in page[:40]]
    assert len(starts) == 5  # every statement starts a page
    by_ref = {ref: next(p for p in starts if f"\n{ref}\n" in p) for ref in ("H-001", "H-002", "H-004")}
    assert "Household statement" in by_ref["H-001"] and "Relevé du ménage" in by_ref["H-004"]
    assert "C-1" in by_ref["H-002"] and "C-1" not in by_ref["H-001"]  # each household's own claims
    assert "Page 1" in by_ref["H-001"] and "Page 1" in by_ref["H-004"]  # numbered from each household's start
    # Village order (Ndiagane, then Pout), then reference.
    order = [ref for page in starts for ref in ("H-001", "H-002", "H-003", "H-004", "P-001") if f"\n{ref}\n" in page]
    assert order == ["H-001", "H-002", "H-003", "H-004", "P-001"]


def test_the_village_filter(session, village):
    scheme, _ = village
    count, data = _run(session, scheme, village="Pout")
    text = pdf_text(data)
    assert count == 1 and "P-001" in text and "H-001" not in text


def test_the_arrears_filter_selects_exactly_the_arrears_list(session, village):
    scheme, _ = village
    listed = [line.household_id for line in households_in_arrears(session, scheme, T)]
    chosen = run_household_ids(session, scheme, make_run(F, T, arrears=True))
    refs = session.execute(select(Household.id, Household.ref)).all()
    ref_of = dict(refs)
    assert chosen == listed
    assert "H-002" in {ref_of[i] for i in chosen} and "H-001" not in {ref_of[i] for i in chosen}
    assert len(chosen) < len(run_household_ids(session, scheme, make_run(F, T)))
    in_pout = run_household_ids(session, scheme, make_run(F, T, arrears=True, village="Pout"))
    assert in_pout == [line.household_id for line in households_in_arrears(session, scheme, T, village="Pout")]
    count, data = _run(session, scheme, arrears=True)
    text = pdf_text(data)
    assert count == len(listed) and all(f"— {ref_of[i]} —" in text for i in listed)
    assert "— H-001 —" not in text


def test_a_run_of_nobody_is_refused(session, village):
    scheme, _ = village
    with pytest.raises(statements.StatementRunError):
        _run(session, scheme, village="Nowhere")


@contextmanager
def counted_queries():
    """The number of SQL statements run inside the block."""
    seen = []

    def count(*_args, **_kwargs):
        seen.append(1)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


def test_the_queries_of_a_run_do_not_grow_with_its_households(session, monkeypatch):
    scheme = make_scheme(session)
    for n in range(50):
        household = make_household(session, scheme, f"H-{n:03d}", first_no=10 * n + 1, village="A" if n < 5 else "B")
        pay(session, household, date(2024, 1, 5), "2500", number=f"R-{n}")
    patient = session.scalar(select(Person).where(Person.member_no == "M-00012"))
    claim(session, patient, "C-1", date(2024, 2, 15), "5000", "4000", "REDUCED")
    session.expire_all()
    with counted_queries() as five:
        count, _ = _run(session, scheme, village="A")
    assert count == 5
    session.expire_all()
    with counted_queries() as fifty:
        count, _ = _run(session, scheme)
    assert count == 50
    assert len(fifty) == len(five), (len(five), len(fifty))
    # Batches of BATCH households: a smaller batch means more batches, hence more queries (the count is real).
    monkeypatch.setattr(statements, "BATCH", 10)
    session.expire_all()
    with counted_queries() as batched:
        _run(session, scheme)
    assert len(batched) > len(fifty)


# -- the page, the job, the download -------------------------------------------------------------------------


@pytest.fixture
def world(app):
    """The village scheme, another scheme, and users."""
    with records(app) as session:
        scheme = make_scheme(session, "MUT-A", name="Mutuelle de santé de Ndiagane")
        first = make_household(session, scheme, "H-001", language="en")
        pay(session, first, date(2024, 1, 5), "1500", number="R-1")
        make_household(session, scheme, "H-002", first_no=10, village="Pout", language="fr")
        patient = session.scalar(select(Person).where(Person.member_no == "M-00002"))
        claim(session, patient, "C-1", date(2024, 2, 15), "5000", "4000", "REDUCED")
        other = make_scheme(session, "MUT-B")
        users = {role: make_user(session, role, scheme=scheme) for role in ("clerk", "claims_officer", "funder")}
        users["other"] = make_user(session, "clerk", scheme=other)
    return {"users": users}


FORM = {"date_from": "2024-02-01", "date_to": "2024-03-31", "village": "", "decisions": "y"}


def test_a_run_from_the_form_to_the_pdf(app, client, world):
    login(client, world["users"]["claims_officer"])
    page = client.get("/schemes/MUT-A/statements")
    assert page.status_code == 200 and "Pout" in page.get_data(as_text=True)
    response = client.post("/schemes/MUT-A/statements", data=FORM)
    assert response.status_code == 302
    job_url = response.headers["Location"]  # the suite's queue is immediate: the job ran on commit
    html = client.get(job_url).get_data(as_text=True)
    assert "statements.pdf" in html
    with records(app) as session:
        job = session.scalars(select(Job)).one()
        assert (job.kind, job.state, job.progress, job.total, job.error) == (STATEMENT_JOB, "done", 2, 2, "")
        assert job.params["run"]["claims"] is True
    download = client.get(f"{job_url}/statements.pdf")
    assert download.status_code == 200 and download.mimetype == "application/pdf"
    text = pdf_text(download.data)
    assert "H-001" in text and "H-002" in text and "Relevé du ménage" in text and "C-1" in text
    assert f"/statements/{job.id}" in client.get("/schemes/MUT-A/statements").get_data(as_text=True)


def test_a_run_with_claims_is_hidden_from_readers_without_claims_access(app, client, world):
    login(client, world["users"]["claims_officer"])
    job_url = client.post("/schemes/MUT-A/statements", data=FORM).headers["Location"]
    client = app.test_client()
    login(client, world["users"]["clerk"])
    assert client.get(job_url).status_code == 404
    assert client.get(f"{job_url}/statements.pdf").status_code == 404
    assert job_url not in client.get("/schemes/MUT-A/statements").get_data(as_text=True)
    own = client.post("/schemes/MUT-A/statements", data=FORM).headers["Location"]  # the clerk's: no claims
    text = pdf_text(client.get(f"{own}/statements.pdf").data)
    assert "H-001" in text and "C-1" not in text and "Claims are shown only to claims staff." in text
    client = app.test_client()
    login(client, world["users"]["other"])
    assert client.get(own).status_code == 404  # another scheme's user


def test_run_form_errors_create_no_job(app, client, world):
    login(client, world["users"]["clerk"])
    wrong = client.post("/schemes/MUT-A/statements", data=dict(FORM, date_from="2024-04-01"))
    assert wrong.status_code == 200 and "The end comes before the start." in wrong.get_data(as_text=True)
    nobody = client.post("/schemes/MUT-A/statements", data=dict(FORM, date_to="2023-01-31", date_from="2023-01-01"))
    assert nobody.status_code == 200 and "No household in this selection" in nobody.get_data(as_text=True)
    with records(app) as session:
        assert session.scalars(select(Job)).all() == []


def test_runs_need_register_read(client, world):
    login(client, world["users"]["funder"])
    assert client.get("/schemes/MUT-A/statements").status_code == 403


def test_the_register_links_to_the_runs(client, world):
    login(client, world["users"]["clerk"])
    html = client.get("/schemes/MUT-A/lists/arrears").get_data(as_text=True)
    assert "/schemes/MUT-A/statements" in html
    assert "/schemes/MUT-A/statements?arrears=y" in html  # "print their statements"
    form = client.get("/schemes/MUT-A/statements?arrears=y&to=2024-03-31&village=Pout").get_data(as_text=True)
    assert 'value="2024-03-31"' in form and 'value="2024-01-01"' in form
    tag = next(t for t in form.split("<input")[1:] if 'name="arrears"' in t.split(">", 1)[0]).split(">", 1)[0]
    assert "checked" in tag
    assert client.get("/schemes/MUT-A/statements?to=2024-02-30").status_code == 200  # a bad day: today
    menu = client.get("/schemes/MUT-A").get_data(as_text=True)  # the scheme's menu
    assert 'href="/schemes/MUT-A/statements"' in menu


# -- the command line ----------------------------------------------------------------------------------------


def test_statements_command(runner, world, tmp_path):
    out = tmp_path / "run.pdf"
    args = ["statements", "--scheme", "MUT-A", "--from", "2024-02-01", "--to", "2024-03-31", "--out", str(out)]
    result = runner.invoke(args=args)
    assert result.exit_code == 0, result.output
    text = pdf_text(out.read_bytes())
    assert "H-001" in text and "H-002" in text and "C-1" in text
    assert runner.invoke(args=[*args, "--village", "Pout", "--no-decisions"]).exit_code == 0
    assert "H-001" not in pdf_text(out.read_bytes())
    assert runner.invoke(args=[*args, "--arrears"]).exit_code == 0
    text = pdf_text(out.read_bytes())
    assert "— H-001 —" in text


@pytest.mark.parametrize(
    ("extra", "code"),
    [
        (["--village", "Nowhere"], 1),
        (["--scheme", "NO-SUCH"], 1),
        (["--to", "2024-01-01"], 2),
        (["--from", "2024-02-30"], 2),
    ],
)
def test_statements_command_refusals_write_nothing(runner, world, tmp_path, extra, code):
    out = tmp_path / "run.pdf"
    args = ["statements", "--scheme", "MUT-A", "--from", "2024-02-01", "--to", "2024-03-31", "--out", str(out)]
    result = runner.invoke(args=[*args, *extra])
    assert result.exit_code == code, result.output
    assert not out.exists()
