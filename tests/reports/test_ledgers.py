"""The stored ledgers give exactly the contributions engine's §6 amounts, for any period, and follow changes."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from mhi.contributions.services import refresh_households
from mhi.core import clock
from mhi.core.dates import add_months
from mhi.reports import indicators as ind
from mhi.reports import ledgers
from mhi.reports.models import ReportHousehold, ReportPeriod
from mhi.schemes.models import Scheme
from tests.conftest import EXAMPLES
from tests.reports import builders

EXAMPLE = EXAMPLES / "ndiagane"


def periods() -> list[tuple[date, date]]:
    """Months, quarters, years and odd ranges from 2023 to 2026 (before, across and after the data)."""
    result = []
    for k in range(0, 48):
        first = add_months(date(2023, 1, 1), k)
        result.append((first, add_months(first, 1) - timedelta(days=1)))
    for year in (2023, 2024, 2025, 2026):
        result.append((date(year, 1, 1), date(year, 12, 31)))
        for q in range(4):
            first = date(year, 3 * q + 1, 1)
            result.append((first, add_months(first, 3) - timedelta(days=1)))
    result += [
        (date(2024, 2, 29), date(2025, 3, 1)),
        (date(2025, 1, 15), date(2025, 1, 15)),
        (date(2024, 1, 1), date(2026, 6, 30)),
    ]
    return result


def assert_same(session, scheme, *, from_store: bool = True) -> None:
    """Stored ledgers and engine agree on every §6 amount for every period of ``periods`` (``from_store``: the
    stored ledgers answer, else the report reads the engine)."""
    engine_ledgers = ind.scheme_ledgers(session, scheme)
    for date_from, date_to in periods():
        stored = ledgers.contribution_amounts(session, scheme, date_from, date_to, scheme.opening_date)
        engine = ind.engine_contribution_amounts(
            engine_ledgers, scheme.currency, date_from, date_to, scheme.opening_date
        )
        assert stored == engine, (date_from, date_to)
    # All the periods at once (the monthly trend's way: a few scans for any number of windows) give the same.
    windows = periods()
    assert ledgers.covers(session, scheme, max(date_to for _, date_to in windows)) == from_store  # the path run
    together = ledgers.amounts_many(session, scheme, windows, scheme.opening_date)
    assert together == [
        ind.engine_contribution_amounts(engine_ledgers, scheme.currency, date_from, date_to, scheme.opening_date)
        for date_from, date_to in windows
    ]


def test_hand_scheme_matches_the_engine(session):
    scheme = builders.build_hand_scheme(session)
    assert_same(session, scheme)


def test_example_schemes_match_the_engine(app, runner, session):
    for code in builders.load_example_schemes(runner, EXAMPLE):
        assert_same(session, session.scalar(select(Scheme).where(Scheme.code == code)))


def test_changes_are_followed(session):
    scheme = builders.build_hand_scheme(session)
    first = ledgers.contribution_amounts(session, scheme, builders.F, builders.T, scheme.opening_date)
    assert ledgers.refresh(session, scheme, builders.T) == 0  # nothing changed: nothing rebuilt
    # H6 pays its first year: its dues are paid, nothing is owed, and its year is earned.
    h6 = session.scalar(select(builders.Household).where(builders.Household.ref == "H6"))
    builders.pay(session, h6, date(2025, 6, 10), 12000)
    session.flush()
    refresh_households(session, scheme, [h6.id])
    second = ledgers.contribution_amounts(session, scheme, builders.F, builders.T, scheme.opening_date)
    assert second.arrears == first.arrears - Decimal(12000)
    assert second.period_dues_paid == first.period_dues_paid + Decimal(12000)
    assert second.contributions_earned > first.contributions_earned
    assert session.scalar(select(func.count()).select_from(ReportHousehold)) == 6
    # A report past the horizon rebuilds to a later one (a fully subsidised schedule has no end).
    far = clock.today() + timedelta(days=3 * 365)
    assert ledgers.refresh(session, scheme, far) == 6
    assert session.scalar(select(func.min(ReportHousehold.horizon))) > far
    assert session.scalar(select(func.count()).select_from(ReportPeriod)) > 0
    assert_same(session, scheme)


@pytest.mark.parametrize("currency", ["XOF"])
def test_rule_change_rebuilds_everything(session, currency):
    scheme = builders.build_hand_scheme(session, currency=currency)
    ledgers.refresh(session, scheme, builders.T)
    programme = scheme.programmes[0]
    programme.terms[0].share = Decimal("0.25")  # changed behind the application's back
    session.flush()
    assert ledgers.refresh(session, scheme, builders.T) == 6


def test_a_household_without_its_stored_ledger_sends_the_report_to_the_engine(session):
    """A household whose ledger is missing (rows written behind the application's back, a restore before
    ``refresh-ledgers``) is noticed, and the report reads the engine: the same figures, never a partial sum."""
    scheme = builders.build_hand_scheme(session)
    assert ledgers.covers(session, scheme, builders.T)
    h6 = session.scalar(select(builders.Household).where(builders.Household.ref == "H6"))
    session.execute(ReportPeriod.__table__.delete().where(ReportPeriod.household_id == h6.id))
    session.execute(ReportHousehold.__table__.delete().where(ReportHousehold.household_id == h6.id))
    assert not ledgers.covers(session, scheme, builders.T)
    assert_same(session, scheme, from_store=False)
    # The repair stores it again; the scheme's due totals still hold the deleted ledger's part, so they are not
    # whole and every ledger is written again to rebuild them.
    assert not ledgers.totals_whole(session, scheme)
    assert ledgers.refresh(session, scheme, builders.T) == 6
    assert ledgers.totals_whole(session, scheme)
    assert ledgers.covers(session, scheme, builders.T)


def test_a_scheme_opening_after_the_period_has_earned_nothing_since_its_opening(session):
    """A report on a period before the scheme's opening date: earned since the opening is nothing, as in the
    engine (the stored sums once gave a negative overlap for a period paid by T and running past the opening)."""
    scheme = builders.build_hand_scheme(session)
    engine_ledgers = ind.scheme_ledgers(session, scheme)
    windows = [(date(2025, 1, 1), date(2025, 12, 31)), (date(2025, 6, 1), date(2025, 6, 30))]
    for date_from, date_to in windows:
        for days in range(1, 400, 29):
            opening = date_to + timedelta(days=days)
            stored = ledgers.contribution_amounts(session, scheme, date_from, date_to, opening)
            engine = ind.engine_contribution_amounts(engine_ledgers, scheme.currency, date_from, date_to, opening)
            assert stored == engine, (date_from, date_to, opening)
            assert stored.earned_since_opening == 0
