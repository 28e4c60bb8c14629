"""The year-end pack (issue 16): every figure ties out with the monitoring indicators of the ndiagane example,
the balance sheet balances and the year's result is the change in reserves — before and after the pool."""

from __future__ import annotations

import io
import json
from datetime import date
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import select

from mhi.core.jobs import Job
from mhi.reports import yearend
from mhi.reports.documents import YEAR_END_JOB
from mhi.schemes.models import Scheme
from tests.conftest import EXAMPLES
from tests.factories import login, make_user, records
from tests.replay.machinery import run

SCHEMES = ("MUT-NDIAGANE", "MUT-POUT")
IMPORTS = ("members", "contributions", "subsidy-receipts", "claims", "expenses")
TODAY = date(2026, 6, 30)


def _load(runner) -> None:
    """examples/README.md's loading sequence for the ndiagane federation (tests/replay/machinery.py's steps)."""
    example = EXAMPLES / "ndiagane"
    run(runner, "federation", "load", str(example / "federation.json"))
    for scheme in SCHEMES:
        folder = example / scheme
        run(runner, "scheme", "load", str(folder / "scheme.json"))
        for what in IMPORTS:
            run(runner, "import", what, "--scheme", scheme, str(folder / f"{what.replace('-', '_')}.csv"))


def _expected(code: str) -> dict:
    path = EXAMPLES / "ndiagane-expected" / code / "indicators.json"
    return json.loads(path.read_text(encoding="utf-8"))["indicators"]


def _amounts(lines) -> dict[str, Decimal]:
    return {line.key: line.amount for line in lines}


def _check_ties(pack: yearend.YearEnd) -> None:
    """The balance sheet balances and the result is the change in reserves."""
    assert pack.total_assets == pack.total_liabilities + pack.reserves_end
    assert pack.reserves_end - pack.reserves_start == pack.result_after_pool


@pytest.fixture
def loaded(app, runner, session):
    _load(runner)
    return {code: session.scalar(select(Scheme).where(Scheme.code == code)) for code in SCHEMES}


def test_ndiagane_income_statement_is_the_indicators(loaded, session):
    for code in SCHEMES:
        expected = _expected(code)
        pack = yearend.year_end(session, loaded[code], 2025, TODAY)
        income = _amounts(pack.income)
        assert income["member_contributions_earned"] == Decimal(expected["member_contributions_earned"])
        assert income["member_contributions_earned"] + income["subsidy_contributions_earned"] == Decimal(
            expected["contributions_earned"]
        )
        assert income["registration_fees"] == Decimal(expected["registration_fees"])
        assert pack.claims_incurred == Decimal(expected["claims_incurred"])
        assert pack.total_expenses == Decimal(expected["admin_expenses"])
        earlier = income.get("earlier_contributions", Decimal(0))
        assert pack.result_before_pool == Decimal(expected["net_result"]) + earlier
        balance = _amounts(pack.liabilities)
        assert balance["claims_outstanding"] == Decimal(expected["claims_outstanding"])
        assert _amounts(pack.assets)["cash"] == Decimal(expected["cash"])  # no closed pool settlement yet
        assert pack.reserves_end == Decimal(expected["reserves"])
        assert not pack.pool
        _check_ties(pack)


def test_every_year_ties_out(loaded, session):
    for code in SCHEMES:
        for year in (2024, 2025, 2026):
            _check_ties(yearend.year_end(session, loaded[code], year, TODAY))
    # Consecutive years chain: this year's opening reserves are last year's closing reserves.
    packs = [yearend.year_end(session, loaded["MUT-POUT"], year, TODAY) for year in (2024, 2025)]
    assert packs[1].reserves_start == packs[0].reserves_end


def test_a_closed_pool_settlement_moves_the_result_and_is_due_from_the_pool(loaded, runner, session):
    run(runner, "pool", "settle", "--federation", "UMT", "--from", "2025-01-01", "--to", "2025-12-31", "--close")
    pool = json.loads((EXAMPLES / "ndiagane-expected" / "pool.json").read_text(encoding="utf-8"))
    for code in SCHEMES:
        line = pool["schemes"][code]
        pack = yearend.year_end(session, loaded[code], 2025, TODAY)
        flows = _amounts(pack.pool)
        assert flows["pool_contributions"] == -Decimal(line["pool_contribution"])
        assert flows["pool_recoveries"] == Decimal(line["paid"])
        assert pack.result_after_pool == pack.result_before_pool + Decimal(line["net_effect"])
        # Closed after the year end (today): the net effect is owed by the pool at 31 December.
        owed = _amounts(pack.assets).get("due_from_pool") or -_amounts(pack.liabilities)["due_from_pool"]
        assert owed == Decimal(line["net_effect"])
        _check_ties(pack)
        _check_ties(yearend.year_end(session, loaded[code], 2026, TODAY))


def test_year_out_of_range_is_refused(loaded, session):
    with pytest.raises(yearend.YearError):
        yearend.year_end(session, loaded["MUT-POUT"], 2019, TODAY)
    with pytest.raises(yearend.YearError):
        yearend.year_end(session, loaded["MUT-POUT"], 2999, TODAY)


