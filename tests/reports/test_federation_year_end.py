"""A federation's year-end view (issue 16): the ndiagane schemes' year-end packs side by side, each column the
scheme's own pack, each total the sum of the columns; the screen, the workbook, the access of each role, and the
refusal of schemes in different currencies."""

from __future__ import annotations

import io
import json
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from mhi.core import clock
from mhi.reports import federation_yearend, yearend
from mhi.reports import indicators as ind
from mhi.schemes.models import Federation
from tests.conftest import EXAMPLES
from tests.factories import login, make_federation, make_scheme, make_user
from tests.replay.machinery import run
from tests.reports.test_year_end import SCHEMES, TODAY, _load


@pytest.fixture
def umt(app, runner, session):
    _load(runner)
    return session.scalar(select(Federation).where(Federation.code == "UMT"))


def _check_sums(report: federation_yearend.FederationYearEnd) -> None:
    """Every row's total is the sum of its scheme columns; each column is the scheme's own pack."""
    assert [scheme.code for scheme in report.schemes] == list(SCHEMES)
    for rows, own in ((report.income, yearend.income_rows), (report.balance, yearend.balance_rows)):
        for row in rows:
            if row.kind == "heading":
                continue
            assert row.total == sum((amount for amount in row.amounts if amount is not None), Decimal(0)), row.key
        for column, pack in enumerate(report.packs):
            printed = {row.key: row.amount for row in own(pack) if row.kind != "heading"}
            assert {row.key: row.amounts[column] for row in rows if row.amounts[column] is not None} == printed
    totals = {row.key: row.total for row in report.income + report.balance}
    income_lines = sum(row.total for row in report.income if row.key.startswith("income."))
    assert totals["total_income"] == income_lines
    assert totals["total_assets"] == totals["total_liabilities_and_reserves"]  # each scheme balances, so does the sum


def test_the_total_is_the_sum_of_the_schemes(umt, session):
    for year in (2024, 2025, 2026):
        _check_sums(federation_yearend.federation_year_end(session, umt, year, TODAY))
    report = federation_yearend.federation_year_end(session, umt, 2025, TODAY)
    claims = next(row for row in report.income if row.key == "claims_incurred")
    expected = [
        json.loads((EXAMPLES / "ndiagane-expected" / code / "indicators.json").read_text(encoding="utf-8"))
        for code in SCHEMES
    ]
    assert claims.amounts == tuple(-Decimal(e["indicators"]["claims_incurred"]) for e in expected)
    assert claims.total == -sum(Decimal(e["indicators"]["claims_incurred"]) for e in expected)


def test_after_a_pool_settlement_the_sums_still_hold(umt, runner, session):
    run(runner, "pool", "settle", "--federation", "UMT", "--from", "2025-01-01", "--to", "2025-12-31", "--close")
    report = federation_yearend.federation_year_end(session, umt, 2025, TODAY)
    _check_sums(report)
    assert any(row.key.startswith("pool.") for row in report.income)


def test_a_line_one_scheme_lacks_is_blank_in_its_column():
    """Rows line up by key; a key only one scheme has sits after the row it follows there, blank elsewhere."""
    a = [yearend.Row("heading", "I", key="income"), yearend.Row("line", "x", Decimal(1), "x"),
         yearend.Row("total", "T", Decimal(1), "t")]  # fmt: skip
    b = [yearend.Row("heading", "I", key="income"), yearend.Row("line", "y", Decimal(5), "y"),
         yearend.Row("line", "x", Decimal(2), "x"), yearend.Row("total", "T", Decimal(7), "t")]  # fmt: skip
    rows = federation_yearend.side_by_side([a, b])
    assert [(row.key, row.amounts, row.total) for row in rows] == [
        ("income", (None, None), None),
        ("y", (None, Decimal(5)), Decimal(5)),
        ("x", (Decimal(1), Decimal(2)), Decimal(3)),
        ("t", (Decimal(1), Decimal(7)), Decimal(8)),
    ]


def test_year_out_of_range_and_mixed_currencies_are_refused(umt, session):
    with pytest.raises(yearend.YearError):
        federation_yearend.federation_year_end(session, umt, 2019, TODAY)
    mixed = make_federation(session, "MIX")
    make_scheme(session, "MUT-X", federation=mixed)
    make_scheme(session, "MUT-I", federation=mixed, currency="INR", country="IN")
    session.refresh(mixed)
    with pytest.raises(ind.MixedCurrencies):
        federation_yearend.federation_year_end(session, mixed, 2025, TODAY)


