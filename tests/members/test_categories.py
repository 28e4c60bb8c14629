"""categories.csv through ``flask import categories`` (data-formats.md): a household's category from a date on,
read on each period's start (contributions.md §2); bad rows name their row and write nothing."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from mhi.contributions.models import CoverageSpan
from mhi.contributions.services import ledger_for
from mhi.members.models import CategoryChange, Household
from mhi.schemes.models import SubsidyProgramme
from tests.members.helpers import counts, enrol, scheme_with_programme, write

HEADER = "household_ref,category,from_date"


@pytest.fixture
def scheme(session):
    """make_scheme's BASE with two programmes that together pay the whole contribution of indigent households."""
    scheme = scheme_with_programme(session)
    session.add(
        SubsidyProgramme(
            scheme_id=scheme.id,
            position=1,
            code="CMU-COMP",
            funder="Etat",
            categories=["indigent"],
            share=Decimal("0.5"),
            valid_from=date(2024, 1, 1),
            valid_to=None,
        )
    )
    session.commit()
    return scheme


def run(runner, tmp_path, rows, *extra, header=HEADER):
    path = write(tmp_path, "categories.csv", "\n".join([header, *rows]) + "\n")
    return runner.invoke(args=["import", "categories", "--scheme", "MUT-A", str(path), *extra])


def changes(session) -> int:
    return session.scalar(select(func.count()).select_from(CategoryChange))


def test_category_applies_to_periods_starting_on_or_after_its_date(runner, session, scheme, tmp_path):
    household = enrol(session, scheme, "H-001", date(2025, 1, 10), others=0)
    result = run(runner, tmp_path, ["H-001,indigent,2025-03-11", "H-001,,2025-06-10"], "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == {"added": 2, "unchanged": 0}
    periods = {p.start: p for p in ledger_for(session, household).periods_until(date(2025, 6, 30))}
    # 2025-03-10 starts the day before the change: standard, unsubsidised.
    assert periods[date(2025, 3, 10)].member_due == Decimal("300")
    # 2025-04-10 and 2025-05-10 start in the indigent months: both programmes pay it all.
    assert periods[date(2025, 4, 10)].member_due == 0
    assert [code for code, _ in periods[date(2025, 5, 10)].subsidies] == ["CMU-IND", "CMU-COMP"]
    # A blank category is standard again from 2025-06-10.
    assert periods[date(2025, 6, 10)].member_due == Decimal("300")
    assert periods[date(2025, 6, 10)].subsidies == ()


def test_import_refreshes_coverage_at_once(runner, session, scheme, tmp_path):
    household = enrol(session, scheme, "H-001", date(2025, 1, 10), others=0)
    assert not session.scalars(select(CoverageSpan).where(CoverageSpan.household_id == household.id)).all()
    # Indigent from its enrolment: fully subsidised, the registration fee included, so covered without paying.
    assert run(runner, tmp_path, ["H-001,indigent,2025-01-10"]).exit_code == 0
    session.expire_all()
    spans = session.execute(
        select(CoverageSpan.start, CoverageSpan.end).where(CoverageSpan.household_id == household.id)
    ).all()
    assert spans == [(date(2025, 1, 10), None)]
    assert session.get(Household, household.id).strike_off_date is None


def test_reimport_is_unchanged_and_a_changed_category_conflicts(runner, session, scheme, tmp_path):
    enrol(session, scheme, "H-001", date(2025, 1, 10), others=0)
    assert run(runner, tmp_path, ["H-001,indigent,2025-03-11"]).exit_code == 0
    again = run(runner, tmp_path, ["H-001,indigent,2025-03-11"], "--format", "json")
    assert json.loads(again.stdout) == {"added": 0, "unchanged": 1}
    result = run(runner, tmp_path, ["H-001,vulnerable,2025-03-11"])
    assert result.exit_code == 1
    assert "row 1" in result.stderr and "conflict" in result.stderr
    assert changes(session) == 1


@pytest.mark.parametrize(
    ("rows", "header", "message"),
    [
        (["H-001,indigent,2025-03-11", "H-404,indigent,2025-03-11"], HEADER, "row 2, household_ref: H-404 is not"),
        (["H-001,indigent,2025-01-09"], HEADER, "row 1, from_date: is before the household's enrolment on 2025-01-10"),
        (["H-001,indigent,2025-03-11,x"], HEADER + ",note", "note: unknown column"),
        (["H-001,indigent,2025-03-11", "H-001,vulnerable,2025-03-11"], HEADER, "row 2, from_date: H-001 from"),
        (["H-001,indigent,2025-02-30"], HEADER, "row 1, from_date"),
        ([",indigent,2025-03-11"], HEADER, "row 1, household_ref: is required"),
    ],
)
def test_bad_rows_are_named_and_nothing_is_written(runner, session, scheme, tmp_path, rows, header, message):
    enrol(session, scheme, "H-001", date(2025, 1, 10), others=0)
    before = counts(session)
    result = run(runner, tmp_path, rows, header=header)
    assert result.exit_code == 1
    assert message in result.stderr, result.stderr
    session.expire_all()
    assert counts(session) == before
    assert changes(session) == 0
