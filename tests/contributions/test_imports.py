"""contributions.csv, subsidy_receipts.csv and expenses.csv through the import commands, and core/tabular."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from mhi.contributions.models import CoverageSpan, Receipt
from mhi.core.tabular import read_table, safe_cell, write_csv
from mhi.core.validation import InputRejected
from mhi.members.models import Household
from tests.members.helpers import counts, enrol, scheme_with_programme, write

RECEIPTS = "receipt_no,household_ref,date,amount,method,collector\n"


@pytest.fixture
def scheme(session):
    scheme = scheme_with_programme(session)
    enrol(session, scheme, "H-1")
    enrol(session, scheme, "H-2")
    return scheme


def run(runner, kind, path, *extra):
    return runner.invoke(args=["import", kind, "--scheme", "MUT-A", str(path), *extra])


def test_contributions_import_refreshes_coverage(runner, session, scheme, tmp_path):
    text = RECEIPTS + "RC-1,H-1,2025-01-10,1600,,Awa\nRC-2,H-2,2025-01-12,1000,mobile_money,\n"
    result = run(runner, "contributions", write(tmp_path, "contributions.csv", text), "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == {"added": 2, "unchanged": 0}
    assert result.stderr.strip() == "contributions: 2 added, 0 unchanged"
    h1 = session.scalar(select(Household).where(Household.ref == "H-1"))
    spans = session.execute(select(CoverageSpan.start, CoverageSpan.end).where(CoverageSpan.household_id == h1.id))
    assert [tuple(s) for s in spans][0][0].isoformat() == "2025-01-10"
    assert session.scalar(select(Receipt.method).where(Receipt.receipt_no == "RC-1")) == "cash"
    again = run(runner, "contributions", write(tmp_path, "contributions.csv", text), "--format", "json")
    assert json.loads(again.stdout) == {"added": 0, "unchanged": 2}


def test_contributions_errors_write_nothing(runner, session, scheme, tmp_path):
    assert (
        run(runner, "contributions", write(tmp_path, "a.csv", RECEIPTS + "RC-1,H-1,2025-01-10,1600,,\n")).exit_code == 0
    )
    before = counts(session)
    text = RECEIPTS + (
        "RC-2,H-1,2025-01-10,1600,,\n"
        "RC-1,H-1,2025-01-11,1600,,\n"  # stored with another date: conflict
        "RC-3,H-9,2025-01-10,100,,\n"
        "RC-4,H-1,2025-01-10,-5,,\n"
        "RC-5,H-1,2025-01-10,12.5,,\n"
        "RC-6,H-1,2025-13-01,100,cheque,\n"
        "RC-2,H-1,2025-01-10,1600,,\n"
    )
    result = run(runner, "contributions", write(tmp_path, "b.csv", text))
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    for expected in (
        "b.csv, row 2, date: conflict: RC-1 is stored with date 2025-01-10, the file says 2025-01-11",
        "b.csv, row 3, household_ref: household H-9 is not in the register (import members first)",
        "b.csv, row 4, amount: -5 must be more than 0",
        "b.csv, row 5, amount: 12.5 has more decimals than XOF allows (0)",
        "b.csv, row 6, date: 2025-13-01 is not a date (expected YYYY-MM-DD)",
        "b.csv, row 6, method: 'cheque' is not a valid payment method (one of cash, mobile_money, bank)",
        "b.csv, row 7, receipt_no: RC-2 already appears in row 1 (receipt_no is unique)",
    ):
        assert expected in lines, result.stderr
    assert counts(session) == before


def test_subsidy_receipts_and_expenses(runner, session, scheme, tmp_path):
    text = "reference,programme_code,date,amount\nOV_2025.001,CMU-IND,2025-02-01,5000\n"
    result = run(runner, "subsidy-receipts", write(tmp_path, "s.csv", text), "--format", "json")
    assert json.loads(result.stdout) == {"added": 1, "unchanged": 0}
    bad = text + "OV_2025.002,ONG,2025-02-01,5000\n"
    result = run(runner, "subsidy-receipts", write(tmp_path, "s2.csv", bad))
    assert "s2.csv, row 2, programme_code: ONG is not a subsidy programme of this scheme" in result.stderr
    expenses = "reference,date,category,amount,description\nPC_1,2025-01-31,staff,12000,=HYPERLINK(1)\nPC_2,2025-02-01,printing,500,\n"
    result = run(runner, "expenses", write(tmp_path, "e.csv", expenses), "--format", "json")
    assert json.loads(result.stdout) == {"added": 2, "unchanged": 0}
    result = run(runner, "expenses", write(tmp_path, "e.csv", expenses.replace("staff", "food")))
    assert result.exit_code == 1
    assert "e.csv, row 1, category: 'food' is not a valid expense category" in result.stderr
    result = run(runner, "expenses", write(tmp_path, "e.csv", expenses.replace("12000", "12001")))
    assert "e.csv, row 1, amount: conflict: PC_1 is stored with amount 12000, the file says 12001" in result.stderr


def test_unknown_scheme_and_unreadable_files(runner, session, scheme, tmp_path):
    result = runner.invoke(
        args=["import", "contributions", "--scheme", "NOPE", str(write(tmp_path, "c.csv", RECEIPTS))]
    )
    assert result.exit_code == 1 and "scheme NOPE is not loaded" in result.stderr
    path = tmp_path / "latin1.csv"
    path.write_bytes(RECEIPTS.encode() + "RC-1,H-1,2025-01-10,100,,Seydou Ndiayé\n".encode("latin-1"))
    result = run(runner, "contributions", path)
    assert result.exit_code == 1 and "is not UTF-8 text" in result.stderr


def test_tabular_reading():
    table = read_table(b"\xef\xbb\xbfa, b ,c\n1,,3\n\n4,5\n\n", "x.csv")
    assert table.header == ["a", "b", "c"]
    assert table.rows == [["1", None, "3"], [None, None, None], ["4", "5", None]]
    with pytest.raises(InputRejected, match="row 1: has 4 cells"):
        read_table(b"a,b\n1,2,3,4\n", "x.csv")
    with pytest.raises(InputRejected, match="is empty"):
        read_table(b"\n\n", "x.csv")


def test_write_csv_defuses_formulas():
    text = write_csv([["=1+1", "+3+cmd|x", "-x", "@SUM", "\tx", "ok", -500, None]], list("abcdefgh"))
    assert text.splitlines()[1] == "'=1+1,'+3+cmd|x,'-x,'@SUM,'\tx,ok,-500,"
    assert safe_cell("+221 76 352 37 08") == "+221 76 352 37 08" and safe_cell("-12.5") == "-12.5"
    assert safe_cell("Ndiaye, Awa") == "Ndiaye, Awa"
    assert write_csv([["Ndiaye, Awa"]], ["name"]) == 'name\n"Ndiaye, Awa"\n'


def _derived_rows(session) -> dict:
    """Every derived row of the scheme's households, ids left out: dates, coverage spans, stored ledgers."""
    from mhi.contributions.models import ReportHousehold, ReportPeriod

    session.expire_all()
    result = {
        "households": sorted(session.execute(select(Household.ref, Household.exit_date, Household.strike_off_date)))
    }
    for table in (CoverageSpan.__table__, ReportHousehold.__table__, ReportPeriod.__table__):
        columns = [c for c in table.c if c.name != "id"]
        result[table.name] = sorted(tuple(row) for row in session.execute(select(*columns)))
    return result


