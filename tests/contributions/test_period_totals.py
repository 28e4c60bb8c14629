"""The period totals (mhi/contributions/period_totals.py) stay equal to a recount of the stored periods after every
write path, and the earned sums of every month-aligned window read from them equal the scan of the periods,
group for group (issue 17)."""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import delete, insert, select, text, update

from mhi.contributions import period_totals
from mhi.contributions.models import ReportPeriod
from mhi.contributions.period_totals import ReportPeriodTotal
from mhi.contributions.services import record_receipt, refresh_households
from mhi.contributions.stored import month_number
from mhi.core.dates import add_months
from mhi.core.db import db
from mhi.members.models import Household, Person
from mhi.members.services import record_exit, record_household_exit
from mhi.reports import ledgers
from mhi.schemes.models import Scheme
from tests.conftest import EXAMPLES
from tests.reports import builders
from tests.reports.test_due_totals import random_register


def recount(session, scheme_id: int) -> dict:
    """The totals computed in Python from the period rows (an oracle independent of the triggers' SQL)."""
    totals: dict = {}
    for period in session.scalars(select(ReportPeriod).where(ReportPeriod.scheme_id == scheme_id)):
        key = (period.start, period.end, month_number(period.paid_on) if period.paid_on else 0)
        days, n, gross, member_due = totals.get(key, (period.days, 0, Decimal(0), Decimal(0)))
        totals[key] = (days, n + 1, gross + period.gross, member_due + period.member_due)
    return totals


def stored(session, scheme_id: int) -> dict:
    """The stored totals, rows gone back to zero left out."""
    t = ReportPeriodTotal
    return {
        (r.start, r.end, r.paid_month): (r.days, r.periods, r.gross, r.member_due)
        for r in session.scalars(select(t).where(t.scheme_id == scheme_id))
        if r.periods or r.gross or r.member_due
    }


def assert_totals_right(session, scheme_id: int) -> None:
    session.expire_all()
    expected = recount(session, scheme_id)
    assert stored(session, scheme_id) == expected
    assert all(days == (end - start).days for (start, end, _), (days, *_) in expected.items())


def aligned_windows(first: date, last: date) -> list[tuple[date, date]]:
    """Every month, quarter and year from ``first`` to ``last``, and every span of whole months from the first
    month to each later one."""
    months = []
    day = date(first.year, first.month, 1)
    while day <= last:
        months.append(day)
        day = add_months(day, 1)
    windows = []
    for index, start in enumerate(months):
        windows.append((start, add_months(start, 1) - timedelta(days=1)))
        if start.month % 3 == 1:
            windows.append((start, add_months(start, 3) - timedelta(days=1)))
        if start.month == 1:
            windows.append((start, add_months(start, 12) - timedelta(days=1)))
        if index:
            windows.append((months[0], add_months(start, 1) - timedelta(days=1)))
    return windows


def _normal(groups) -> dict:
    """One window's groups as {days: sums}, as integers, the groups that add nothing left out (a totals row gone
    back to zero, or a length no period of the window has, gives such a group)."""
    result = {}
    for days, *sums in groups:
        values = tuple(int(value or 0) for value in sums)
        if any(values):
            result[days] = values
    return result


