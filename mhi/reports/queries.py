"""The read side of the monitoring reports: set-based SQL aggregates over one scheme (indicators.md).

Every function here runs a handful of aggregate queries (SUM/COUNT with CASE, GROUP BY) and never loads rows
to loop over them in Python. Membership comes from ``CoverageSpan`` ⋈ ``Person`` (the derived half-open
coverage spans of contributions.md §4), claims and finance from their tables. Day counts need date arithmetic,
which SQLite and PostgreSQL spell differently: ``days_between``, ``greatest`` and ``least`` hide that.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from flask import current_app
from sqlalchemy import Date, Integer, and_, case, cast, func, literal, or_, select
from sqlalchemy.orm import aliased

from mhi.claims.models import Claim
from mhi.contributions.models import CoverageSpan, Receipt
from mhi.core.money import ZERO
from mhi.members.models import Household, Person
from mhi.schemes.models import Benefit, Expense, Product, ProductVersion
from mhi.subsidies.models import SubsidyReceipt

#: Statuses of the claims that cost the scheme money (indicators.md "Claims of the period").
PAYABLE = ("APPROVED", "REDUCED")


# -- dialect helpers -------------------------------------------------------------------------------------------


def _dialect(session) -> str:
    """``sqlite`` or ``postgresql``: the two databases the project runs on."""
    return session.get_bind().dialect.name


def days_between(session, later, earlier):
    """SQL for ``later − earlier`` in whole days: julianday() on SQLite, plain date subtraction on PostgreSQL."""
    if _dialect(session) == "sqlite":
        # julianday of a plain date is an exact .5 value, so the difference is an exact whole number.
        return cast(func.julianday(later) - func.julianday(earlier), Integer)
    return cast(later - earlier, Integer)


def greatest(session, *values, type_=Date):
    """SQL for the largest of several values (none may be NULL; dates unless ``type_`` says otherwise): SQLite's
    scalar max() or PostgreSQL greatest()."""
    if _dialect(session) == "sqlite":
        return func.max(*values, type_=type_)
    return func.greatest(*values, type_=type_)


def least(session, *values, type_=Date):
    """SQL for the smallest of several values (none may be NULL; dates unless ``type_`` says otherwise): SQLite's
    scalar min() or PostgreSQL least()."""
    if _dialect(session) == "sqlite":
        return func.min(*values, type_=type_)
    return func.least(*values, type_=type_)


#: Memory each sort or hash of a report query may use on PostgreSQL (``MHI_REPORT_WORK_MEM``), for this
#: transaction only: grouping a million households' periods and receipts spills to disk at the server's default
#: 4 MB (8.7 s against 5.7 s at 1,000,000 households).
REPORT_WORK_MEM = "128MB"
WORK_MEM_PATTERN = re.compile(r"[1-9][0-9]{0,6}(kB|MB|GB)")


def prepare(session) -> None:
    """Give this transaction's report queries room to aggregate in memory (PostgreSQL; nothing on SQLite).

    ``set_config(…, true)`` is ``SET LOCAL`` written as a SELECT, so on a reporting replica it is sent to the
    connection that runs the report's queries (mhi/core/db.py routes plain reads there)."""
    if _dialect(session) != "postgresql":
        return
    value = current_app.config.get("MHI_REPORT_WORK_MEM") or REPORT_WORK_MEM  # checked by create_app
    session.execute(select(func.set_config("work_mem", str(value), True)))


#: On SQLite, a scheme holding at least this share of a table is read by a sequential scan (see ``of_scheme``).
_SCAN_SHARE = 0.25


