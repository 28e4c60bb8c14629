"""members.csv through ``flask import members`` and ``import_members`` (data-formats.md, conventions.md)."""

from __future__ import annotations

import io
import json

import openpyxl
import pytest
from sqlalchemy import select, text

from mhi.contributions.imports import import_register as import_members
from mhi.contributions.models import CoverageSpan
from mhi.core.tabular import read_table
from mhi.members.models import Household, Person
from tests.members.helpers import MEMBERS_HEADER, counts, scheme_with_programme, write

GOOD = [
    "H-1,M-1,Awa,Ndiaye,F,1980-02-03,head,2025-01-10,,BASE,,Ndiagane,+221 76 000 00 01,",
    "H-1,M-2,Moussa,Ndiaye,M,1978-04-05,spouse,2025-01-10,,,,Ndiagane,,",
    "H-1,M-3,Fatou,Ndiaye,F,2015-06-07,child,2025-02-01,,BASE,,Ndiagane,,",
    "H-2,M-4,Aïssatou,Lô,F,1990-01-01,head,2025-03-01,,BASE,indigent,Pout,,",
]


def members_csv(rows, header=MEMBERS_HEADER) -> str:
    return "\n".join([header, *rows]) + "\n"


@pytest.fixture
def scheme(session):
    return scheme_with_programme(session)


def run(runner, path, *extra):
    return runner.invoke(args=["import", "members", "--scheme", "MUT-A", str(path), *extra])


def test_import_adds_households_and_persons(runner, session, scheme, tmp_path):
    result = run(runner, write(tmp_path, "members.csv", members_csv(GOOD), bom=True), "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == {"added": 4, "unchanged": 0}
    assert result.stderr.strip() == "members: 4 added, 0 unchanged"
    h2 = session.scalar(select(Household).where(Household.ref == "H-2"))
    assert (h2.category, h2.village, h2.enrolment_date.isoformat()) == ("indigent", "Pout", "2025-03-01")
    h1 = session.scalar(select(Household).where(Household.ref == "H-1"))
    assert (h1.phone, len(h1.persons)) == ("+221 76 000 00 01", 3)
    assert session.scalar(select(Person.last_key).where(Person.member_no == "M-4")) == "lo"
    # Derived data refreshed: unpaid households are projected to be struck off at E + 180.
    assert h1.strike_off_date.isoformat() == "2025-07-09"


def test_reimport_is_unchanged_and_a_changed_row_conflicts(runner, session, scheme, tmp_path):
    path = write(tmp_path, "members.csv", members_csv(GOOD))
    assert run(runner, path).exit_code == 0
    again = run(runner, path, "--format", "json")
    assert json.loads(again.stdout) == {"added": 0, "unchanged": 4}
    before = counts(session)
    changed = [*GOOD[:3], GOOD[3].replace("indigent", "standard")]
    result = run(runner, write(tmp_path, "changed.csv", members_csv(changed)))
    assert result.exit_code == 1
    assert (
        "changed.csv, row 4, category: conflict: M-4's household has category indigent, the file says standard"
        in result.stderr
    )
    assert counts(session) == before


def test_one_bad_row_writes_nothing_and_every_error_names_row_and_column(runner, session, scheme, tmp_path):
    rows = [*GOOD, *(f"H-9,M-9{i},A,B,F,1990-01-01,head,2025-01-01,,BASE,,,," for i in range(1))]
    rows += ["H-3,M-5,Issa,Fall,X,31/02/1990,head,2025-01-10,,BASE,,,,"] * 1
    before = counts(session)
    result = run(runner, write(tmp_path, "members.csv", members_csv(rows)))
    assert result.exit_code == 1
    assert "members.csv, row 6, sex: 'X' is not a valid sex (one of F, M)" in result.stderr
    assert "members.csv, row 6, date_of_birth: 31/02/1990 is not a date (expected YYYY-MM-DD)" in result.stderr
    assert counts(session) == before


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (["H-5,M-5,A,B,F,1990-01-01,child,2025-01-01,,BASE,,,,"], "row 1, relationship: household H-5 has no head row"),
        (
            ["H-5,M-5,A,B,F,1990-01-01,head,2025-01-01,,BASE,,,,", "H-5,M-6,A,B,F,1990-01-01,head,2025-01-01,,,,,,"],
            "row 2, relationship: household H-5 already has its head in row 1",
        ),
        (["H-5,M-5,A,B,F,1990-01-01,head,2025-01-01,,,,,,"], "row 1, product_code: is required on the head's row"),
        (["H-5,M-5,A,B,F,1990-01-01,head,2025-01-01,,GOLD,,,,"], "row 1, product_code: GOLD is not a product"),
        (
            ["H-5,M-5,A,B,F,1990-01-01,head,2025-01-01,,BASE,,,,", "H-5,M-6,A,B,F,1990-01-01,child,2024-12-31,,,,,,"],
            "row 2, enrolment_date: 2024-12-31 is before the household's enrolment 2025-01-01 (the head's)",
        ),
        (
            [
                "H-5,M-5,A,B,F,1990-01-01,head,2025-01-01,,BASE,,,,",
                "H-5,M-6,A,B,F,1990-01-01,child,2025-01-01,,BASE,vulnerable,,,",
            ],
            "row 2, category: must be blank or the head's (standard)",
        ),
        (
            [
                "H-5,M-5,A,B,F,1990-01-01,head,2025-01-01,,BASE,,,,",
                "H-6,M-5,A,B,F,1990-01-01,head,2025-01-01,,BASE,,,,",
            ],
            "row 2, member_no: M-5 already appears in row 1 (member_no is unique)",
        ),
        (
            ["H-5,M-5,A,B,F,2025-01-02,head,2025-01-01,,BASE,,,,"],
            "row 1, date_of_birth: 2025-01-02 is after the enrolment date",
        ),
        (
            ["H-5,M-5,A,B,F,1990-01-01,cousin,2025-01-01,,BASE,,,,"],
            "row 1, relationship: 'cousin' is not a valid relationship",
        ),
        (["H-5,,A,B,F,1990-01-01,head,2025-01-01,,BASE,,,,"], "row 1, member_no: is required"),
    ],
)
def test_row_rules(session, scheme, rows, message):
    table = read_table(members_csv(rows).encode(), "members.csv")
    result = import_members(session, scheme, table.header, table.rows, dry_run=False, file="members.csv")
    assert any(message in str(p) for p in result.problems), [str(p) for p in result.problems]
    assert not result.written and session.scalar(select(Household.id)) is None


