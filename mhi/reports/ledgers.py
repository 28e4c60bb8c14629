"""The §6 contribution amounts of a report (contributions.md) summed in SQL over the stored household ledgers.

The stored ledgers (``ReportHousehold`` / ``ReportPeriod``, contributions/stored.py) are the SQL cache of each
household's ``Ledger``, written by the writes that change their inputs. A report only reads: ``contribution_amounts``
sums, for any [F, T]:

- expected, subsidies due, registration fees: the periods starting in [F, T] and households enrolled in [F, T];
- earned (gross and member share): Σ g_k · overlap / days over the periods paid by T, grouped by the period's
  length so that each group is one exact fraction, summed exactly and rounded once (§6);
- dues of the period paid, and arrears at T, household by household from the cumulative dues and C(T); for a
  month-aligned window (F the first of a month, T the last of one) from the scheme's due totals instead
  (``ReportDueTotal``, kept by ``store_ledgers``: a few hundred rows whatever the households), when they are whole.

When the stored ledgers do not reach T (a household never stored, or periods stored to a horizon before T) the
report reads the engine instead — slower, still a pure read. ``refresh`` is the repair and the scheduled job
(``flask report refresh-ledgers``): it rebuilds the ledgers whose inputs changed behind the application's back and
carries the horizons on. The results equal the engine's (tests/reports/test_ledgers.py compares them).
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

from sqlalchemy import (
    BigInteger,
    and_,
    case,
    cast,
    delete,
    false,
    func,
    literal,
    null,
    or_,
    select,
    type_coerce,
    union_all,
    update,
)

from mhi.contributions.models import Receipt, ReportDueTotal, ReportHousehold, ReportPeriod
from mhi.contributions.period_totals import ReportPeriodTotal
from mhi.contributions.rules import build_ledger, round_exact_sum
from mhi.contributions.services import household_inputs, iter_inputs
from mhi.contributions.stored import COUNT_KEY, HORIZON_DAYS, input_fingerprint, month_number, store_ledgers
from mhi.core.clock import today as clock_today
from mhi.core.db import Money, lock_scheme_totals
from mhi.members.models import Household
from mhi.reports import queries

#: Households checked and rebuilt per batch by ``refresh`` (memory stays flat on a large register).
CHUNK = 5000
_SCALE = Money().scale


def _raw(column):
    """A Money column as its stored integer (thousandths), for exact integer arithmetic in SQL."""
    return type_coerce(column, BigInteger)


def _units(raw) -> Decimal:
    """Stored thousandths back to a Decimal amount."""
    return Decimal(int(raw or 0)).scaleb(-_SCALE)


# -- keeping them current (writes only) --------------------------------------------------------------------------


def refresh(session, scheme, upto: date, *, today: date | None = None) -> int:
    """Rebuild the stored ledgers that are missing, whose inputs changed, or that stop before ``upto``; returns
    how many were rebuilt. A write, for the scheduled job and repairs — never called by a report.

    The households' inputs are read in batches and compared with the stored fingerprints (contributions/stored.py);
    the stale ones are rebuilt with periods to a year past ``upto`` (or today, when later).
    """
    session.flush()
    lock_scheme_totals(session, scheme.id)  # before any total row (core/db.py)
    horizon = max(upto, today or clock_today()) + timedelta(days=HORIZON_DAYS)
    count = 0
    whole = totals_whole(session, scheme)
    if not whole:
        # The due totals are rebuilt from nothing: every household's ledger is written again, adding its part.
        session.execute(delete(ReportDueTotal).where(ReportDueTotal.scheme_id == scheme.id))
        session.execute(
            update(ReportHousehold).where(ReportHousehold.scheme_id == scheme.id).values(due_totals=None),
            execution_options={"synchronize_session": False},
        )
    for rules, batch in iter_inputs(session, scheme, chunk=CHUNK):
        stored = dict(
            session.execute(
                select(ReportHousehold.household_id, ReportHousehold.fingerprint).where(
                    ReportHousehold.household_id.in_(list(batch)), ReportHousehold.horizon >= upto
                )
            ).all()
        )
        stale = {
            hid: (h, build_ledger(h))
            for hid, h in batch.items()
            if not whole or stored.get(hid) != input_fingerprint(rules, h)
        }
        store_ledgers(session, scheme, stale, rules=rules, horizon=horizon)
        count += len(stale)
    session.flush()
    return count


def rebuild(session, scheme, household_ids, horizon: date | None = None) -> None:
    """Rebuild the stored ledgers of ``household_ids`` with the contributions engine (periods to ``horizon``,
    by default a year from today)."""
    lock_scheme_totals(session, scheme.id)  # before any total row (core/db.py)
    for rules, batch in iter_inputs(session, scheme, list(household_ids), chunk=CHUNK):
        store_ledgers(
            session, scheme, {hid: (h, build_ledger(h)) for hid, h in batch.items()}, rules=rules, horizon=horizon
        )


def covers(session, scheme, upto: date) -> bool:
    """Whether the stored ledgers answer a report up to ``upto``: every household of the scheme is stored (as
    many stored ledgers as households: a stored ledger belongs to one household of its scheme), and stored to a
    horizon on or after ``upto``. Two index-only counts and one index read; an anti-join of the households
    against the ledgers cost a second at 1,000,000 households."""
    households = session.scalar(select(func.count()).select_from(Household).where(Household.scheme_id == scheme.id))
    stored, lowest = session.execute(
        select(func.count(), func.min(ReportHousehold.horizon)).where(ReportHousehold.scheme_id == scheme.id)
    ).one()
    if stored != households:
        return False
    return lowest is None or lowest >= upto


def totals_whole(session, scheme) -> bool:
    """Whether the scheme's due totals (``ReportDueTotal``) hold the part of every stored ledger and of nothing
    else: the households they count equal the stored ledgers, each with its part recorded. False after the
    migration that added them (until ``refresh-ledgers``) or rows written or deleted behind the application."""
    h = ReportHousehold
    stored, with_part = session.execute(
        select(func.count(), func.count(h.due_totals)).where(h.scheme_id == scheme.id)
    ).one()
    start, paid, left = COUNT_KEY
    counted = session.scalar(
        select(ReportDueTotal.due).where(
            ReportDueTotal.scheme_id == scheme.id,
            ReportDueTotal.start_month == start,
            ReportDueTotal.paid_month == paid,
            ReportDueTotal.left_month == left,
        )
    )
    return stored == with_part == (counted or 0)


# -- the §6 sums -----------------------------------------------------------------------------------------------

#: A report's period [F, T]. The sums below take several at once: the monthly trend asks 24 months in one scan.
Window = tuple[date, date]
#: Windows summed by one query (six sums a window in the widest of them).
WINDOWS_PER_QUERY = 36


def _earned_sums(session, scheme_id: int, windows: list[Window], opening: date, *, totals: bool = True) -> list:
    """For each window [F, T], per period length: Σ g·overlap and Σ d·overlap over [F, T], Σ g·overlap over
    [opening, T], and the dues and subsidies of the periods starting in [F, T] (raw thousandths). The month-aligned
    windows read the scheme's period totals (``ReportPeriodTotal``, kept by triggers: a few thousand rows) when
    ``totals``; the others, and all when ``totals`` is False (the reference the tests compare with), scan the
    periods."""
    aligned = [index for index, window in enumerate(windows) if totals and month_aligned(window)]
    others = [index for index in range(len(windows)) if index not in set(aligned)]
    results: list = [None] * len(windows)
    for indexes, from_totals in ((aligned, True), (others, False)):
        if indexes:
            chosen = [windows[index] for index in indexes]
            for index, groups in zip(
                indexes, _earned_groups(session, scheme_id, chosen, opening, from_totals=from_totals), strict=True
            ):
                results[index] = groups
    return results


def _earned_groups(session, scheme_id: int, windows: list[Window], opening: date, *, from_totals: bool):
    """``_earned_sums`` by one GROUP BY over the scheme's periods, or over its period totals (month-aligned
    windows only: "paid by T" is then "paid in a month up to T's", and every other condition and overlap reads the
    start and end the totals keep), five conditional sums a window."""
    if from_totals:
        p = ReportPeriodTotal

        def paid_by(date_to: date):
            return and_(p.paid_month != 0, p.paid_month <= month_number(date_to))

        of_scheme = p.scheme_id == scheme_id
    else:
        p = ReportPeriod

        def paid_by(date_to: date):
            return and_(p.paid_on.isnot(None), p.paid_on <= date_to)

        of_scheme = queries.of_scheme(session, p.scheme_id, scheme_id)
    columns = []
    for date_from, date_to in windows:
        after_t = date_to + timedelta(days=1)
        paid = and_(paid_by(date_to), p.start <= date_to)

        def overlap(first: date, after_t: date = after_t):
            lo = queries.greatest(session, p.start, literal(first))
            hi = queries.least(session, p.end, literal(after_t))
            return queries.days_between(session, hi, lo)

        in_period = and_(p.start >= date_from, p.start <= date_to)
        # Earned since the opening: nothing when the scheme opens after T (the overlap would be negative).
        since = and_(paid, p.end > opening) if opening <= date_to else false()
        columns += [
            func.sum(case((and_(paid, p.end > date_from), _raw(p.gross) * overlap(date_from)), else_=0)),
            func.sum(case((and_(paid, p.end > date_from), _raw(p.member_due) * overlap(date_from)), else_=0)),
            func.sum(case((since, _raw(p.gross) * overlap(opening)), else_=0)),
            func.sum(case((in_period, _raw(p.member_due)), else_=0)),
            func.sum(case((in_period, _raw(p.gross) - _raw(p.member_due)), else_=0)),
        ]
    rows = session.execute(select(p.days, *columns).where(of_scheme).group_by(p.days)).all()
    return [[(row[0], *row[1 + 5 * index : 6 + 5 * index]) for row in rows] for index in range(len(windows))]


def _household_terms(session, scheme_id: int, windows: list[Window]):
    """Per stored household (``ReportHousehold`` joined to its cumulative dues and C(T)): for each window, the
    expressions of the §6 dues paid and arrears at T, and the select to put them in. Shared by the report sums and
    by ``household_arrears`` so that the cache computes "arrears at T" one way."""
    p = ReportPeriod
    h = ReportHousehold
    # The periods and the receipts as one stream grouped once by household (UNION ALL, then GROUP BY): a single
    # aggregate that PostgreSQL runs in parallel, where two grouped subqueries joined to the households were each
    # rebuilt in every parallel worker (3× the work at 100,000 households).
    nothing = cast(null(), BigInteger)
    period_columns = []
    receipt_columns = []
    for index, (date_from, date_to) in enumerate(windows):
        period_columns += [
            case((p.start < date_from, _raw(p.cumulative)), else_=None).label(f"before_{index}"),
            case((p.start <= date_to, _raw(p.cumulative)), else_=None).label(f"upto_{index}"),
        ]
        receipt_columns += [nothing.label(f"before_{index}"), nothing.label(f"upto_{index}")]
    for index, (_, date_to) in enumerate(windows):
        period_columns.append(nothing.label(f"total_{index}"))
        receipt_columns.append(
            case((Receipt.date <= date_to, _raw(Receipt.amount)), else_=None).label(f"total_{index}")
        )
    stream = union_all(
        select(p.household_id.label("hid"), *period_columns).where(queries.of_scheme(session, p.scheme_id, scheme_id)),
        select(Receipt.household_id.label("hid"), *receipt_columns)
        .join(h, h.household_id == Receipt.household_id)
        .where(
            queries.of_scheme(session, Receipt.scheme_id, scheme_id),
            Receipt.date <= max(date_to for _, date_to in windows),
            or_(h.strike_off_date.is_(None), Receipt.date < h.strike_off_date),
        ),
    ).subquery()
    aggregates = []
    for index in range(len(windows)):
        aggregates += [
            func.max(stream.c[f"before_{index}"]).label(f"before_{index}"),
            func.max(stream.c[f"upto_{index}"]).label(f"upto_{index}"),
            func.sum(stream.c[f"total_{index}"]).label(f"total_{index}"),
        ]
    grouped = select(stream.c.hid, *aggregates).group_by(stream.c.hid).subquery()
    cumulative = paid = grouped
    member_fee = _raw(h.registration_member)
    zero = literal(0, BigInteger)
    terms = []
    for index, (date_from, date_to) in enumerate(windows):
        # §6: ``before`` = r (if E < F) + dues of the periods before F; ``upto`` = r + dues of the periods to T.
        before = case((h.enrolment < date_from, func.coalesce(cumulative.c[f"before_{index}"], member_fee)), else_=zero)
        upto = case((h.enrolment <= date_to, func.coalesce(cumulative.c[f"upto_{index}"], member_fee)), else_=zero)
        c_t = func.coalesce(paid.c[f"total_{index}"], zero)
        dues_paid = queries.least(
            session, upto - before, queries.greatest(session, zero, c_t - before, type_=BigInteger), type_=BigInteger
        )
        active = and_(
            h.enrolment <= date_to,
            or_(h.exit_date.is_(None), h.exit_date > date_to),
            or_(h.strike_off_date.is_(None), h.strike_off_date > date_to),
        )
        arrears = case((active, queries.greatest(session, zero, upto - c_t, type_=BigInteger)), else_=zero)
        terms.append((dues_paid, arrears))

    def joined(*columns):
        return (
            select(*columns)
            .select_from(h)
            .outerjoin(grouped, grouped.c.hid == h.household_id)
            .where(h.scheme_id == scheme_id)
        )

    return terms, joined


def household_arrears(session, scheme, on: date) -> dict[int, Decimal]:
    """Arrears at ``on`` of each household owing something, from the stored ledgers: the cache of
    ``Ledger.arrears`` (contributions/rules.py), tested against it household by household."""
    [(_, arrears)], joined = _household_terms(session, scheme.id, [(on, on)])
    rows = session.execute(joined(ReportHousehold.household_id, arrears)).all()
    return {hid: _units(value) for hid, value in rows if value}


def _household_sums(session, scheme_id: int, windows: list[Window], opening: date) -> list[tuple]:
    """For each window: dues of the period paid, arrears at T and the registration sums, household by household
    in SQL (§6), six sums a window in one query."""
    h = ReportHousehold
    zero = literal(0, BigInteger)
    member_fee = _raw(h.registration_member)
    terms, joined = _household_terms(session, scheme_id, windows)
    columns = []
    for (date_from, date_to), (dues_paid, arrears) in zip(windows, terms, strict=True):
        enrolled_in = and_(h.enrolment >= date_from, h.enrolment <= date_to)
        columns += [
            func.sum(dues_paid),
            func.sum(arrears),
            func.sum(case((enrolled_in, member_fee), else_=zero)),
            func.sum(case((enrolled_in, _raw(h.registration_fee) - member_fee), else_=zero)),
            func.sum(case((enrolled_in, _raw(h.registration_fee)), else_=zero)),
            func.sum(
                case((and_(h.enrolment >= opening, h.enrolment <= date_to), _raw(h.registration_fee)), else_=zero)
            ),
        ]
    row = session.execute(joined(*columns)).one()
    return [tuple(row[6 * index : 6 * index + 6]) for index in range(len(windows))]


def month_aligned(window: Window) -> bool:
    """F the first of a month and T the last of one: the windows the due totals answer."""
    date_from, date_to = window
    return date_from.day == 1 and (date_to + timedelta(days=1)).day == 1 and date_from <= date_to


def _registration_sums(session, scheme_id: int, windows: list[Window], opening: date) -> list[tuple]:
    """For each window: the four registration sums of ``_household_sums``, over ``ReportHousehold`` alone."""
    h = ReportHousehold
    zero = literal(0, BigInteger)
    member_fee = _raw(h.registration_member)
    columns = []
    for date_from, date_to in windows:
        enrolled_in = and_(h.enrolment >= date_from, h.enrolment <= date_to)
        columns += [
            func.sum(case((enrolled_in, member_fee), else_=zero)),
            func.sum(case((enrolled_in, _raw(h.registration_fee) - member_fee), else_=zero)),
            func.sum(case((enrolled_in, _raw(h.registration_fee)), else_=zero)),
            func.sum(
                case((and_(h.enrolment >= opening, h.enrolment <= date_to), _raw(h.registration_fee)), else_=zero)
            ),
        ]
    row = session.execute(select(*columns).where(h.scheme_id == scheme_id)).one()
    return [tuple(row[4 * index : 4 * index + 4]) for index in range(len(windows))]


def _total_sums(session, scheme_id: int, windows: list[Window], opening: date) -> list[tuple]:
    """``_household_sums`` for month-aligned windows, its dues of the period paid and arrears read from the due
    totals (``ReportDueTotal``, kept by ``store_ledgers``):

    - dues of the period paid = Σ paid over the items starting in months [F, T] paid in months to T: the items
      are paid in order, so this telescopes to §6's min(window, max(0, C(T) − before));
    - arrears at T = Σ (due − paid + short) over the items starting to T, paid to T, of households that had not
      left by T: r + Σ d_k − min(that, C(T)) + max(0, −C(T)) = max(0, upto − C(T)).
    """
    t = ReportDueTotal
    columns = []
    for date_from, date_to in windows:
        first, last = month_number(date_from), month_number(date_to)
        columns += [
            func.sum(
                case((and_(t.start_month >= first, t.start_month <= last, t.paid_month <= last), t.paid), else_=0)
            ),
            func.sum(
                case(
                    (and_(t.start_month <= last, t.paid_month <= last, t.left_month > last), t.due - t.paid + t.short),
                    else_=0,
                )
            ),
        ]
    row = session.execute(select(*columns).where(t.scheme_id == scheme_id, t.start_month >= 0)).one()
    registration = _registration_sums(session, scheme_id, windows, opening)
    return [(row[2 * index], row[2 * index + 1], *registration[index]) for index in range(len(windows))]


def amounts_many(session, scheme, windows: list[Window], opening: date, *, totals: bool | None = None) -> list:
    """contributions.md §6 amounts of ``scheme`` for each window [F, T] (and earned since ``opening``), in the
    windows' order; reads only. SQL over the stored ledgers when they reach the last T — the same few scans
    whatever the number of windows (a 24-month trend costs about what one report does) — else the engine over
    ledgers loaded once. ``totals``: whether the month-aligned windows may read the due totals (None: when they
    are whole; False: the household scan, which the tests compare them with) and the period totals (None or True:
    they are kept by triggers; False: the scan of the periods)."""
    if not windows:
        return []
    upto = max(date_to for _, date_to in windows)
    if covers(session, scheme, upto):
        if totals is None:
            totals = totals_whole(session, scheme)
        # A few dozen windows a query keeps its column count far below SQLite's limit of 2,000.
        return [
            amounts
            for start in range(0, len(windows), WINDOWS_PER_QUERY)
            for amounts in _stored_amounts(
                session, scheme, windows[start : start + WINDOWS_PER_QUERY], opening, totals=totals
            )
        ]
    from mhi.reports.indicators import engine_contribution_amounts

    engine = [build_ledger(h) for h in household_inputs(session, scheme).values()]
    return [
        engine_contribution_amounts(engine, scheme.currency, date_from, date_to, opening)
        for date_from, date_to in windows
    ]


def contribution_amounts(session, scheme, date_from: date, date_to: date, opening: date, *, totals=None):
    """contributions.md §6 amounts of ``scheme`` for [F, T] (and earned since ``opening``); reads only."""
    return amounts_many(session, scheme, [(date_from, date_to)], opening, totals=totals)[0]


def _household_groups(session, scheme, windows: list[Window], opening: date, *, totals: bool | None) -> list[tuple]:
    """``_household_sums`` of each window: from the due totals for the month-aligned windows when they are whole
    (``totals`` None: check), by the household scan for the others (and for all when ``totals`` is False)."""
    if totals is None:
        totals = totals_whole(session, scheme)
    aligned = [index for index, window in enumerate(windows) if totals and month_aligned(window)]
    others = [index for index in range(len(windows)) if index not in set(aligned)]
    results: list = [None] * len(windows)
    if aligned:
        for index, sums in zip(
            aligned, _total_sums(session, scheme.id, [windows[i] for i in aligned], opening), strict=True
        ):
            results[index] = sums
    if others:
        for index, sums in zip(
            others, _household_sums(session, scheme.id, [windows[i] for i in others], opening), strict=True
        ):
            results[index] = sums
    return results


def _stored_amounts(session, scheme, windows: list[Window], opening: date, *, totals: bool | None = None) -> list:
    """The §6 amounts of each window summed in SQL over the stored ledgers (module docstring)."""
    from mhi.reports.indicators import ContributionAmounts

    currency = scheme.currency
    unit = Fraction(10**_SCALE)
    results = []
    earned_groups = _earned_sums(session, scheme.id, windows, opening, totals=totals is not False)
    household_groups = _household_groups(session, scheme, windows, opening, totals=totals)
    for groups, household in zip(earned_groups, household_groups, strict=True):
        earned: list[Fraction] = []
        member: list[Fraction] = []
        earned_since: list[Fraction] = []
        expected = subsidies = 0
        for days, gross, member_part, gross_since, dues, subsidy in groups:
            # Each group is one exact fraction: Σ g · overlap over periods of ``days`` days, divided by ``days``.
            earned.append(Fraction(int(gross or 0), days) / unit)
            member.append(Fraction(int(member_part or 0), days) / unit)
            earned_since.append(Fraction(int(gross_since or 0), days) / unit)
            expected += int(dues or 0)
            subsidies += int(subsidy or 0)
        dues_paid, arrears, fees_member, fees_subsidy, fees, fees_since = household
        results.append(
            ContributionAmounts(
                contributions_expected=_units(expected + int(fees_member or 0)),
                period_dues_paid=_units(dues_paid),
                subsidies_due=_units(subsidies + int(fees_subsidy or 0)),
                contributions_earned=round_exact_sum(earned, currency),
                member_contributions_earned=round_exact_sum(member, currency),
                registration_fees=_units(fees),
                arrears=_units(arrears),
                earned_since_opening=round_exact_sum(earned_since, currency),
                registration_fees_since_opening=_units(fees_since),
            )
        )
    return results