def of_scheme(session, column, scheme_id: int):
    """``column == scheme_id``, written so that each database reads a large scheme's rows the fast way.

    PostgreSQL's planner chooses between an index and a sequential scan from its statistics. SQLite's does not:
    it always follows the index on scheme_id, and then fetches each row by its rowid in index order, which is
    several times slower than reading the table in order once the scheme is a sizeable part of it (measured in
    bench/bench_indicators.py: 5.3 s against 0.75 s for a million claims). So on SQLite, when the scheme holds
    at least a quarter of the table (two index-only counts tell), the comparison is written ``column + 0 = id``,
    which no index serves, and SQLite scans.
    """
    if _dialect(session) != "sqlite":
        return column == scheme_id
    table = column.table
    # The choice is a performance hint only: remembered for the session (a request, a command).
    memo = session.info.setdefault("mhi.reports.scan", {})
    key = (table.name, scheme_id)
    if key not in memo:
        total = session.scalar(select(func.count()).select_from(table))
        mine = session.scalar(select(func.count()).select_from(table).where(column == scheme_id))
        memo[key] = bool(total) and mine >= _SCAN_SHARE * total
    return column + 0 == scheme_id if memo[key] else column == scheme_id


def _count_if(condition):
    """SUM(CASE WHEN condition THEN 1 ELSE 0 END): a conditional count inside one aggregate query."""
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _sum_if(condition, amount):
    """SUM(CASE WHEN condition THEN amount END), typed as the amount's column so Money comes back Decimal."""
    return func.sum(case((condition, amount), else_=None), type_=amount.type)


def _between(column, date_from: date, date_to: date):
    """``column`` in [from, to], both ends included (conventions.md "Dates and periods")."""
    return and_(column >= date_from, column <= date_to)


def _covers(span, day: date):
    """The half-open span [start, end) contains ``day`` (end NULL = still open)."""
    return and_(span.start <= day, or_(span.end.is_(None), span.end > day))


def _person_present(day: date):
    """The person has enrolled by ``day`` and has no exit date on or before it (contributions.md §4)."""
    return and_(Person.enrolment_date <= day, or_(Person.exit_date.is_(None), Person.exit_date > day))


# -- membership ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Membership:
    """The membership counts of indicators.md for one scheme and [F, T], with the exact covered person-days."""

    households_covered_start: int
    households_covered_end: int
    households_retained: int  # covered on both F and T
    beneficiaries_covered_start: int
    beneficiaries_covered_end: int
    new_households: int
    new_beneficiaries: int
    households_struck_off: int
    person_days: int


def membership(session, scheme_id: int, date_from: date, date_to: date, *, by_scan: bool = False) -> Membership:
    """Households and persons covered on F and T, newcomers, strike-offs and covered person-days (4 queries).

    The covered counts and person-days come from the stored coverage changes (``coverage_from_totals``, a few
    hundred rows per scheme, any window); ``by_scan`` computes them from spans ⋈ persons instead
    (``coverage_by_scan``, the reference the tests compare with). Retention is pairwise: always a scan."""
    span = CoverageSpan
    if by_scan:
        households_start, households_end, persons_start, persons_end, person_days = coverage_by_scan(
            session, scheme_id, date_from, date_to
        )
    else:
        households_start, households_end, persons_start, persons_end, person_days = coverage_from_totals(
            session, scheme_id, date_from, date_to
        )

    # Retention (indicators.md): households covered on both F and T, whatever happened in between.
    later = aliased(CoverageSpan)
    retained = session.scalar(
        select(func.count(func.distinct(span.household_id)))
        .select_from(span)
        .join(later, later.household_id == span.household_id)
        .where(of_scheme(session, span.scheme_id, scheme_id), _covers(span, date_from), _covers(later, date_to))
    )

    register = session.execute(
        select(
            _count_if(_between(Household.enrolment_date, date_from, date_to)),
            _count_if(_between(Household.strike_off_date, date_from, date_to)),
        ).where(Household.scheme_id == scheme_id)
    ).one()
    new_beneficiaries = session.scalar(
        select(func.count()).where(Person.scheme_id == scheme_id, _between(Person.enrolment_date, date_from, date_to))
    )
    return Membership(
        households_covered_start=households_start,
        households_covered_end=households_end,
        households_retained=int(retained or 0),
        beneficiaries_covered_start=persons_start,
        beneficiaries_covered_end=persons_end,
        new_households=int(register[0]),
        new_beneficiaries=int(new_beneficiaries or 0),
        households_struck_off=int(register[1]),
        person_days=person_days,
    )


