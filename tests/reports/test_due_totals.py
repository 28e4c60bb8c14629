"""The per-scheme due totals (``ReportDueTotal``, kept by ``store_ledgers``) answer a month-aligned report's dues of
the period paid and arrears exactly as the household scan and the contributions engine do, and stay right after
single-record writes (docs/scale.md, issue 17)."""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select

from mhi.contributions.models import Receipt
from mhi.contributions.services import record_receipt, refresh_households, reverse_receipt
from mhi.core.dates import add_months
from mhi.members.models import Household, Person
from mhi.members.services import record_exit, record_household_exit
from mhi.reports import indicators as ind
from mhi.reports import ledgers
from mhi.schemes.models import Scheme
from tests.conftest import EXAMPLES
from tests.reports import builders

EXAMPLE = EXAMPLES / "ndiagane"


def aligned_windows(years) -> list[tuple[date, date]]:
    """Every month, quarter and year of ``years``, and a window across two years."""
    result = []
    for year in years:
        for month in range(1, 13):
            first = date(year, month, 1)
            result.append((first, add_months(first, 1) - timedelta(days=1)))
        for quarter in range(4):
            first = date(year, 3 * quarter + 1, 1)
            result.append((first, add_months(first, 3) - timedelta(days=1)))
        result.append((date(year, 1, 1), date(year, 12, 31)))
    result.append((date(min(years), 7, 1), date(max(years), 6, 30)))
    return result


def assert_totals_agree(session, scheme, years=(2024, 2025, 2026)) -> None:
    """For every month-aligned window and several opening dates: totals = scan = engine."""
    assert ledgers.totals_whole(session, scheme)
    windows = aligned_windows(years)
    engine_ledgers = ind.scheme_ledgers(session, scheme)
    for opening in (scheme.opening_date, date(2024, 1, 1), date(2023, 7, 1)):
        from_totals = ledgers.amounts_many(session, scheme, windows, opening, totals=True)
        from_scan = ledgers.amounts_many(session, scheme, windows, opening, totals=False)
        assert from_totals == from_scan
        for (date_from, date_to), amounts in zip(windows, from_totals, strict=True):
            engine = ind.engine_contribution_amounts(engine_ledgers, scheme.currency, date_from, date_to, opening)
            assert amounts == engine, (date_from, date_to, opening)


def test_hand_scheme(session):
    scheme = builders.build_hand_scheme(session)
    assert_totals_agree(session, scheme)
    assert any(
        amounts.arrears for amounts in ledgers.amounts_many(session, scheme, aligned_windows([2025]), date(2024, 1, 1))
    )


def test_examples(app, runner, session):
    for code in builders.load_example_schemes(runner, EXAMPLE):
        scheme = session.scalar(select(Scheme).where(Scheme.code == code))
        assert_totals_agree(session, scheme, years=(2024, 2025))


def random_register(session, seed: int) -> Scheme:
    """Households enrolled over two years, persons leaving, receipts of random amounts and days (partial,
    exact, over-payments, receipts before enrolment), some reversed."""
    rng = random.Random(seed)
    scheme = builders.load(session, f"MUT-R{seed}")
    for index in range(25):
        enrolment = date(2024, 1, 1) + timedelta(days=rng.randrange(0, 600))
        persons = [("head", enrolment, None)]
        for _ in range(rng.randrange(0, 4)):
            left = enrolment + timedelta(days=rng.randrange(30, 700)) if rng.random() < 0.3 else None
            persons.append(("child", enrolment, left))
        category = "indigent" if rng.random() < 0.15 else "standard"
        household = builders.add_household(session, scheme, f"R{seed}-{index}", enrolment, persons, category=category)
        for _ in range(rng.randrange(0, 6)):
            day = enrolment + timedelta(days=rng.randrange(-20, 720))
            builders.pay(session, household, day, rng.choice([500, 1000, 3250, 6500, 13000, 26000]))
    session.flush()
    refresh_households(session, scheme)
    receipts = session.scalars(select(Receipt).where(Receipt.scheme_id == scheme.id).order_by(Receipt.id)).all()
    for receipt in rng.sample(receipts, min(4, len(receipts))):
        reverse_receipt(session, receipt, reason="test")
    session.commit()
    return scheme


def test_random_registers(session):
    for seed in (1, 2, 3):
        scheme = random_register(session, seed)
        assert_totals_agree(session, scheme)


def test_single_record_writes_keep_the_totals(session):
    scheme = builders.build_hand_scheme(session)
    by_ref = {h.ref: h for h in session.scalars(select(Household).where(Household.scheme_id == scheme.id))}
    # A receipt, then its reversal.
    record_receipt(session, by_ref["H6"], date=date(2025, 7, 3), amount=Decimal(5000))
    session.flush()
    assert_totals_agree(session, scheme)
    receipt = session.scalar(select(Receipt).where(Receipt.household_id == by_ref["H6"].id).order_by(Receipt.id.desc()))
    reverse_receipt(session, receipt, reason="test")
    session.flush()
    assert_totals_agree(session, scheme)
    # A register edit: a person leaves; a household leaves.
    child = session.scalar(select(Person).where(Person.household_id == by_ref["H4"].id, Person.relation == "child"))
    record_exit(session, child, date=date(2025, 4, 1), reason="other")
    record_household_exit(session, by_ref["H5"], date=date(2025, 5, 1), reason="other")
    session.flush()
    assert_totals_agree(session, scheme)
    # H3 never pays: struck off; a late receipt after its strike-off date counts for nothing in C(T).
    record_receipt(session, by_ref["H3"], date=date(2026, 3, 2), amount=Decimal(13000))
    session.flush()
    assert_totals_agree(session, scheme)


def test_refresh_repairs_totals_that_are_not_whole(session):
    scheme = builders.build_hand_scheme(session)
    expected = ledgers.amounts_many(session, scheme, aligned_windows([2025]), scheme.opening_date, totals=False)
    # As after the migration that added them: no household's part recorded, no totals.
    session.execute(ledgers.ReportDueTotal.__table__.delete())
    session.execute(ledgers.ReportHousehold.__table__.update().values(due_totals=None))
    assert not ledgers.totals_whole(session, scheme)
    assert ledgers.amounts_many(session, scheme, aligned_windows([2025]), scheme.opening_date) == expected  # the scan
    assert ledgers.refresh(session, scheme, builders.T) == 6
    assert ledgers.totals_whole(session, scheme)
    assert_totals_agree(session, scheme)
