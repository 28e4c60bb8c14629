"""Hostile files into the five CSV importers (members, contributions, claims, subsidy receipts, expenses),
property-based: malformed dates and amounts, huge cells, random unicode, NUL bytes, wrong column sets, BOMs,
duplicate headers, broken encodings and quoting, spreadsheets that are not spreadsheets.

Properties: reading and importing never raise anything but ``InputRejected`` (a clean rejection with problems);
a rejected file leaves every table's row count as it was — checked inside the importer's transaction, before the
rollback, so a half-written file cannot hide behind it; and the command line answers every such file with exit
code 0 or 1, never a traceback.
"""

from __future__ import annotations

import csv
import io
from datetime import date

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from mhi.claims.imports import import_claims
from mhi.contributions.imports import import_contributions
from mhi.contributions.imports import import_register as import_members
from mhi.core.db import db
from mhi.core.tabular import read_table
from mhi.core.validation import InputRejected
from mhi.members.models import Person
from mhi.schemes.imports import import_expenses
from mhi.schemes.models import Scheme
from mhi.subsidies.imports import import_subsidy_receipts
from tests.factories import records
from tests.members.helpers import enrol
from tests.trust.helpers import everything_scheme, table_counts

SETTINGS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
    database=None,
)

#: Each importer's columns and a valid row (``{n}`` numbers it) on which hostile cells are planted.
KINDS = {
    "members": (
        import_members,
        "household_ref,member_no,first_name,last_name,sex,date_of_birth,relationship,enrolment_date,exit_date,"
        "product_code,category,village,phone,national_id",
        "N-{n},N-{n}-01,Awa,Ndiaye,F,1980-01-01,head,2025-01-10,,BASE,,Notto,+221 76 352 37 08,",
    ),
    "contributions": (
        import_contributions,
        "receipt_no,household_ref,date,amount,method,collector",
        "R-{n},H-001,2025-01-10,1600,cash,Awa Diop",
    ),
    "claims": (
        import_claims,
        "claim_ref,member_no,provider_code,benefit_code,date_of_service,date_submitted,amount_claimed,paid_on,"
        "diagnosis_code",
        "C-{n},{member},CS,OPD,2025-05-01,2025-05-02,3000,,A09",
    ),
    "subsidy-receipts": (
        import_subsidy_receipts,
        "reference,programme_code,date,amount",
        "S-{n},CMU-IND,2025-01-10,50000",
    ),
    "expenses": (
        import_expenses,
        "reference,date,category,amount,description",
        "E-{n},2025-01-10,staff,10000,Salaire du gérant",
    ),
}

HOSTILE_TEXT = [
    # dates
    "2025-02-30",
    "31/12/2025",
    "2025-13-01",
    "0000-00-00",
    "9999-12-31",
    "0001-01-01",
    "2025-1-1",
    "20250110",
    "2025-01-10T00:00:00",
    # amounts
    "1,500",
    "1 500",
    "1e3",
    "NaN",
    "Infinity",
    "-0",
    "-5",
    "0x10",
    "\u0661\u0665\u0660\u0660",  # Arabic-Indic digits
    "1500.001",
    "9" * 40,
    "9" * 400,
    "0." + "0" * 60 + "1",
    "1.",
    ".5",
    "--5",
    # text that breaks things
    "\x00",
    "Awa\x00Diop",
    "\ufeff",
    "\u202eevil",
    "\U0001d7d9\U0001d7da",
    "=cmd|' /C calc'!A0",
    "+1+1",
    "@SUM(A1)",
    "<script>alert(1)</script>",
    "../../etc/passwd",
    "head ",
    "HEAD",
    "  ",
    "\r\n",
    '"',
    "a,b",
    "é" * 101,
    "x" * 100_000,
]
HOSTILE = st.one_of(
    st.sampled_from(HOSTILE_TEXT),
    st.text(max_size=40),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
    st.dates(min_value=date(1, 1, 1)).map(date.isoformat),
)


@st.composite
def hostile_file(draw, kind: str, member: str) -> bytes:
    """A file for ``kind``: a valid header and rows, then hostile cells, header changes and byte damage."""
    _importer, header_line, row_line = KINDS[kind]
    header = header_line.split(",")
    rows = [row_line.format(n=n, member=member).split(",") for n in range(draw(st.integers(0, 4)))]
    # Hostile cells planted anywhere.
    for _ in range(draw(st.integers(0, 4))):
        if rows:
            row = draw(st.integers(0, len(rows) - 1))
            rows[row][draw(st.integers(0, len(header) - 1))] = draw(HOSTILE)
    # The header: duplicated, missing, unknown, another importer's, random, or left alone.
    change = draw(st.sampled_from(["none", "none", "duplicate", "drop", "unknown", "other", "random", "shuffle"]))
    if change == "duplicate":
        header.append(draw(st.sampled_from(header)))
    elif change == "drop":
        header.pop(draw(st.integers(0, len(header) - 1)))
    elif change == "unknown":
        header.insert(draw(st.integers(0, len(header))), draw(HOSTILE))
    elif change == "other":
        header = KINDS[draw(st.sampled_from(sorted(KINDS)))][1].split(",")
    elif change == "random":
        header = draw(st.lists(HOSTILE, min_size=0, max_size=6))
    elif change == "shuffle":
        header = draw(st.permutations(header))
        rows = []  # the cells would no longer match: an empty file with a reordered header
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator=draw(st.sampled_from(["\n", "\r\n", "\r"])))
    writer.writerow(header)
    writer.writerows(rows)
    data = buffer.getvalue().encode("utf-8")
    damage = draw(st.sampled_from(["none", "none", "bom", "double-bom", "latin1", "truncate", "quote", "bytes"]))
    if damage == "bom":
        data = b"\xef\xbb\xbf" + data
    elif damage == "double-bom":
        data = b"\xef\xbb\xbf\xef\xbb\xbf" + data
    elif damage == "latin1":
        data = data + "Fandène\n".encode("latin-1")
    elif damage == "truncate":
        data = data[: draw(st.integers(0, len(data)))]
    elif damage == "quote":
        data = data + b'"unterminated,' + data
    elif damage == "bytes":
        data = draw(st.sampled_from([b"", b"PK\x03\x04", b"\xff\xfe", b"\x00" * 10])) + draw(st.binary(max_size=200))
    return data