def membership_by_scan(session, scheme_id: int, date_from: date, date_to: date) -> Membership:
    """``membership`` with every count from the spans and persons themselves."""
    return membership(session, scheme_id, date_from, date_to, by_scan=True)


def coverage_from_totals(session, scheme_id: int, date_from: date, date_to: date) -> tuple[int, int, int, int, int]:
    """(households covered on F, on T, persons covered on F, on T, covered person-days over [F, T]) from the
    scheme's rows of ``coverage_change_total`` (mhi/contributions/coverage_totals.py): covered on D is the sum of
    the changes on days ≤ D; a change of persons on day d adds T + 1 − max(d, F) person-days. Exactly the
    scan's figures (``coverage_by_scan``)."""
    from mhi.contributions.coverage_totals import CoverageChangeTotal as t
    from mhi.contributions.coverage_totals import covered_on

    (households_start, persons_start), (households_end, persons_end) = covered_on(
        session, [scheme_id], [date_from, date_to]
    )[scheme_id]
    window_end = literal(date_to + timedelta(days=1), Date)
    days = days_between(session, window_end, greatest(session, t.day, literal(date_from, Date)))
    person_days = session.scalar(
        select(func.coalesce(func.sum(t.persons * days), 0)).where(t.scheme_id == scheme_id, t.day <= date_to)
    )
    return households_start, households_end, persons_start, persons_end, int(person_days)


def coverage_by_scan(session, scheme_id: int, date_from: date, date_to: date) -> tuple[int, int, int, int, int]:
    """``coverage_from_totals`` from the spans and persons: one scan of the spans, one of spans ⋈ persons."""
    span = CoverageSpan
    households = session.execute(
        select(_count_if(_covers(span, date_from)), _count_if(_covers(span, date_to))).where(
            of_scheme(session, span.scheme_id, scheme_id)
        )
    ).one()

    # Person-days: overlap of [span) ∩ [enrolment, exit) ∩ [F, T+1) for every span and person of the household.
    window_end = date_to + timedelta(days=1)
    lo = greatest(session, span.start, Person.enrolment_date, literal(date_from, Date))
    hi = least(
        session,
        func.coalesce(span.end, literal(window_end, Date)),
        func.coalesce(Person.exit_date, literal(window_end, Date)),
        literal(window_end, Date),
    )
    persons = session.execute(
        select(
            _count_if(and_(_covers(span, date_from), _person_present(date_from))),
            _count_if(and_(_covers(span, date_to), _person_present(date_to))),
            func.coalesce(func.sum(case((hi > lo, days_between(session, hi, lo)), else_=0)), 0),
        )
        .select_from(span)
        .join(Person, Person.household_id == span.household_id)
        .where(
            of_scheme(session, span.scheme_id, scheme_id),
            span.start <= date_to,
            or_(span.end.is_(None), span.end > date_from),
            Person.enrolment_date <= date_to,
            or_(Person.exit_date.is_(None), Person.exit_date > date_from),
        )
    ).one()
    return (int(households[0]), int(households[1]), int(persons[0]), int(persons[1]), int(persons[2]))


def beneficiaries_covered_on(session, scheme_id: int, days: list[date], *, by_scan: bool = False) -> list[int]:
    """Persons covered on each of ``days`` (a trend chart's points): sums of the stored coverage changes on days
    ≤ each (``by_scan``: one scan of spans ⋈ persons, ``beneficiaries_covered_on_by_scan``)."""
    if not days:
        return []
    if by_scan:
        return beneficiaries_covered_on_by_scan(session, scheme_id, days)
    from mhi.contributions.coverage_totals import covered_on

    return [persons for _, persons in covered_on(session, [scheme_id], days)[scheme_id]]