def test_imported_receipts_give_the_derived_rows_of_a_refresh(session, scheme):
    """Issue 17: the import adds the file's receipts to the loaded inputs in Python and copies them while the
    engine runs, instead of reading them back; the derived rows equal a refresh that reads them from the table."""
    from mhi.contributions.imports import import_contributions
    from mhi.contributions.services import refresh_households

    enrol(session, scheme, "H-3")
    header = ["receipt_no", "household_ref", "date", "amount", "method", "collector"]
    first = [["RC-1", "H-1", "2025-01-10", "1600", "", "Awa"], ["RC-2", "H-2", "2025-01-12", "700", "bank", ""]]
    second = [
        ["RC-3", "H-1", "2025-03-02", "1200", "", ""],
        ["RC-4", "H-1", "2025-03-02", "300", "", ""],
        ["RC-5", "H-2", "2025-02-20", "2500", "", ""],
        ["RC-6", "H-3", "2025-01-10", "900", "", ""],
    ]
    for rows in (first, second):
        result = import_contributions(session, scheme, header, rows, dry_run=False)
        assert result.ok and result.written, result.problems
    session.flush()
    imported = _derived_rows(session)
    assert len(imported["report_period"]) > 3 and imported["coverage_span"]
    assert session.scalar(select(func.count()).select_from(Receipt)) == 6
    refresh_households(session, scheme)
    session.flush()
    assert _derived_rows(session) == imported
