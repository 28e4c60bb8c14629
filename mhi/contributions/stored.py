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
import json
from bisect import bisect_left
from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite

from mhi.contributions.models import ReportDueTotal, ReportHousehold, ReportPeriod
from mhi.contributions.rules import HouseholdInput, Ledger
from mhi.core.clock import today as clock_today
from mhi.core.db import lock_scheme_totals, one_of
from mhi.core.tabular import bulk_insert, copy_stored

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


#: Texts of values ``input_fingerprint`` writes again and again (dates, amounts, persons' dates, a product's
#: terms): a store of 100,000 households repeats a few hundred of each (issue 17). Emptied when it grows past
#: ``_TEXTS_KEPT``; a product's terms are kept with the object itself, so that a reused id is never mistaken.
_TEXTS: dict = {}
_TERMS_TEXTS: dict[int, tuple[object, tuple, str]] = {}
_TEXTS_KEPT = 100_000


def input_fingerprint(rules: str, h: HouseholdInput) -> str:
    """A digest of everything one household's ledger depends on: the scheme's rules (``rules``, their own
    digest), its enrolment, category and dated category changes, product terms, persons' dates and receipts (in
    a fixed order).

    The digest is of ``repr`` of the tuple (rules, enrolment, category, sorted persons' (enrolment, exit or
    date.min), sorted receipts' (day, normalised amount), list(terms), sorted category changes[, sorted product
    changes]): that text is built here piece by piece from the texts of the values, each computed once
    (``_TEXTS``), the same text byte for byte (tests/contributions/test_stored_texts.py compares it with the
    tuple's ``repr``) at a third of the cost in a national import (issue 17)."""
    texts = _TEXTS
    if len(texts) > _TEXTS_KEPT:
        texts.clear()
    persons = tuple(sorted([(p.enrolment, p.exit or date.min) for p in h.persons]))
    persons_text = texts.get(persons)
    if persons_text is None:
        persons_text = texts[persons] = repr(list(persons))
    receipts = []
    for day, amount in sorted(h.receipts):  # equal amounts have equal normalised texts: the order is the same
        day_text = texts.get(day)
        if day_text is None:
            day_text = texts[day] = repr(day)
        amount_text = texts.get(amount)
        if amount_text is None:
            amount_text = texts[amount] = repr(Decimal(amount).normalize())
        receipts.append(f"({day_text}, {amount_text})")
    terms = h.terms
    known = _TERMS_TEXTS.get(id(terms))
    # The same list holding the same (immutable) versions: a list changed in place is written again.
    if (
        known is None
        or known[0] is not terms
        or len(known[1]) != len(terms)
        or any(a is not b for a, b in zip(known[1], terms, strict=False))
    ):
        if len(_TERMS_TEXTS) > 1000:
            _TERMS_TEXTS.clear()
        known = _TERMS_TEXTS[id(terms)] = (terms, tuple(terms), repr(list(terms)))
    items = [
        repr(rules),
        repr(h.enrolment),
        repr(h.category or "standard"),
        persons_text,
        "[" + ", ".join(receipts) + "]",
        known[2],
        repr(sorted(h.category_changes or ())),
    ]
    if h.product_changes:
        items.append(repr(sorted(h.product_changes)))
    return hashlib.sha1(("(" + ", ".join(items) + ")").encode()).hexdigest()


def month_number(day: date) -> int:
    """``ReportDueTotal``'s months: year · 12 + month − 1."""
    return day.year * 12 + day.month - 1