def beneficiaries_covered_on_by_scan(session, scheme_id: int, days: list[date]) -> list[int]:
    """Persons covered on each of ``days``, in one scan of spans ⋈ persons."""
    if not days:
        return []
    span = CoverageSpan
    columns = [_count_if(and_(_covers(span, day), _person_present(day))) for day in days]
    row = session.execute(
        select(*columns)
        .select_from(span)
        .join(Person, Person.household_id == span.household_id)
        .where(
            of_scheme(session, span.scheme_id, scheme_id),
            span.start <= max(days),
            or_(span.end.is_(None), span.end > min(days)),
        )
    ).one()
    return [int(value) for value in row]


# -- claims ----------------------------------------------------------------------------------------------------


@dataclass
class ClaimTotals:
    """The claim counts and amounts of indicators.md "Claims" for [F, T], plus what the finance lines need
    since the scheme's opening date (claims incurred for the reserves, claims paid for the cash), the claims of
    the period per benefit code, and the histogram of payment delays of the claims paid in the period."""

    submitted: int = 0
    rejected: int = 0
    incurred: Decimal = ZERO
    paid: Decimal = ZERO
    outstanding: Decimal = ZERO
    incurred_since_opening: Decimal = ZERO
    paid_since_opening: Decimal = ZERO
    by_benefit: dict[str, tuple[int, Decimal]] = field(default_factory=dict)  # code → (cases, amount)
    payment_delays: Counter = field(default_factory=Counter)  # days from submission to payment → claims


def month_aligned(date_from: date, date_to: date) -> bool:
    """F is the first day of a month and T the last day of one (a month, quarter or year of the reports)."""
    return date_from.day == 1 and (date_to + timedelta(days=1)).day == 1


def claim_totals(session, scheme_id: int, date_from: date, date_to: date, opening_date: date) -> ClaimTotals:
    """Every claim figure of the period: from the stored claim totals when the window (and the opening date) are
    month-aligned, else by scanning the scheme's claims (``claim_totals_by_scan``)."""
    if month_aligned(date_from, date_to) and opening_date.day == 1:
        return claim_totals_from_totals(session, scheme_id, date_from, date_to, opening_date)
    return claim_totals_by_scan(session, scheme_id, date_from, date_to, opening_date)


def claim_totals_from_totals(session, scheme_id, date_from: date, date_to: date, opening_date: date) -> ClaimTotals:
    """``claim_totals`` for a month-aligned window, over the scheme's rows of ``claim_month_total`` and
    ``claim_delay_total`` (mhi/claims/totals.py): a date is in [F, T] exactly when its month is in [M(F), M(T)].
    The figures are those of the scan, condition for condition."""
    from mhi.claims.totals import ClaimDelayTotal, ClaimMonthTotal, month_number

    t = ClaimMonthTotal
    lo, hi, opening = month_number(date_from), month_number(date_to), month_number(opening_date)
    payable = t.status.in_(PAYABLE)
    submitted_in = _between(t.submitted_month, lo, hi)
    paid_in = and_(payable, _between(t.paid_month, lo, hi))
    incurred_in = and_(payable, _between(t.service_month, lo, hi))
    outstanding = and_(
        payable, t.service_month <= hi, t.submitted_month <= hi, or_(t.paid_month == 0, t.paid_month > hi)
    )

    def count_if(condition):
        return func.coalesce(func.sum(case((condition, t.claims), else_=0)), 0)

    rows = session.execute(
        select(
            t.benefit_code,
            count_if(submitted_in),
            count_if(and_(submitted_in, t.status == "REJECTED")),
            count_if(incurred_in),
            _sum_if(incurred_in, t.amount),
            _sum_if(paid_in, t.amount),
            _sum_if(outstanding, t.amount),
            _sum_if(and_(payable, _between(t.service_month, opening, hi)), t.amount),
            _sum_if(and_(payable, t.paid_month != 0, _between(t.paid_month, opening, hi)), t.amount),
        )
        .where(t.scheme_id == scheme_id)
        .group_by(t.benefit_code)
    ).all()
    totals = _add_benefit_rows(rows)
    d = ClaimDelayTotal
    for days, count in session.execute(
        select(d.delay_days, func.sum(d.claims))
        .where(d.scheme_id == scheme_id, _between(d.paid_month, lo, hi))
        .group_by(d.delay_days)
    ):
        if count:
            totals.payment_delays[int(days)] += int(count)
    return totals


