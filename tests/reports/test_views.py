"""Report screens: access, the dashboard, downloads, the federation view (figures only, never a claim)."""

from __future__ import annotations

import csv
import io
import json

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from mhi.core.db import db
from mhi.reports import indicators as ind
from mhi.reports import services
from tests.factories import login, make_user
from tests.pages import has_inline_script, without_tokens
from tests.reports import builders
from tests.reports.builders import F, T

QUERY = "kind=range&from=2025-01-01&to=2025-06-30"


@pytest.fixture
def setup(app, session):
    federation = builders.make_federation(session, "UMT")
    scheme_a = builders.build_hand_scheme(session, "MUT-A", federation="UMT")
    scheme_b = builders.build_hand_scheme(session, "MUT-B", federation="UMT")
    session.refresh(federation)
    users = {
        "manager": make_user(session, "scheme_manager", scheme=scheme_a),
        "other_manager": make_user(session, "scheme_manager", scheme=scheme_b),
        "clerk": make_user(session, "clerk", scheme=scheme_a),
        "reviewer": make_user(session, "federation_reviewer", federation=federation),
    }
    return federation, scheme_a, scheme_b, users


def _text(pdf_bytes: bytes) -> str:
    reader = PdfReader(io.BytesIO(pdf_bytes))
    text = "".join(page.extract_text() for page in reader.pages)
    return "".join(text.split()).replace("\u202f", "").replace("\xa0", "").replace(",", "")