def test_page_and_workbook_and_who_sees_them(app, umt, session):
    reviewer = make_user(session, "federation_reviewer", federation=umt)
    other_federation = make_federation(session, "OTHER")
    stranger = make_user(session, "federation_reviewer", federation=other_federation)
    manager = make_user(session, "scheme_manager", scheme=umt.schemes[0])
    clerk = make_user(session, "clerk", scheme=umt.schemes[0])
    french = make_user(session, "federation_reviewer", federation=umt, locale="fr")
    mixed = make_federation(session, "MIX")
    make_scheme(session, "MUT-X", federation=mixed)
    make_scheme(session, "MUT-I", federation=mixed, currency="INR", country="IN")
    mixed_reviewer = make_user(session, "federation_reviewer", federation=mixed)
    session.commit()

    def client_of(user):
        client = app.test_client()
        login(client, user)
        return client

    client = client_of(reviewer)
    page = client.get("/federations/UMT/year-end?year=2025")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for code in SCHEMES:  # each column links to the scheme's own page, never to its PDF or workbook
        assert f'href="/schemes/{code}/year-end?year=2025"' in html
        assert f"/schemes/{code}/year-end.pdf" not in html and f"/schemes/{code}/year-end.xlsx" not in html
    assert "Federation total" in html and "/federations/UMT/year-end.xlsx?year=2025" in html
    assert "/federations/UMT/year-end.pdf?year=2025" in html
    assert "Diop" not in html and "H-0" not in html  # figures only: no member's name or household
    assert client.get(f"/schemes/{SCHEMES[0]}/year-end?year=2025").status_code == 200  # the linked page opens
    assert client.get("/federations/UMT/year-end?year=abcd").status_code == 400
    assert client.get("/federations/UMT/year-end?year=1990").status_code == 400
    assert client.get("/federations/UMT/year-end").status_code == 200  # last year by default
    assert "/federations/UMT/year-end" in client.get("/federations/UMT/report").get_data(as_text=True)

    response = client.get("/federations/UMT/year-end.xlsx?year=2025")
    assert response.status_code == 200
    workbook = load_workbook(io.BytesIO(response.data))
    sheet = workbook.worksheets[0]
    header = next(sheet.iter_rows(max_row=1, values_only=True))
    assert list(header[1:]) == [*SCHEMES, "Federation total"]
    report = federation_yearend.federation_year_end(session, umt, 2025, clock.today())
    claims = next(row for row in report.income if row.key == "claims_incurred")
    sheet_claims = next(row for row in sheet.iter_rows(min_row=2, values_only=True) if row[0] == "Claims incurred")
    assert [Decimal(str(value)) for value in sheet_claims[1:]] == [*claims.amounts, claims.total]
    for row in sheet.iter_rows(min_row=2, values_only=True):
        if all(value is not None for value in row[1:]):
            assert Decimal(str(row[-1])) == sum(Decimal(str(value)) for value in row[1:-1]), row[0]

    assert client_of(stranger).get("/federations/UMT/year-end?year=2025").status_code == 404
    for user in (manager, clerk):
        assert client_of(user).get("/federations/UMT/year-end?year=2025").status_code == 403
        assert client_of(user).get("/federations/UMT/year-end.xlsx?year=2025").status_code == 403
        assert client_of(user).get("/federations/UMT/year-end.pdf?year=2025").status_code == 403
    assert client_of(stranger).get("/federations/UMT/year-end.pdf?year=2025").status_code == 404
    assert client_of(mixed_reviewer).get("/federations/MIX/year-end.pdf?year=2025").status_code == 409
    refused = client_of(mixed_reviewer).get("/federations/MIX/year-end?year=2025")
    assert refused.status_code == 409 and "different currencies" in refused.get_data(as_text=True)
    french_page = client_of(french).get("/federations/UMT/year-end?year=2025").get_data(as_text=True)
    assert "Total de la fédération" in french_page and "Compte de résultat" in french_page


def test_the_pdf_has_every_scheme_and_the_total_and_prints_clean_in_french(app, umt, session):
    """The PDF for the general assembly: a column per scheme and the total, the same amounts as the screen, in
    French without a header cell printed over its neighbour or a word cut in two; figures only."""
    from flask_babel import force_locale

    from tests.core.test_pdf_layout import _assert_nothing_overlaps, _assert_whole_words, _fragments

    french = make_user(session, "federation_reviewer", federation=umt, locale="fr")
    session.commit()
    client = app.test_client()
    login(client, french)
    response = client.get("/federations/UMT/year-end.pdf?year=2025")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert client.get("/federations/UMT/year-end.pdf?year=abcd").status_code == 400
    _assert_nothing_overlaps(response.data)
    text = " ".join(piece[4] for piece in _fragments(response.data))
    assert "Compte de résultat" in text and "Total de la fédération" in text
    for code in SCHEMES:
        assert code in text
    assert "Diop" not in text and "H-0" not in text
    report = federation_yearend.federation_year_end(session, umt, 2025, clock.today())
    with app.test_request_context(), force_locale("fr"):
        labels = [str(row.label) for row in report.income + report.balance if row.kind == "line"]
    _assert_whole_words(response.data, labels)