def due_parts(h: HouseholdInput, ledger: Ledger, horizon: date) -> tuple[int, dict[tuple[int, int], list[int]]]:
    """This household's part of ``ReportDueTotal``: (month it left or ``NEVER``, {(start month, month paid):
    [due, paid, short]}), months and thousandths.

    The items are r (starting at enrolment) and the stored periods' d_k, in order; the receipts before strike-off
    (the report's C(T)) pay them in that order, so item i is paid clamp(C(D) − c_{i−1}, 0, x_i) on day D. For
    each month C changes, the change of each item's paid amount is a part (start month, month, amount): the
    parts dated to T add up to what is paid of the item at T, which makes the §6 dues of the period paid and
    arrears linear sums for month-aligned windows (reports/ledgers.py). An item's due is keyed (start, start): a
    report counts it when start ≤ T, which implies "paid month ≤ T", and it shares its row with what was paid in
    its own month (half the rows of a household paying as it goes)."""
    left_day = ledger.exit_date
    strike_off = ledger.strike_off_date
    if strike_off is not None and (left_day is None or strike_off < left_day):
        left_day = strike_off
    left = NEVER if left_day is None else left_day.year * 12 + left_day.month - 1
    enrolled = h.enrolment.year * 12 + h.enrolment.month - 1
    scale, member_fee, period_starts, period_dues = ledger.member_dues_minor(horizon)
    unit = 10 ** (_SCALE - scale)
    starts = [enrolled]
    dues = [member_fee * unit]
    parts: dict[tuple[int, int], list[int]] = {}
    if member_fee:
        parts[(enrolled, enrolled)] = [member_fee * unit, 0, 0]
    for start, due in zip(period_starts, period_dues, strict=True):
        month = start.year * 12 + start.month - 1
        due *= unit
        starts.append(month)
        dues.append(due)
        if due:
            values = parts.get((month, month))
            if values is None:
                parts[(month, month)] = [due, 0, 0]
            else:
                values[0] += due
    months = ledger.c_by_month()
    if months:
        ends = []
        total = 0
        for due in dues:
            total += due
            ends.append(total)
        count = len(dues)
        before = 0
        for month, after in months:
            after *= unit
            if after == before:
                continue
            low, high = (before, after) if before < after else (after, before)
            index = bisect_left(ends, low + 1)  # the first item not wholly paid at ``low``
            while index < count:
                due = dues[index]
                first = ends[index] - due
                if first >= high:
                    break
                paid_after = after - first
                paid_after = 0 if paid_after < 0 else due if paid_after > due else paid_after
                paid_before = before - first
                paid_before = 0 if paid_before < 0 else due if paid_before > due else paid_before
                if paid_after != paid_before:
                    key = (starts[index], month)
                    values = parts.get(key)
                    if values is None:
                        parts[key] = [0, paid_after - paid_before, 0]
                    else:
                        values[1] += paid_after - paid_before
                index += 1
            if before < 0 or after < 0:
                short = max(0, -after) - max(0, -before)
                parts.setdefault((enrolled, month), [0, 0, 0])[2] += short
            before = after
    return left, parts


def encode_due_parts(left: int, parts: dict[tuple[int, int], list[int]]) -> str:
    """``report_household.due_totals``: JSON [left, start, paid, due, amount, short, start, …] (parsed in C)."""
    flat = [left]
    for key, values in parts.items():
        flat += (*key, *values)
    # What json.dumps(flat, separators=(",", ":")) writes for a list of integers, at half its cost (issue 17).
    return repr(flat).replace(" ", "")


def _add(totals: dict, left: int, parts, factor: int) -> None:
    for (start, paid), (due, amount, short) in parts:
        key = (start, paid, left)
        values = totals.get(key)
        if values is None:
            totals[key] = [factor * due, factor * amount, factor * short]
        else:
            values[0] += factor * due
            values[1] += factor * amount
            values[2] += factor * short


def subtract_encoded(totals: dict, encodings: Counter) -> None:
    """Subtract households' stored parts (``encode_due_parts``; each distinct encoding read once) from
    ``totals``, keyed like ``ReportDueTotal``."""
    for encoded, times in encodings.items():
        numbers = json.loads(encoded)
        rows = (((numbers[i], numbers[i + 1]), numbers[i + 2 : i + 5]) for i in range(1, len(numbers), 5))
        _add(totals, numbers[0], rows, -times)
        totals.setdefault(COUNT_KEY, [0, 0, 0])[0] -= times


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