def _setup(app) -> tuple[str, str]:
    """The scheme MUT-TRUST with one household H-001 (enrolled 2025-01-10); its code and the head's member_no."""
    with records(app) as session:
        scheme = everything_scheme(session)
        household = enrol(session, scheme, enrolment=date(2025, 1, 10))
        member = session.scalar(
            select(Person.member_no).where(Person.household_id == household.id, Person.relation == "head")
        )
        return scheme.code, member


def _import_once(app, code: str, kind: str, data: bytes, name: str) -> None:
    """Read and import ``data``; a rejection must have written nothing, an acceptance is rolled back."""
    importer = KINDS[kind][0]
    with app.app_context():
        session = db.session
        scheme = session.scalar(select(Scheme).where(Scheme.code == code))
        before = table_counts(session)
        try:
            try:
                table = read_table(data, name)
            except InputRejected as exc:
                assert exc.problems
                return
            result = importer(session, scheme, table.header, table.rows, dry_run=False, actor=None, file=name)
            if not result.ok:
                assert not result.written
                assert table_counts(session) == before, "a rejected file wrote rows"
        finally:
            session.rollback()
            db.session.remove()


def _check_kind(app, kind: str) -> None:
    code, member = _setup(app)

    @SETTINGS
    @given(data=hostile_file(kind, member), name=st.sampled_from(["file.csv", "file.xlsx", "file", "..\\x.csv"]))
    def check(data, name):
        _import_once(app, code, kind, data, name)

    check()


def test_hostile_members_files(app):
    _check_kind(app, "members")


def test_hostile_contributions_files(app):
    _check_kind(app, "contributions")


def test_hostile_claims_files(app):
    _check_kind(app, "claims")


def test_hostile_subsidy_receipt_files(app):
    _check_kind(app, "subsidy-receipts")


def test_hostile_expense_files(app):
    _check_kind(app, "expenses")


@st.composite
def hostile_workbook(draw, kind: str, member: str) -> bytes:
    """An .xlsx with the importer's header and hostile values (strings, numbers, dates, formulas) in its cells."""
    import openpyxl
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    from openpyxl.utils.exceptions import IllegalCharacterError

    _importer, header_line, row_line = KINDS[kind]
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(header_line.split(","))
    values = st.one_of(
        HOSTILE,
        st.integers(min_value=-(2**53), max_value=2**53),
        st.floats(allow_nan=True, allow_infinity=True),
        st.dates(),
        st.datetimes(),
        st.booleans(),
        st.just("=1+1"),
    )
    for n in range(draw(st.integers(1, 3))):
        row: list = row_line.format(n=n, member=member).split(",")
        for _ in range(draw(st.integers(0, 3))):
            row[draw(st.integers(0, len(row) - 1))] = draw(values)
        try:
            sheet.append(row)
        except IllegalCharacterError:
            # A worksheet cannot hold control characters at all: the spreadsheet program would not write them.
            sheet.append([ILLEGAL_CHARACTERS_RE.sub("", str(value)) for value in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def test_hostile_workbooks(app):
    """The same through .xlsx: cells typed by the spreadsheet (floats, dates, booleans, formulas)."""
    code, member = _setup(app)

    @settings(SETTINGS, max_examples=25)
    @given(st.data())
    def check(data):
        kind = data.draw(st.sampled_from(sorted(KINDS)))
        _import_once(app, code, kind, data.draw(hostile_workbook(kind, member)), "file.xlsx")

    check()


def test_hostile_files_on_the_command_line(app, runner, tmp_path):
    """``flask import <kind>`` answers any of these files with exit 0 (imported) or 1 (rejected), never a crash;
    a rejected file changes nothing."""
    code, member = _setup(app)

    @settings(SETTINGS, max_examples=25)
    @given(st.data())
    def check(data):
        kind = data.draw(st.sampled_from(sorted(KINDS)))
        path = tmp_path / "hostile.csv"
        path.write_bytes(data.draw(hostile_file(kind, member)))
        with app.app_context():
            before = table_counts(db.session)
            db.session.remove()
        result = runner.invoke(args=["import", kind, "--scheme", code, str(path)])
        assert result.exit_code in (0, 1), result.output
        assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
        if result.exit_code == 1:
            with app.app_context():
                assert table_counts(db.session) == before
                db.session.remove()

    check()