def test_page_and_documents_job(app, client, loaded, session):
    user = make_user(session, "scheme_manager", scheme=loaded["MUT-NDIAGANE"])
    session.commit()
    login(client, user)
    page = client.get("/schemes/MUT-NDIAGANE/year-end?year=2025")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "/schemes/MUT-NDIAGANE/indicators" in html and "/schemes/MUT-NDIAGANE/year-end/documents" in html
    assert "year-end.pdf" not in html  # the documents are a job now (docs/decisions.md)
    indicators = client.get("/schemes/MUT-NDIAGANE/indicators?kind=year&value=2025").get_data(as_text=True)
    assert "/schemes/MUT-NDIAGANE/year-end?year=2025" in indicators
    assert client.get("/schemes/MUT-NDIAGANE/year-end?year=abcd").status_code == 400
    assert client.get("/schemes/MUT-NDIAGANE/year-end?year=1990").status_code == 400
    assert client.get("/schemes/MUT-POUT/year-end?year=2025").status_code == 404  # another scheme
    assert client.get("/schemes/MUT-NDIAGANE/year-end.pdf?year=2025").status_code == 404  # the old direct route

    listing = client.get("/schemes/MUT-NDIAGANE/year-end/documents?year=2025")
    assert listing.status_code == 200 and "No document prepared yet." in listing.get_data(as_text=True)
    response = client.post("/schemes/MUT-NDIAGANE/year-end/documents", data={"year": "2025"})
    assert response.status_code == 302
    job_url = response.headers["Location"]  # the suite's queue is immediate: the job ran on commit
    with records(app) as check:
        job = check.scalars(select(Job)).one()
        assert (job.kind, job.state, job.progress, job.total, job.error) == (YEAR_END_JOB, "done", 3, 3, "")
        assert job.params["year"] == 2025 and job.created_by_id == user.id
    job_page = client.get(job_url)
    assert job_page.status_code == 200 and "Refresh" not in job_page.headers
    assert f"{job_url}/year-end.pdf" in job_page.get_data(as_text=True)
    assert job_url in client.get("/schemes/MUT-NDIAGANE/year-end/documents").get_data(as_text=True)

    response = client.get(f"{job_url}/year-end.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert 'filename="MUT-NDIAGANE-year-end-2025.pdf"' in response.headers["Content-Disposition"]
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(response.data)).pages)
    flat = "".join(text.split()).replace("\u202f", "").replace("\xa0", "").replace(",", "")
    assert "1176430" in flat  # claims incurred
    response = client.get(f"{job_url}/year-end.xlsx")
    assert response.status_code == 200
    workbook = load_workbook(io.BytesIO(response.data))
    assert len(workbook.sheetnames) == 2
    values = [row[1] for row in workbook.worksheets[0].iter_rows(min_row=2, values_only=True)]
    assert -1176430 in values

    # Out of range, or another scheme's job: refused, nothing made.
    refused = client.post("/schemes/MUT-NDIAGANE/year-end/documents", data={"year": "1990"})
    assert refused.status_code == 200
    with records(app) as check:
        assert len(check.scalars(select(Job)).all()) == 1
    assert client.get(job_url.replace("MUT-NDIAGANE", "MUT-POUT")).status_code == 404


def test_year_end_documents_in_french_for_a_french_reader(app, client, loaded, session):
    user = make_user(session, "auditor", scheme=loaded["MUT-POUT"])
    user.locale = "fr"
    session.commit()
    login(client, user)
    job_url = client.post("/schemes/MUT-POUT/year-end/documents", data={"year": "2025"}).headers["Location"]
    response = client.get(f"{job_url}/year-end.pdf")
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(response.data)).pages)
    assert "Comptes de l'exercice 2025" in text and "Compte de résultat" in text, text[:300]


def test_year_end_documents_need_figures_read(app, client, loaded, session):
    user = make_user(session, "clerk", scheme=loaded["MUT-POUT"])
    session.commit()
    login(client, user)
    assert client.get("/schemes/MUT-POUT/year-end/documents").status_code == 403
    assert client.post("/schemes/MUT-POUT/year-end/documents", data={"year": "2025"}).status_code == 403


def test_cli_writes_pdf_and_xlsx(loaded, runner, tmp_path):
    out = tmp_path / "pack.pdf"
    run(runner, "report", "year-end", "--scheme", "MUT-POUT", "--year", "2025", "--format", "pdf", "--out", str(out))
    assert out.read_bytes().startswith(b"%PDF")
    out = tmp_path / "pack.xlsx"
    run(runner, "report", "year-end", "--scheme", "MUT-POUT", "--year", "2025", "--format", "xlsx", "--out", str(out))
    assert load_workbook(out).sheetnames
    result = runner.invoke(
        args=["report", "year-end", "--scheme", "NOPE", "--year", "2025", "--format", "pdf", "--out", str(out)]
    )
    assert result.exit_code == 1