def _add_benefit_rows(rows) -> ClaimTotals:
    """Add up the per-benefit rows of the claims query (both paths return the same columns)."""
    totals = ClaimTotals()
    for code, submitted, rejected, cases, incurred, paid, owed, incurred_since, paid_since in rows:
        totals.submitted += int(submitted)
        totals.rejected += int(rejected)
        totals.incurred += incurred or ZERO
        totals.paid += paid or ZERO
        totals.outstanding += owed or ZERO
        totals.incurred_since_opening += incurred_since or ZERO
        totals.paid_since_opening += paid_since or ZERO
        if cases:
            previous_cases, previous_amount = totals.by_benefit.get(code, (0, ZERO))
            totals.by_benefit[code] = (previous_cases + int(cases), previous_amount + (incurred or ZERO))
    return totals


def claim_totals_by_scan(session, scheme_id: int, date_from: date, date_to: date, opening_date: date) -> ClaimTotals:
    """Every claim figure of the period in two passes over the scheme's claims.

    One GROUP BY benefit code with conditional sums (a few groups, which Python adds up), and one GROUP BY
    payment delay over the claims paid in the period. The two are apart because grouped together PostgreSQL
    expects a group per claim and sorts the whole scheme's claims on disk (1.1 s at 1,000,000 claims).
    """
    payable = Claim.status.in_(PAYABLE)
    amount = Claim.amount_approved
    submitted_in = _between(Claim.date_submitted, date_from, date_to)
    paid_in = and_(payable, _between(Claim.paid_on, date_from, date_to))
    incurred_in = and_(payable, _between(Claim.date_of_service, date_from, date_to))
    # Outstanding (indicators.md): known at T (served and received by T) and not paid by T.
    outstanding = and_(
        payable,
        Claim.date_of_service <= date_to,
        Claim.date_submitted <= date_to,
        or_(Claim.paid_on.is_(None), Claim.paid_on > date_to),
    )
    rows = session.execute(
        select(
            Claim.benefit_code,
            _count_if(submitted_in),
            _count_if(and_(submitted_in, Claim.status == "REJECTED")),
            _count_if(incurred_in),
            _sum_if(incurred_in, amount),
            _sum_if(paid_in, amount),
            _sum_if(outstanding, amount),
            _sum_if(and_(payable, _between(Claim.date_of_service, opening_date, date_to)), amount),
            _sum_if(and_(payable, _between(Claim.paid_on, opening_date, date_to)), amount),
        )
        .where(of_scheme(session, Claim.scheme_id, scheme_id))
        .group_by(Claim.benefit_code)
    ).all()
    totals = _add_benefit_rows(rows)
    delay = days_between(session, Claim.paid_on, Claim.date_submitted)
    for days, count in session.execute(
        select(delay, func.count()).where(of_scheme(session, Claim.scheme_id, scheme_id), paid_in).group_by(delay)
    ):
        totals.payment_delays[int(days)] += int(count)
    return totals


def benefit_codes(session, scheme_id: int) -> list[str]:
    """Every benefit code of the scheme's products, all versions (indicators.md: each appears, even unused)."""
    rows = session.scalars(
        select(Benefit.code)
        .join(ProductVersion, ProductVersion.id == Benefit.version_id)
        .join(Product, Product.id == ProductVersion.product_id)
        .where(Product.scheme_id == scheme_id)
        .distinct()
    )
    return sorted(set(rows))