def test_dashboard_shows_every_indicator_and_light(client, setup):
    _, _, _, users = setup
    login(client, users["manager"])
    response = client.get(f"/schemes/MUT-A/indicators?{QUERY}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    for label in ("Collection rate", "Reserves in months of claims", "Cases per 1,000 person-years"):
        assert label in page
    assert "light-red" in page and "light-green" in page
    assert "<svg" not in page, "the 24-month trend is a page of its own, not computed for the dashboard"
    assert f"/schemes/MUT-A/indicators/trend?{QUERY}" in page.replace("&amp;", "&")
    assert not has_inline_script(page) and "style=" not in page  # CSP: no inline script or style
    trend = client.get(f"/schemes/MUT-A/indicators/trend?{QUERY}").get_data(as_text=True)
    assert trend.count("<svg") >= 4  # the four trend charts
    assert not has_inline_script(trend) and "style=" not in trend


@pytest.mark.parametrize("kind,value", [("year", "2025"), ("quarter", "2025-Q2"), ("month", "2025-03")])
def test_dashboard_periods(client, setup, kind, value):
    login(client, setup[3]["manager"])
    assert client.get(f"/schemes/MUT-A/indicators?kind={kind}&value={value}").status_code == 200


def test_bad_period_is_400(client, setup):
    login(client, setup[3]["manager"])
    assert client.get("/schemes/MUT-A/indicators?kind=quarter&value=2025-Q5").status_code == 400


def test_access(client, setup):
    _, _, _, users = setup
    login(client, users["clerk"])
    assert client.get(f"/schemes/MUT-A/indicators?{QUERY}").status_code == 403
    client.post("/logout")
    login(client, users["other_manager"])
    assert client.get(f"/schemes/MUT-A/indicators?{QUERY}").status_code == 404
    assert client.get(f"/federations/UMT/report?{QUERY}").status_code == 403


def test_json_csv_and_pdf(client, setup, session):
    _, scheme_a, _, users = setup
    login(client, users["manager"])
    document = client.get(f"/schemes/MUT-A/indicators.json?{QUERY}").get_json()
    assert document == json.loads(json.dumps(ind.to_json(ind.scheme_indicators(db.session, scheme_a, F, T))))
    indicators_csv = client.get(f"/schemes/MUT-A/indicators/indicators.csv?{QUERY}")
    assert indicators_csv.data.startswith("\ufeff".encode()), "a byte-order mark, for Excel"
    rows = list(csv.DictReader(io.StringIO(indicators_csv.data.decode("utf-8-sig"))))
    assert {"Indicator": "Contributions earned", "Value": "17852", "Light": "", "Key": "contributions_earned"} in rows
    benefits = client.get(f"/schemes/MUT-A/indicators/benefits.csv?{QUERY}").data.decode("utf-8-sig")
    assert benefits.splitlines()[0] == "Benefit,Cases,Amount,Average cost,Use per 1000 beneficiaries"
    trend = client.get(f"/schemes/MUT-A/indicators/trend.csv?{QUERY}").data.decode("utf-8-sig").splitlines()
    assert len(trend) == 25 and trend[-1].startswith("2025-06,6,")
    workbook = client.get(f"/schemes/MUT-A/indicators/all.xlsx?{QUERY}")
    assert workbook.mimetype.endswith("spreadsheetml.sheet")
    sheets = load_workbook(io.BytesIO(workbook.data), read_only=True)
    assert sheets.sheetnames == ["Indicators", "Benefits", "Trend"]
    values = {row[3]: row[1] for row in sheets["Indicators"].iter_rows(min_row=2, values_only=True)}
    assert values["contributions_earned"] == 17852 and isinstance(values["contributions_earned"], int | float)
    assert client.get(f"/schemes/MUT-A/indicators/all.csv?{QUERY}").status_code == 404
    assert client.get(f"/schemes/MUT-A/indicators/other.csv?{QUERY}").status_code == 404
    response = client.get(f"/schemes/MUT-A/indicators.pdf?{QUERY}")
    assert response.mimetype == "application/pdf"
    text = _text(response.data)
    assert "17852" in text and "66500" in text  # earned, incurred
    # Per benefit: the benefit's name from the product, its code beside it (issue 16).
    assert "Consultation(OPD)" in text  # (_text drops the spaces)


def test_federation_view_sorted_red_first_and_no_claims(client, setup, session):
    federation, _, scheme_b, users = setup
    # MUT-B gets a better collection rate than MUT-A.
    h7 = builders.add_household(session, scheme_b, "H7", F, [("head", F, None)])
    builders.pay(session, h7, F, 13000)
    session.commit()
    from mhi.contributions.services import refresh_households

    refresh_households(session, scheme_b)
    session.commit()
    login(client, users["reviewer"])
    response = client.get(f"/federations/UMT/report?{QUERY}&sort=collection_rate&order=desc")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Total" in page
    shown = without_tokens(page)
    assert "C3" not in shown and "H1-1" not in shown  # no claim, no member number
    report = ind.federation_indicators(db.session, db.session.merge(federation), F, T)
    first, second = (s.code for s in services.sort_schemes(report.schemes, "collection_rate", True))
    assert page.index(f">{first}") < page.index(f">{second}")
    assert (
        client.get(f"/federations/UMT/report.json?{QUERY}").get_json()["total"]["indicators"]["claims_incurred"]
        == "133000"
    )
    text = _text(client.get(f"/federations/UMT/report.pdf?{QUERY}").data)
    assert "133000" in text
    assert (
        client.get(f"/federations/UMT/report/indicators.csv?{QUERY}")
        .data.decode("utf-8-sig")
        .startswith("Indicator,MUT-A,MUT-B,Total,Key")
    )
    both = load_workbook(io.BytesIO(client.get(f"/federations/UMT/report/all.xlsx?{QUERY}").data), read_only=True)
    assert both.sheetnames == ["Federation", "Benefits"]
    # The reviewer sees the schemes' dashboards too (figures.read), never their claims.
    assert client.get(f"/schemes/MUT-A/indicators?{QUERY}").status_code == 200


def test_sort_puts_red_schemes_first():
    class Report:
        def __init__(self, code, reds, rate):
            self.code = code
            self.thresholds = {f"k{i}": "red" for i in range(reds)}
            self.indicators = {"collection_rate": rate}

    reports = [Report("A", 0, 0.9), Report("B", 2, 0.5), Report("C", 0, None), Report("D", 1, 0.95)]
    assert [r.code for r in services.sort_schemes(reports, "collection_rate", True)] == ["B", "D", "A", "C"]
    assert [r.code for r in services.sort_schemes(reports, "collection_rate", False)] == ["B", "D", "A", "C"]
    assert [r.code for r in services.sort_schemes(reports, "", False)] == ["B", "D", "A", "C"]


def test_a_report_page_keeps_the_ledgers_it_built(app, client, setup):
    """The report ledgers are derived data built by the first report: a GET must keep them (commit), or every
    later report would build them again."""
    from sqlalchemy import func, select

    from mhi.reports.models import ReportHousehold

    _, _, _, users = setup
    login(client, users["manager"])
    assert client.get(f"/schemes/MUT-A/indicators?{QUERY}").status_code == 200
    with app.app_context():  # a session of its own: sees only what was committed
        assert db.session.scalar(select(func.count()).select_from(ReportHousehold)) > 0