def _paid_on_days(ledger: Ledger, horizon: date, enrolment: date) -> list[date | None]:
    """For each due period to ``horizon``, the first day C(D) ≥ r + d_0 + … + d_k (``ReportPeriod.paid_on``;
    the running maximum of C: it never falls, a reversal carries its original's date), in minor units: one walk
    over the receipt days for all the periods (``_paid_on`` bisected a Decimal list for each)."""
    _, cumulative, _, dues = ledger.member_dues_minor(horizon)
    days, totals = ledger.c_by_day()
    result: list[date | None] = []
    reached = None  # the running maximum of C so far, and the day it was first reached
    day = None
    index, count = 0, len(days)
    for due in dues:
        cumulative += due
        if cumulative <= 0:
            result.append(enrolment)  # nothing to pay: paid from the start (a fully subsidised period)
            continue
        while (reached is None or reached < cumulative) and index < count:
            if reached is None or totals[index] > reached:
                reached = totals[index]
            day = days[index]
            index += 1
        result.append(day if reached is not None and reached >= cumulative else None)
    return result


#: ``ReportPeriod``'s columns, in the order of the tuples ``ledger_rows(..., stored=True)`` gives.
PERIOD_COLUMNS = (
    "scheme_id",
    "household_id",
    "start",
    "end",
    "days",
    "gross",
    "member_due",
    "cumulative",
    "paid_on",
)


def ledger_rows(
    scheme_id: int, household_id: int, h: HouseholdInput, ledger: Ledger, horizon: date, rules: str, *, stored=False
):
    """The ``ReportHousehold`` row and the ``ReportPeriod`` rows of one household.

    The periods are dicts of the columns' values, or with ``stored`` tuples of what the database stores
    (``PERIOD_COLUMNS`` in order, amounts in integer thousandths): the PostgreSQL COPY of a national import writes
    them without a Decimal made and converted back for each (issue 17; tests/contributions/test_stored_texts.py
    checks that both say the same)."""
    member_fee, parts = ledger.registration_split
    paid_on = _paid_on_days(ledger, horizon, h.enrolment)
    periods: list = []
    if stored:
        scale, cumulative, starts, gross, dues = ledger.dues_until_minor(horizon)
        unit = 10 ** (_SCALE - scale)
        for k, due in enumerate(dues):
            cumulative += due
            start, end = starts[k], starts[k + 1]
            periods.append(
                (
                    scheme_id,
                    household_id,
                    start,
                    end,
                    (end - start).days,
                    gross[k] * unit,
                    due * unit,
                    cumulative * unit,
                    paid_on[k],
                )
            )
    else:
        cumulative = member_fee
        for (start, end, gross, member_due), paid_day in zip(ledger.dues_until(horizon), paid_on, strict=True):
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
                    "paid_on": paid_day,
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
    left, due = due_parts(h, ledger, horizon)
    household["due_totals"] = encode_due_parts(left, due)
    return household, periods, (left, due)


@dataclass
class BuiltLedgers:
    """The stored-ledger rows of some households, built ahead of their write (``build_ledgers``): the periods
    (stored values on PostgreSQL, dicts elsewhere), the households' rows, and each distinct ledger's due totals
    part with how many households share it."""

    ids: list[int]
    periods: list
    households: list[dict]
    parts: list[list]


def _period_rows(scheme_id: int, items, horizon: date, rules: str, stored: bool, households: list, added: list):
    """The periods of ``items`` ((household id, (HouseholdInput, Ledger)) pairs) one after the other, filling
    ``households`` with their rows and ``added`` with each distinct ledger's due totals part as it goes.

    A ledger shared by households with equal inputs (contributions/services.py ``_shared_ledger``) gives the same
    rows but for the household id: computed once, copied for the others (issue 17)."""
    done: dict[int, tuple[HouseholdInput, dict, list, list]] = {}
    for household_id, (h, ledger) in items:
        earlier = done.get(id(ledger))
        if earlier is not None and earlier[0] == h:
            household = {**earlier[1], "household_id": household_id}
            if stored:
                rows = [(row[0], household_id, *row[2:]) for row in earlier[2]]
            else:
                rows = [{**row, "household_id": household_id} for row in earlier[2]]
            earlier[3][2] += 1
        else:
            household, rows, (left, due) = ledger_rows(
                scheme_id, household_id, h, ledger, horizon, rules, stored=stored
            )
            part = [left, due, 1]  # this household's due totals part, and how many households share it
            added.append(part)
            done[id(ledger)] = (h, household, rows, part)
        households.append(household)
        yield from rows


