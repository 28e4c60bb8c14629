"""The ndiagane example replayed on the test database through the import commands (examples/README.md), checked
against ndiagane-expected/<scheme>/indicators.json with SQL over the stored coverage spans, and the edge-case
households of edge_cases.txt."""

from __future__ import annotations

import csv
import json
from datetime import date, timedelta

import pytest
from sqlalchemy import and_, func, or_, select

from mhi.contributions.models import CoverageSpan, Receipt
from mhi.core.db import db
from mhi.members.models import Household, Person
from mhi.schemes.cli import read_json_file
from mhi.schemes.models import Expense, Scheme
from mhi.schemes.services import load_federation, load_scheme
from mhi.subsidies.models import SubsidyReceipt
from tests.conftest import EXAMPLES
from tests.contributions import example_harness as harness

EXAMPLE = EXAMPLES / "ndiagane"
EXPECTED = EXAMPLES / "ndiagane-expected"
F, T = date(2025, 1, 1), date(2025, 12, 31)
SCHEMES = ("MUT-NDIAGANE", "MUT-POUT")
FILES = ("members", "contributions", "subsidy-receipts", "expenses")


def load_example(runner, session) -> None:
    """Federation and both schemes by the services, then the four CSV files of each through the CLI."""
    load_federation(session, read_json_file(str(EXAMPLE / "federation.json")), today=date(2026, 1, 14))
    for code in SCHEMES:
        load_scheme(session, read_json_file(str(EXAMPLE / code / "scheme.json")), today=date(2026, 1, 14))
    session.commit()
    for code in SCHEMES:
        for kind in FILES:
            path = EXAMPLE / code / f"{kind.replace('-', '_')}.csv"
            result = runner.invoke(args=["import", kind, "--scheme", code, str(path), "--format", "json"])
            assert result.exit_code == 0, result.output + (result.stderr if result.stderr_bytes else "")
            with path.open(encoding="utf-8-sig") as handle:
                rows = sum(1 for _ in csv.DictReader(handle))
            assert json.loads(result.stdout) == {"added": rows, "unchanged": 0}


def covered(session, scheme_id: int, day: date) -> tuple[int, int]:
    """Households and persons covered on ``day``: SQL over the spans (contributions.md §4)."""
    span_on_day = and_(
        CoverageSpan.scheme_id == scheme_id,
        CoverageSpan.start <= day,
        or_(CoverageSpan.end.is_(None), CoverageSpan.end > day),
    )
    households = session.scalar(select(func.count(func.distinct(CoverageSpan.household_id))).where(span_on_day))
    persons = session.scalar(
        select(func.count(Person.id))
        .join(CoverageSpan, CoverageSpan.household_id == Person.household_id)
        .where(span_on_day, Person.enrolment_date <= day, or_(Person.exit_date.is_(None), Person.exit_date > day))
    )
    return households, persons


@pytest.fixture
def replayed(app, runner, session):
    """The example loaded once per test that asks for it."""
    load_example(runner, session)
    return session


def test_replay_matches_expected_indicators(replayed):
    session = replayed
    for code in SCHEMES:
        expected = json.loads((EXPECTED / code / "indicators.json").read_text(encoding="utf-8"))["indicators"]
        scheme = session.scalar(select(Scheme).where(Scheme.code == code))
        start, end = covered(session, scheme.id, F), covered(session, scheme.id, T)
        struck = session.scalar(
            select(func.count(Household.id)).where(
                Household.scheme_id == scheme.id, Household.strike_off_date.between(F, T)
            )
        )
        assert (start[0], end[0]) == (expected["households_covered_start"], expected["households_covered_end"]), code
        assert (start[1], end[1]) == (
            expected["beneficiaries_covered_start"],
            expected["beneficiaries_covered_end"],
        ), code
        assert struck == expected["households_struck_off"], code


def _household(session, ref: str) -> Household:
    return session.scalar(select(Household).where(Household.ref == ref))


def _receipt_dates(session, household: Household) -> list[date]:
    return list(session.scalars(select(Receipt.date).where(Receipt.household_id == household.id)))


@pytest.mark.parametrize("ref", ["NDIA-0010", "POUT-0012"])
def test_comeback_receipt_on_strike_off_date_is_too_late(replayed, ref):
    household = _household(replayed, ref)
    assert household.strike_off_date is not None
    assert household.strike_off_date in _receipt_dates(replayed, household)
    # Not covered from the strike-off date, whatever that receipt paid.
    assert not replayed.scalar(
        select(func.count(CoverageSpan.id)).where(
            CoverageSpan.household_id == household.id,
            or_(CoverageSpan.end.is_(None), CoverageSpan.end > household.strike_off_date),
        )
    )


@pytest.mark.parametrize("ref", ["NDIA-0026", "POUT-0020"])
def test_comeback_receipt_the_day_before_is_in_time(replayed, ref):
    household = _household(replayed, ref)
    starts = set(replayed.scalars(select(CoverageSpan.start).where(CoverageSpan.household_id == household.id)))
    comebacks = [d for d in _receipt_dates(replayed, household) if d in starts]
    assert comebacks, "coverage restarts on the comeback receipt's date"
    # The household was not struck off on the day after it: it came back in time, so it is struck off (if ever)
    # only later, from what that receipt paid.
    assert household.strike_off_date is None or household.strike_off_date > max(comebacks) + timedelta(days=1)


def test_every_household_as_the_engine_computes_it(replayed):
    """Stored exit, strike-off and spans equal the pure engine's, read straight from the CSV files."""
    for code in SCHEMES:
        _, households = harness.load_scheme(code)
        stored = {
            h.ref: h
            for h in replayed.scalars(
                select(Household).join(Scheme, Scheme.id == Household.scheme_id).where(Scheme.code == code)
            )
        }
        assert set(stored) == {h.ref for h in households}
        for h in households:
            row = stored[h.ref]
            assert (row.exit_date, row.strike_off_date) == (h.ledger.exit_date, h.ledger.strike_off_date), h.ref
            spans = replayed.execute(
                select(CoverageSpan.start, CoverageSpan.end)
                .where(CoverageSpan.household_id == row.id)
                .order_by(CoverageSpan.start)
            ).all()
            assert [tuple(span) for span in spans] == h.ledger.coverage_spans(), h.ref


@pytest.mark.parametrize("ref", ["NDIA-0075", "POUT-0009"])
def test_left_while_behind_is_not_struck_off(replayed, ref):
    household = _household(replayed, ref)
    assert household.exit_date is not None
    assert household.strike_off_date is None


def test_replay_counts_and_reimport_unchanged(replayed, runner):
    session = replayed
    assert session.scalar(select(func.count(SubsidyReceipt.id))) == 10 + 7
    assert session.scalar(select(func.count(Expense.id))) == 68 + 75
    code = "MUT-POUT"
    for kind in FILES:
        path = EXAMPLE / code / f"{kind.replace('-', '_')}.csv"
        result = runner.invoke(args=["import", kind, "--scheme", code, str(path), "--format", "json"])
        assert result.exit_code == 0
        document = json.loads(result.stdout)
        assert document["added"] == 0 and document["unchanged"] > 0
    db.session.remove()