def test_people_added_to_a_stored_household_without_its_head(runner, session, scheme, tmp_path):
    assert run(runner, write(tmp_path, "a.csv", members_csv(GOOD))).exit_code == 0
    more = ["H-1,M-7,Bébé,Ndiaye,F,2025-05-01,child,2025-05-02,,,,Ndiagane,,"]
    result = run(runner, write(tmp_path, "b.csv", members_csv([GOOD[0], *more])), "--format", "json")
    assert json.loads(result.stdout) == {"added": 1, "unchanged": 1}
    second_head = ["H-1,M-8,X,Y,M,1990-01-01,head,2025-05-02,,,,,,"]
    result = run(runner, write(tmp_path, "c.csv", members_csv(second_head)))
    assert "c.csv, row 1, relationship: household H-1 already has its head" in result.stderr


def test_unknown_and_missing_columns_are_rejected(runner, session, scheme, tmp_path):
    header = MEMBERS_HEADER.replace("national_id", "nationl_id").replace(",sex", "")
    rows = [r.rsplit(",", 1)[0] for r in GOOD]
    result = run(runner, write(tmp_path, "members.csv", members_csv(rows, header)))
    assert result.exit_code == 1
    assert "members.csv, nationl_id: unknown column (a typo?)" in result.stderr
    assert "members.csv, sex: required column is missing" in result.stderr
    assert session.scalar(select(Household.id)) is None


def test_dry_run_writes_nothing(runner, session, scheme, tmp_path):
    before = counts(session)
    result = run(runner, write(tmp_path, "members.csv", members_csv(GOOD)), "--dry-run", "--format", "json")
    assert result.exit_code == 0 and json.loads(result.stdout) == {"added": 4, "unchanged": 0}
    assert counts(session) == before


