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

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite

from mhi.contributions.models import ReportDueTotal, ReportHousehold, ReportPeriod
from mhi.contributions.rules import HouseholdInput, Ledger
from mhi.core.clock import today as clock_today
from mhi.core.db import one_of
from mhi.core.tabular import bulk_insert

#: How far past the day of the write periods are stored: a fully subsidised household's schedule has no end
#: (contributions.md §3), so it is stored up to a horizon and carried on by ``flask report refresh-ledgers``.
HORIZON_DAYS = 366
#: ``ReportDueTotal``'s month of leaving for a household that has neither exited nor been struck off.
NEVER = 10**6
#: ``ReportDueTotal``'s key of the row counting the households whose part is in the totals.
COUNT_KEY = (-1, -1, -1)
_SCALE = 3  # Money's stored thousandths (core/db.py)


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


def month_number(day: date) -> int:
    """``ReportDueTotal``'s months: year · 12 + month − 1."""
    return day.year * 12 + day.month - 1


def _thousandths(amount) -> int:
    return int(Decimal(amount).scaleb(_SCALE))


def due_parts(h: HouseholdInput, ledger: Ledger, member_fee: Decimal, periods: list[dict]) -> str:
    """This household's part of ``ReportDueTotal``, encoded ``left|start,paid,due,paid,short;…``.

    The items are r (starting at enrolment) and the stored periods' d_k, in order; the receipts before strike-off
    (as the report's C(T)) pay them in that order, so item i is paid clamp(C(D) − c_{i−1}, 0, x_i) on day D. Each
    day C changes, the change of each item's paid amount is a part (start month, month of the day, amount): the
    parts dated to T add up to what is paid of the item at T, which makes the §6 dues of the period paid and
    arrears linear sums for month-aligned windows (reports/ledgers.py)."""
    left_day = min((d for d in (ledger.exit_date, ledger.strike_off_date) if d is not None), default=None)
    left = NEVER if left_day is None else month_number(left_day)
    enrolled = month_number(h.enrolment)
    starts = [enrolled] + [month_number(row["start"]) for row in periods]
    dues = [_thousandths(member_fee)] + [_thousandths(row["member_due"]) for row in periods]
    parts: dict[tuple[int, int], list[int]] = {}
    for start, due in zip(starts, dues, strict=True):
        if due:
            parts.setdefault((start, 0), [0, 0, 0])[0] += due
    strike_off = ledger.strike_off_date
    by_day: dict[date, int] = {}
    for day, amount in h.receipts:
        if strike_off is None or day < strike_off:
            by_day[day] = by_day.get(day, 0) + _thousandths(amount)
    if by_day:
        ends = []
        total = 0
        for due in dues:
            total += due
            ends.append(total)
        before = 0
        for day in sorted(by_day):
            after = before + by_day[day]
            if after == before:
                continue
            month = month_number(day)
            low, high = min(before, after), max(before, after)
            index = bisect_left(ends, low + 1)  # the first item not wholly paid at ``low``
            while index < len(dues) and ends[index] - dues[index] < high:
                first = ends[index] - dues[index]
                change = min(max(after - first, 0), dues[index]) - min(max(before - first, 0), dues[index])
                if change:
                    parts.setdefault((starts[index], month), [0, 0, 0])[1] += change
                index += 1
            short = max(0, -after) - max(0, -before)
            if short:
                parts.setdefault((enrolled, month), [0, 0, 0])[2] += short
            before = after
    return f"{left}|" + ";".join(
        f"{start},{paid},{due},{amount},{short}" for (start, paid), (due, amount, short) in parts.items()
    )


def _add_parts(totals: dict, encoded: str, sign: int) -> None:
    """Add (``sign`` 1) or subtract (−1) one household's encoded part to ``totals`` keyed like ``ReportDueTotal``."""
    left, _, rows = encoded.partition("|")
    left_month = int(left)
    for row in rows.split(";") if rows else ():
        start, paid, due, amount, short = (int(x) for x in row.split(","))
        values = totals.setdefault((start, paid, left_month), [0, 0, 0])
        values[0] += sign * due
        values[1] += sign * amount
        values[2] += sign * short
    count = totals.setdefault(COUNT_KEY, [0, 0, 0])
    count[0] += sign


def apply_due_totals(session, scheme_id: int, totals: dict) -> None:
    """Add ``totals`` (key → [due, paid, short]) to ``ReportDueTotal``: one grouped upsert, rows sorted by key
    so that concurrent writers take the row locks in one order (never a deadlock)."""
    rows = [
        {
            "scheme_id": scheme_id,
            "start_month": start,
            "paid_month": paid,
            "left_month": left,
            "due": values[0],
            "paid": values[1],
            "short": values[2],
        }
        for (start, paid, left), values in sorted(totals.items())
        if any(values)
    ]
    if not rows:
        return
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    table = ReportDueTotal.__table__
    insert = dialect.insert(table)
    statement = insert.on_conflict_do_update(
        index_elements=["scheme_id", "start_month", "paid_month", "left_month"],
        set_={name: table.c[name] + insert.excluded[name] for name in ("due", "paid", "short")},
    )
    session.execute(statement, rows)


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
    household["due_totals"] = due_parts(h, ledger, member_fee, periods)
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
    # The old ledgers' part of the scheme's due totals, subtracted (reports/ledgers.py reads the totals).
    totals: dict = {}
    for (encoded,) in session.execute(
        select(ReportHousehold.due_totals).where(
            one_of(session, ReportHousehold.household_id, ids), ReportHousehold.due_totals.isnot(None)
        )
    ):
        _add_parts(totals, encoded, -1)
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
    for household in households:
        _add_parts(totals, household["due_totals"], 1)
    apply_due_totals(session, scheme.id, totals)