def assert_earned_agree(session, scheme, openings=()) -> int:
    """For every month-aligned window over the scheme's periods (a month either side) and several opening days
    (the scheme's, mid-month ones, one after every window): the earned sums read from the totals equal the scan's,
    group for group; and the §6 amounts with all totals equal those by the scans. Returns the windows compared."""
    rows = session.execute(
        select(ReportPeriod.start, ReportPeriod.end, ReportPeriod.paid_on).where(ReportPeriod.scheme_id == scheme.id)
    ).all()
    assert rows
    days = [day for row in rows for day in row if day is not None]
    windows = aligned_windows(min(days) - timedelta(days=31), max(days) + timedelta(days=31))
    assert all(ledgers.month_aligned(window) for window in windows)
    compared = 0
    for opening in (
        scheme.opening_date,
        date(2024, 3, 17),
        date(2025, 1, 1),
        max(days) + timedelta(days=40),
        *openings,
    ):
        for start in range(0, len(windows), ledgers.WINDOWS_PER_QUERY):
            chunk = windows[start : start + ledgers.WINDOWS_PER_QUERY]
            from_totals = ledgers._earned_groups(session, scheme.id, chunk, opening, from_totals=True)
            by_scan = ledgers._earned_groups(session, scheme.id, chunk, opening, from_totals=False)
            for window, fast, slow in zip(chunk, from_totals, by_scan, strict=True):
                assert _normal(fast) == _normal(slow), (window, opening)
                compared += 1
            assert ledgers._earned_sums(session, scheme.id, chunk, opening) == from_totals
    sample = windows[:: max(1, len(windows) // 30)]
    assert ledgers.amounts_many(session, scheme, sample, scheme.opening_date, totals=True) == ledgers.amounts_many(
        session, scheme, sample, scheme.opening_date, totals=False
    )
    return compared


def test_windows_not_month_aligned_scan(session):
    scheme = builders.build_hand_scheme(session)
    windows = [(date(2025, 1, 2), date(2025, 3, 31)), (date(2025, 1, 1), date(2025, 3, 30)), (builders.F, builders.T)]
    # Corrupt the totals: a window that read them would differ from the scan.
    session.execute(update(ReportPeriodTotal).values(gross=ReportPeriodTotal.gross + 1))
    fast = ledgers._earned_sums(session, scheme.id, windows, scheme.opening_date)
    slow = ledgers._earned_sums(session, scheme.id, windows, scheme.opening_date, totals=False)
    assert [_normal(g) for g in fast[:2]] == [_normal(g) for g in slow[:2]]
    assert _normal(fast[2]) != _normal(slow[2])  # the month-aligned one read the (corrupted) totals


def test_hand_scheme_and_single_record_writes(session):
    """The hand-worked scheme, then a receipt, a person's exit and a household's exit (each rewrites ledgers
    through ``store_ledgers``: DELETE then INSERT or COPY)."""
    scheme = builders.build_hand_scheme(session)
    assert_totals_right(session, scheme.id)
    assert assert_earned_agree(session, scheme) > 100
    by_ref = {h.ref: h for h in session.scalars(select(Household).where(Household.scheme_id == scheme.id))}
    record_receipt(session, by_ref["H6"], date=date(2025, 7, 3), amount=Decimal(5000))
    session.flush()
    assert_totals_right(session, scheme.id)
    child = session.scalar(select(Person).where(Person.household_id == by_ref["H4"].id, Person.relation == "child"))
    record_exit(session, child, date=date(2025, 4, 1), reason="other")
    record_household_exit(session, by_ref["H5"], date=date(2025, 5, 1), reason="other")
    session.flush()
    assert_totals_right(session, scheme.id)
    assert_earned_agree(session, scheme)


def _load_folder(runner, folder) -> list[str]:
    """An example federation and its schemes (members and contributions) through the command line."""
    assert runner.invoke(args=["federation", "load", str(folder / "federation.json")]).exit_code == 0
    codes = sorted(p.name for p in folder.iterdir() if (p / "scheme.json").exists())
    for code in codes:
        assert runner.invoke(args=["scheme", "load", str(folder / code / "scheme.json")]).exit_code == 0
        for what in ("members", "categories", "contributions"):
            path = folder / code / f"{what}.csv"
            if path.exists():
                result = runner.invoke(args=["import", what, "--scheme", code, str(path)])
                assert result.exit_code == 0, result.output
    return codes


def test_examples(app, runner, session):
    """Both example federations imported through the command line: totals right, earned sums equal the scan."""
    compared = 0
    for folder in ("ndiagane", "fatick"):
        for code in _load_folder(runner, EXAMPLES / folder):
            scheme = session.scalar(select(Scheme).where(Scheme.code == code))
            assert_totals_right(session, scheme.id)
            compared += assert_earned_agree(session, scheme)
    assert compared > 1000


def test_random_registers_and_raw_writes(session):
    """Random registers (receipts, reversals, exits), then writes that go through no service: the periods
    refreshed, a raw UPDATE of payment days and amounts, a bulk INSERT and a DELETE. The repair recounts."""
    schemes = [random_register(session, seed) for seed in (4, 5, 6)]
    for scheme in schemes:
        assert_totals_right(session, scheme.id)
        assert_earned_agree(session, scheme)
    scheme, other = schemes[0], schemes[1]
    rng = random.Random(17)
    households = session.scalars(select(Household.id).where(Household.scheme_id == scheme.id)).all()
    refresh_households(session, scheme, rng.sample(households, 5))
    session.flush()
    assert_totals_right(session, scheme.id)
    ids = session.scalars(select(ReportPeriod.id).where(ReportPeriod.scheme_id == scheme.id)).all()
    unpaid = rng.sample(ids, 6)
    session.execute(update(ReportPeriod).where(ReportPeriod.id.in_(unpaid)).values(paid_on=None))
    moved = rng.sample(ids, 6)
    session.execute(
        update(ReportPeriod).where(ReportPeriod.id.in_(moved)).values(paid_on=date(2025, 2, 14), gross=Decimal("1.5"))
    )
    session.execute(text("UPDATE report_period SET member_due = member_due + 7 WHERE id = :id"), {"id": ids[0]})
    session.execute(
        insert(ReportPeriod),
        [
            {
                "scheme_id": scheme.id,
                "household_id": households[0],
                "start": date(2025, 3, day),
                "end": date(2025, 4, day),
                "days": 31,
                "gross": Decimal("1000.125"),
                "member_due": Decimal(500),
                "cumulative": Decimal(0),
                "paid_on": None if day % 2 else date(2025, 3, day + 1),
            }
            for day in (3, 4, 5, 5)
        ],
    )
    session.execute(delete(ReportPeriod).where(ReportPeriod.id.in_(rng.sample(ids, 5))))
    session.flush()
    assert_totals_right(session, scheme.id)
    assert_totals_right(session, other.id)
    assert_earned_agree(session, scheme)
    session.commit()

    # The repair: from nothing, and over corrupted rows; zero rows are dropped.
    session.execute(delete(ReportPeriodTotal))
    assert stored(session, scheme.id) == {}
    for each in schemes:
        period_totals.rebuild(session, each.id)
    session.commit()
    for each in schemes:
        assert_totals_right(session, each.id)
    session.execute(update(ReportPeriodTotal).values(periods=ReportPeriodTotal.periods + 1))
    assert stored(session, scheme.id) != recount(session, scheme.id)
    period_totals.rebuild(session, scheme.id)
    session.commit()
    assert_totals_right(session, scheme.id)
    assert session.scalar(select(ReportPeriodTotal).where(ReportPeriodTotal.periods == 0)) is None
    assert_earned_agree(session, scheme)


def test_refresh_ledgers_recounts_the_totals(app, runner, session):
    scheme = builders.build_hand_scheme(session)
    session.commit()
    expected = recount(session, scheme.id)
    session.execute(delete(ReportPeriodTotal))
    session.commit()
    result = runner.invoke(args=["report", "refresh-ledgers", "--scheme", scheme.code])
    assert result.exit_code == 0, result.output
    assert "period totals recounted" in result.output
    db.session.expire_all()
    assert stored(session, scheme.id) == expected