def monthly_claims_incurred(session, scheme_id: int, months: list[tuple[date, date]]) -> list[Decimal]:
    """Claims incurred in each [from, to] month of a trend chart: from the stored claim totals when every month is
    aligned, else in one scan of the scheme's claims."""
    if not months:
        return []
    if all(month_aligned(lo, hi) for lo, hi in months):
        return _monthly_incurred_from_totals(session, scheme_id, months)
    return monthly_claims_incurred_by_scan(session, scheme_id, months)


def _monthly_incurred_from_totals(session, scheme_id: int, months: list[tuple[date, date]]) -> list[Decimal]:
    from mhi.claims.totals import ClaimMonthTotal as t
    from mhi.claims.totals import month_number

    spans = [(month_number(lo), month_number(hi)) for lo, hi in months]
    by_month = dict(
        session.execute(
            select(t.service_month, func.sum(t.amount, type_=t.amount.type))
            .where(
                t.scheme_id == scheme_id,
                t.status.in_(PAYABLE),
                _between(t.service_month, min(lo for lo, _ in spans), max(hi for _, hi in spans)),
            )
            .group_by(t.service_month)
        ).all()
    )
    result = []
    for lo, hi in spans:
        amounts = [by_month[m] for m in range(lo, hi + 1) if by_month.get(m) is not None]
        result.append(sum(amounts, ZERO) if amounts else ZERO)
    return result


def monthly_claims_incurred_by_scan(session, scheme_id: int, months: list[tuple[date, date]]) -> list[Decimal]:
    """``monthly_claims_incurred`` by scanning the scheme's claims (any months)."""
    if not months:
        return []
    amount = Claim.amount_approved
    columns = [_sum_if(_between(Claim.date_of_service, lo, hi), amount) for lo, hi in months]
    row = session.execute(
        select(*columns).where(
            Claim.scheme_id == scheme_id,
            Claim.status.in_(PAYABLE),
            _between(Claim.date_of_service, months[0][0], months[-1][1]),
        )
    ).one()
    return [value or ZERO for value in row]


# -- finance ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CashFlows:
    """Money in and out by date: the period's expenses, receipts and subsidy receipts, and the same since the
    scheme's opening date (the reserves and the cash are balances at T)."""

    admin_expenses: Decimal
    contributions_collected: Decimal
    subsidies_received: Decimal
    expenses_since_opening: Decimal
    receipts_since_opening: Decimal
    subsidy_receipts_since_opening: Decimal


def _period_and_since(session, model, scheme_id: int, date_from: date, date_to: date, opening: date):
    """Σ amount of ``model`` dated in [F, T] and in [opening, T] (reversal counter-entries included)."""
    row = session.execute(
        select(
            _sum_if(_between(model.date, date_from, date_to), model.amount),
            _sum_if(_between(model.date, opening, date_to), model.amount),
        ).where(of_scheme(session, model.scheme_id, scheme_id))
    ).one()
    return row[0] or ZERO, row[1] or ZERO


def cash_flows(session, scheme_id: int, date_from: date, date_to: date, opening_date: date) -> CashFlows:
    """Expenses, contribution receipts and subsidy receipts of the period and since opening (three queries)."""
    expenses = _period_and_since(session, Expense, scheme_id, date_from, date_to, opening_date)
    receipts = _period_and_since(session, Receipt, scheme_id, date_from, date_to, opening_date)
    subsidies = _period_and_since(session, SubsidyReceipt, scheme_id, date_from, date_to, opening_date)
    return CashFlows(
        admin_expenses=expenses[0],
        contributions_collected=receipts[0],
        subsidies_received=subsidies[0],
        expenses_since_opening=expenses[1],
        receipts_since_opening=receipts[1],
        subsidy_receipts_since_opening=subsidies[1],
    )


def monthly_expenses(session, scheme_id: int, months: list[tuple[date, date]]) -> list[Decimal]:
    """Expenses dated in each [from, to] month of a trend chart, in one query."""
    if not months:
        return []
    columns = [_sum_if(_between(Expense.date, lo, hi), Expense.amount) for lo, hi in months]
    row = session.execute(select(*columns).where(Expense.scheme_id == scheme_id)).one()
    return [value or ZERO for value in row]