def test_columns_in_any_order_and_xlsx_equals_csv(session, scheme, tmp_path):
    header = MEMBERS_HEADER.split(",")
    order = list(reversed(range(len(header))))
    rows = [row.split(",") for row in GOOD]
    text = members_csv([",".join(r[i] for i in order) for r in rows], ",".join(header[i] for i in order))
    table = read_table(text.encode("utf-8"), "members.csv")
    assert import_members(session, scheme, table.header, table.rows, dry_run=False).added == 4
    csv_state = _state(session)
    session.rollback()

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(header)
    import datetime as dt

    for r in rows:
        # Dates as spreadsheet dates, phone as text, blanks as empty cells.
        sheet.append([dt.date.fromisoformat(c) if len(c) == 10 and c[4] == "-" else (c or None) for c in r])
    buffer = io.BytesIO()
    workbook.save(buffer)
    table = read_table(buffer.getvalue(), "members.xlsx")
    assert import_members(session, scheme, table.header, table.rows, dry_run=False).added == 4
    assert _state(session) == csv_state


def _state(session):
    people = session.execute(
        select(Person.member_no, Person.first_name, Person.date_of_birth, Person.relation, Person.phone, Household.ref)
        .join(Household)
        .order_by(Person.member_no)
    ).all()
    households = session.execute(
        select(Household.ref, Household.category, Household.enrolment_date, Household.strike_off_date).order_by(
            Household.ref
        )
    ).all()
    spans = session.execute(select(CoverageSpan.start, CoverageSpan.end).order_by(CoverageSpan.start)).all()
    return people, households, spans


def _derived(session) -> dict:
    """Every row derived from the register, by household reference (ids aside): dates, spans, stored ledgers and
    the scheme's period and due totals."""
    from mhi.contributions.models import ReportHousehold, ReportPeriod

    ref = Household.ref
    periods = select(ref, *[c for c in ReportPeriod.__table__.c if c.name not in ("id", "household_id")]).join(
        Household, Household.id == ReportPeriod.household_id
    )
    households = select(ref, *[c for c in ReportHousehold.__table__.c if c.name != "household_id"]).join(
        Household, Household.id == ReportHousehold.household_id
    )
    totals = {
        name: sorted(tuple(row) for row in session.execute(text(f"SELECT * FROM {name}")))
        for name in ("report_period_total", "report_due_total")
    }
    return {
        "dates": sorted(tuple(r) for r in session.execute(select(ref, Household.exit_date, Household.strike_off_date))),
        "spans": sorted(
            tuple(r)
            for r in session.execute(
                select(ref, CoverageSpan.start, CoverageSpan.end).join(
                    Household, Household.id == CoverageSpan.household_id
                )
            )
        ),
        "periods": sorted(tuple(r) for r in session.execute(periods)),
        "households": sorted(tuple(r) for r in session.execute(households)),
        **totals,
    }


def test_new_households_get_what_a_refresh_would_write(session, scheme):
    """Issue 17: the new households' derived rows are computed from the file's values as they are inserted
    (contributions.services.NewHouseholds), not read back and refreshed; they must be exactly the refresh's — and
    a stored household gaining a person is still refreshed."""
    from mhi.contributions.services import refresh_households
    from tests.members.helpers import enrol

    enrol(session, scheme, "H-0", others=0)
    rows = [
        *GOOD,
        "H-0,M-0b,Binta,Ndiaye,F,2019-05-05,child,2025-04-01,,,,Ndiagane,,",  # a stored household gains a child
        "H-3,M-5,Ibou,Sarr,M,1970-01-01,head,2024-11-15,,BASE,,Pout,,",
        "H-3,M-6,Coumba,Sarr,F,1975-01-01,spouse,2024-11-15,2025-02-28,,,Pout,,",  # left in February
        "H-4,M-7,Ibou,Sarr,M,1970-01-01,head,2024-11-15,,BASE,,Pout,,",  # equal inputs to H-3's but one person
        "H-5,M-8,Ibou,Sarr,M,1970-01-01,head,2024-11-15,,BASE,,Pout,,",
    ]
    table = read_table(members_csv(rows).encode(), "members.csv")
    result = import_members(session, scheme, table.header, table.rows, dry_run=False)
    assert result.written and not result.problems, result.problems
    assert result.touched == [session.scalar(select(Household.id).where(Household.ref == "H-0"))]
    session.commit()
    imported = _derived(session)
    assert len(imported["dates"]) == 6 and all(strike for _, _, strike in imported["dates"])
    assert {r[0] for r in imported["households"]} == {"H-0", "H-1", "H-2", "H-3", "H-4", "H-5"}
    refresh_households(session, scheme)  # every household, read back from the database
    session.commit()
    assert _derived(session) == imported
