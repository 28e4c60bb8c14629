"""The stored ledgers (``ReportHousehold``, ``ReportPeriod`` in contributions/models.py): each household's
``Ledger`` written as rows, so that reports sum the §6 amounts in SQL (reports/ledgers.py).

Written only by the writes that change a ledger's inputs, in their own transaction (``refresh_households`` and
the members import call ``store_ledgers``): a report reads them and never writes. Periods are stored up to a
horizon a year past the write; ``flask report refresh-ledgers`` (a scheduled job) carries the horizon on for
households nobody touched, and a report asking past it reads the engine instead (reports/ledgers.py).

A period k is *paid as of D* when C(D) ≥ r + d_0 + … + d_k (§3); C only grows with D (a reversal carries its
original's date), so storing the first day it holds, ``paid_on``, answers "paid as of T" for every T.
"""

from __future__ import annotations

import hashlib
from bisect import bisect_left
from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import delete

from mhi.contributions.models import ReportHousehold, ReportPeriod
from mhi.contributions.rules import HouseholdInput, Ledger
from mhi.core.clock import today as clock_today
from mhi.core.db import one_of
from mhi.core.tabular import bulk_insert

#: How far past the day of the write periods are stored: a fully subsidised household's schedule has no end
#: (contributions.md §3), so it is stored up to a horizon and carried on by ``flask report refresh-ledgers``.
HORIZON_DAYS = 366


def default_horizon() -> date:
    """The horizon a write stores periods to: a year past today."""
    return clock_today() + timedelta(days=HORIZON_DAYS)


def input_fingerprint(rules: str, h: HouseholdInput) -> str:
    """A digest of everything one household's ledger depends on: the scheme's rules (``rules``, their own
    digest), its enrolment, category and dated category changes, product terms, persons' dates and receipts (in a fixed order)."""
    text = repr(
        (
            rules,
            h.enrolment,
            h.category or "standard",
            sorted((p.enrolment, p.exit or date.min) for p in h.persons),
            sorted((day, Decimal(amount).normalize()) for day, amount in h.receipts),
            list(h.terms),
            sorted(h.category_changes or ()),
            *([sorted(h.product_changes)] if h.product_changes else []),
        )
    )
    return hashlib.sha1(text.encode()).hexdigest()


def _paid_on(receipts: Sequence[tuple[date, Decimal]], strike_off: date | None, enrolment: date):
    """A function giving the first day C(D) reaches an amount (§3: receipts before strike-off only)."""
    by_day: dict[date, Decimal] = {}
    for day, amount in receipts:
        if strike_off is not None and day >= strike_off:
            continue
        by_day[day] = by_day.get(day, Decimal(0)) + amount
    days = sorted(by_day)
    running: list[Decimal] = []
    total = Decimal(0)
    for day in days:
        total += by_day[day]
        # C(D) never falls (a reversal carries its original's date); the running maximum makes that explicit.
        running.append(max(total, running[-1]) if running else total)

    def first_day(amount: Decimal) -> date | None:
        if amount <= 0:
            return enrolment  # nothing to pay: paid from the start (a fully subsidised period)
        index = bisect_left(running, amount)
        return days[index] if index < len(days) else None

    return first_day


def ledger_rows(scheme_id: int, household_id: int, h: HouseholdInput, ledger: Ledger, horizon: date, rules: str):
    """The ``ReportHousehold`` row and the ``ReportPeriod`` rows of one household."""
    member_fee, parts = ledger.registration_split
    paid_on = _paid_on(h.receipts, ledger.strike_off_date, h.enrolment)
    periods = []
    cumulative = member_fee
    for start, end, gross, member_due in ledger.dues_until(horizon):
        cumulative += member_due
        periods.append(
            {
                "scheme_id": scheme_id,
                "household_id": household_id,
                "start": start,
                "end": end,
                "days": (end - start).days,
                "gross": gross,
                "member_due": member_due,
                "cumulative": cumulative,
                "paid_on": paid_on(cumulative),
            }
        )
    household = {
        "household_id": household_id,
        "scheme_id": scheme_id,
        "enrolment": h.enrolment,
        "registration_fee": member_fee + sum((part for _, part in parts), Decimal(0)),
        "registration_member": member_fee,
        "exit_date": ledger.exit_date,
        "strike_off_date": ledger.strike_off_date,
        "fingerprint": input_fingerprint(rules, h),
        "horizon": horizon,
    }
    return household, periods


def store_ledgers(session, scheme, items, *, rules: str, horizon: date | None = None, ids=None) -> None:
    """Write the stored ledgers of some households, replacing theirs: ``items`` maps household id →
    (HouseholdInput, Ledger), as the write that changed them has just built them. Bulk: one DELETE per table
    and COPY (PostgreSQL) or executemany (SQLite) for the new rows (core/tabular.bulk_insert).

    ``items`` may also be an iterator of (household id, (HouseholdInput, Ledger)) pairs, with ``ids`` the
    household ids it yields: on PostgreSQL each ledger is then built while the periods before it are being
    copied, so that the server ingests the rows on one core while the engine runs on the other (issue 17).
    """
    if ids is None:
        ids = list(items)
        items = items.items()
    if not ids:
        return
    horizon = horizon or default_horizon()
    # Stored ledger rows are never loaded as objects: nothing in the session to synchronise (and the ORM would
    # otherwise fetch the deleted ids back).
    for table in (ReportPeriod, ReportHousehold):
        session.execute(
            delete(table).where(one_of(session, table.household_id, ids)).execution_options(synchronize_session=False)
        )
    households: list[dict] = []

    def periods():
        # A ledger shared by households with equal inputs (contributions/services.py ``_shared_ledger``) gives
        # the same rows but for the household id: computed once, copied for the others (issue 17).
        done: dict[int, tuple[HouseholdInput, dict, list[dict]]] = {}
        for household_id, (h, ledger) in items:
            earlier = done.get(id(ledger))
            if earlier is not None and earlier[0] == h:
                household = {**earlier[1], "household_id": household_id}
                rows = [{**row, "household_id": household_id} for row in earlier[2]]
            else:
                household, rows = ledger_rows(scheme.id, household_id, h, ledger, horizon, rules)
                done[id(ledger)] = (h, household, rows)
            households.append(household)
            yield from rows

    # Periods first: the generator fills ``households`` as it goes.
    bulk_insert(session, ReportPeriod.__table__, periods())
    bulk_insert(session, ReportHousehold.__table__, households)