def build_ledgers(scheme_id: int, items, *, rules: str, stored: bool, horizon: date | None = None) -> BuiltLedgers:
    """The rows ``store_ledgers`` would write for ``items`` (pairs as above), built now without the database:
    a register import builds its new households' rows while the server ingests them (issue 17). For households
    with no stored ledger yet (``store_ledgers``' ``built``). ``stored``: the database is PostgreSQL
    (``store_ledgers`` copies its periods as stored values)."""
    households: list[dict] = []
    added: list[list] = []
    ids: list[int] = []

    def pairs():
        for household_id, pair in items:
            ids.append(household_id)
            yield household_id, pair

    periods = list(_period_rows(scheme_id, pairs(), horizon or default_horizon(), rules, stored, households, added))
    return BuiltLedgers(ids, periods, households, added)


def store_ledgers(
    session, scheme, items=None, *, rules: str, horizon: date | None = None, ids=None, built=None
) -> None:
    """Write the stored ledgers of some households, replacing theirs: ``items`` maps household id →
    (HouseholdInput, Ledger), as the write that changed them has just built them. Bulk: one DELETE per table
    and COPY (PostgreSQL) or executemany (SQLite) for the new rows (core/tabular.bulk_insert).

    ``items`` may also be an iterator of (household id, (HouseholdInput, Ledger)) pairs, with ``ids`` the
    household ids it yields: on PostgreSQL each ledger is then built while the periods before it are being
    copied, so that the server ingests the rows on one core while the engine runs on the other (issue 17).
    ``built`` (``build_ledgers``, for the same database): rows built ahead for households inserted in this
    transaction (a register import's new households), written as they are: they have no stored ledger to replace.
    """
    if built is not None:
        ids = built.ids
    elif ids is None:
        ids = list(items)
        items = items.items()
    if not ids:
        return
    # The callers (the refresh, the repair) hold it already; taken here too so that no writer of the totals can
    # come to them without it (core/db.py ``lock_scheme_totals``).
    lock_scheme_totals(session, scheme.id)
    horizon = horizon or default_horizon()
    totals: dict = {}
    if built is None:
        # The old ledgers' part of the scheme's due totals, subtracted (reports/ledgers.py reads the totals).
        old = session.scalars(
            select(ReportHousehold.due_totals).where(
                one_of(session, ReportHousehold.household_id, ids), ReportHousehold.due_totals.isnot(None)
            )
        )
        subtract_encoded(totals, Counter(old))
        # Stored ledger rows are never loaded as objects: nothing in the session to synchronise (and the ORM would
        # otherwise fetch the deleted ids back).
        for table in (ReportPeriod, ReportHousehold):
            session.execute(
                delete(table)
                .where(one_of(session, table.household_id, ids))
                .execution_options(synchronize_session=False)
            )
    # On PostgreSQL the periods are copied as the stored values (``ledger_rows(..., stored=True)``).
    stored = session.get_bind().dialect.name == "postgresql"
    if built is not None:
        households, added, periods = built.households, built.parts, built.periods
    else:
        households, added = [], []
        # A generator: it fills ``households`` and ``added`` as the COPY consumes it.
        periods = _period_rows(scheme.id, items, horizon, rules, stored, households, added)
    if stored:
        copy_stored(session, ReportPeriod.__table__, PERIOD_COLUMNS, periods)
    else:
        bulk_insert(session, ReportPeriod.__table__, periods if isinstance(periods, list) else list(periods))
    bulk_insert(session, ReportHousehold.__table__, households)
    for left, due, times in added:
        _add(totals, left, due.items(), times)
    totals.setdefault(COUNT_KEY, [0, 0, 0])[0] += len(households)
    apply_due_totals(session, scheme.id, totals)
