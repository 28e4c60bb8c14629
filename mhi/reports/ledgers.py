"""The §6 contribution amounts of a report (contributions.md) summed in SQL over precomputed household ledgers.

``refresh`` keeps ``ReportHousehold`` / ``ReportPeriod`` (models.py) up to date: a household's rows are rebuilt
with the contributions engine when the fingerprint of its inputs changed (computed in SQL from its register and
receipt rows, and the scheme's contribution rules) or when a report asks past the horizon they were built to.
``contribution_amounts`` then sums, for any [F, T]:

- expected, subsidies due, registration fees: the periods starting in [F, T] and households enrolled in [F, T];
- earned (gross and member share): Σ g_k · overlap / days over the periods paid by T, grouped by the period's
  length so that each group is one exact fraction, summed exactly and rounded once (§6);
- dues of the period paid, and arrears at T, household by household from the cumulative dues and C(T).

A period k is *paid as of D* when C(D) ≥ r + d_0 + … + d_k (§3); C only grows with D (a reversal carries its
original's date), so storing the first day it holds, ``paid_on``, answers "paid as of T" for every T. The
results equal the engine's (tests/reports/test_ledgers.py compares them).
"""

from __future__ import annotations

import hashlib
from bisect import bisect_left
from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

from sqlalchemy import BigInteger, String, and_, case, cast, delete, func, insert, literal, or_, select, type_coerce

from mhi.contributions.models import Receipt
from mhi.contributions.rules import Ledger, build_ledger, round_exact_sum
from mhi.core.db import Money
from mhi.members.models import CategoryChange, Household, Person
from mhi.reports import queries
from mhi.reports.models import ReportHousehold, ReportPeriod, ReportScheme
from mhi.schemes.models import Product, ProductVersion, SubsidyProgramme

#: Households rebuilt per batch (memory stays flat on a large register).
CHUNK = 5000
#: How far past the asked day (or today) periods are generated: a fully subsidised household's schedule has
#: no end (contributions.md §3), so it is stored up to a horizon and extended when a report goes past it.
HORIZON_DAYS = 366
_SCALE = Money().scale
_EPOCH = date(2000, 1, 1)


def _raw(column):
    """A Money column as its stored integer (thousandths), for exact integer arithmetic in SQL."""
    return type_coerce(column, BigInteger)


def _units(raw) -> Decimal:
    """Stored thousandths back to a Decimal amount."""
    return Decimal(int(raw or 0)).scaleb(-_SCALE)


# -- freshness -------------------------------------------------------------------------------------------------


def rules_fingerprint(session, scheme) -> str:
    """A digest of what every household's ledger depends on at scheme level: versions, programmes, currency."""
    versions = session.execute(
        select(
            ProductVersion.id,
            ProductVersion.product_id,
            ProductVersion.effective_from,
            ProductVersion.status,
            ProductVersion.basis,
            ProductVersion.amount,
            ProductVersion.period_months,
            ProductVersion.registration_fee,
            ProductVersion.grace_period_days,
            ProductVersion.lapse_after_days,
        )
        .join(Product, Product.id == ProductVersion.product_id)
        .where(Product.scheme_id == scheme.id)
        .order_by(ProductVersion.id)
    ).all()
    programmes = session.execute(
        select(
            SubsidyProgramme.id,
            SubsidyProgramme.position,
            SubsidyProgramme.categories,
            SubsidyProgramme.share,
            SubsidyProgramme.valid_from,
            SubsidyProgramme.valid_to,
        )
        .where(SubsidyProgramme.scheme_id == scheme.id)
        .order_by(SubsidyProgramme.id)
    ).all()
    text = repr((scheme.currency, [tuple(v) for v in versions], [tuple(p) for p in programmes]))
    return hashlib.sha1(text.encode()).hexdigest()[:16]


def _fingerprint_query(session, scheme, rules: str):
    """SELECT household id, fingerprint: the household's own fields and aggregates of its persons and receipts."""
    receipts = (
        select(
            Receipt.household_id.label("hid"),
            func.count().label("n"),
            func.sum(_raw(Receipt.amount)).label("total"),
            func.max(Receipt.id).label("last"),
        )
        .where(Receipt.scheme_id == scheme.id)
        .group_by(Receipt.household_id)
        .subquery()
    )
    categories = (
        select(
            CategoryChange.household_id.label("hid"),
            func.count().label("n"),
            func.max(CategoryChange.id).label("last"),
        )
        .where(CategoryChange.scheme_id == scheme.id)
        .group_by(CategoryChange.household_id)
        .subquery()
    )
    days = queries.days_between
    persons = (
        select(
            Person.household_id.label("hid"),
            func.count().label("n"),
            func.max(Person.id).label("last"),
            func.sum(days(session, Person.enrolment_date, literal(_EPOCH))).label("joined"),
            func.sum(
                case((Person.exit_date.isnot(None), days(session, Person.exit_date, literal(_EPOCH))), else_=0)
            ).label("left"),
            func.count(Person.exit_date).label("exits"),
        )
        .where(Person.scheme_id == scheme.id)
        .group_by(Person.household_id)
        .subquery()
    )

    def text(value):
        return func.coalesce(cast(value, String), "-")

    fingerprint = (
        literal(rules, String)
        + "|"
        + text(Household.enrolment_date)
        + "|"
        + text(Household.category)
        + "|"
        + text(Household.product_id)
        + "|"
        + text(receipts.c.n)
        + "|"
        + text(receipts.c.total)
        + "|"
        + text(receipts.c.last)
        + "|"
        + text(persons.c.n)
        + "|"
        + text(persons.c.last)
        + "|"
        + text(persons.c.joined)
        + "|"
        + text(persons.c.left)
        + "|"
        + text(persons.c.exits)
        + "|"
        + text(categories.c.n)
        + "|"
        + text(categories.c.last)
    )
    query = (
        select(Household.id, fingerprint.label("fingerprint"))
        .select_from(Household)
        .outerjoin(receipts, receipts.c.hid == Household.id)
        .outerjoin(persons, persons.c.hid == Household.id)
        .outerjoin(categories, categories.c.hid == Household.id)
        .where(Household.scheme_id == scheme.id)
    )
    return query, fingerprint


def stale_households(session, scheme, upto: date, rules: str) -> list[int]:
    """Ids of the households whose stored ledger is missing, out of date, or stops before ``upto``."""
    query, fingerprint = _fingerprint_query(session, scheme, rules)
    query = query.outerjoin(ReportHousehold, ReportHousehold.household_id == Household.id).where(
        or_(
            ReportHousehold.household_id.is_(None),
            ReportHousehold.fingerprint != fingerprint,
            ReportHousehold.horizon < upto,
        )
    )
    return [row[0] for row in session.execute(query.with_only_columns(Household.id))]


# -- building the stored ledgers --------------------------------------------------------------------------------


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


def _rows(scheme_id: int, household_id: int, h, ledger: Ledger, horizon: date, fingerprint: str):
    """The ``ReportHousehold`` row and the ``ReportPeriod`` rows of one household."""
    member_fee, _ = ledger.registration_split
    paid_on = _paid_on(h.receipts, ledger.strike_off_date, h.enrolment)
    periods = []
    cumulative = member_fee
    for period in ledger.periods_until(horizon):
        cumulative += period.member_due
        periods.append(
            {
                "scheme_id": scheme_id,
                "household_id": household_id,
                "start": period.start,
                "end": period.end,
                "days": (period.end - period.start).days,
                "gross": period.gross,
                "member_due": period.member_due,
                "cumulative": cumulative,
                "paid_on": paid_on(cumulative),
            }
        )
    household = {
        "household_id": household_id,
        "scheme_id": scheme_id,
        "enrolment": h.enrolment,
        "registration_fee": member_fee + sum((part for _, part in ledger.registration_split[1]), Decimal(0)),
        "registration_member": member_fee,
        "exit_date": ledger.exit_date,
        "strike_off_date": ledger.strike_off_date,
        "fingerprint": fingerprint,
        "horizon": horizon,
    }
    return household, periods


def register_signature(session, scheme, rules: str) -> str:
    """A cheap digest of the whole register and receipts of the scheme (a few aggregate queries, no grouping
    by household): any insert, deletion or change of a receipt, person or household changes it."""
    receipts = session.execute(
        select(func.count(), func.sum(_raw(Receipt.amount)), func.max(Receipt.id)).where(
            queries.of_scheme(session, Receipt.scheme_id, scheme.id)
        )
    ).one()
    days = queries.days_between
    persons = session.execute(
        select(
            func.count(),
            func.max(Person.id),
            func.sum(cast(days(session, Person.enrolment_date, literal(_EPOCH)), BigInteger) * Person.id),
            func.sum(
                case(
                    (
                        Person.exit_date.isnot(None),
                        cast(days(session, Person.exit_date, literal(_EPOCH)), BigInteger) * Person.id,
                    ),
                    else_=0,
                )
            ),
            func.sum(cast(Person.household_id, BigInteger) * Person.id),
        ).where(queries.of_scheme(session, Person.scheme_id, scheme.id))
    ).one()
    households = session.execute(
        select(
            Household.category,
            func.count(),
            func.sum(Household.id),
            func.sum(cast(Household.product_id, BigInteger) * Household.id),
            func.sum(cast(days(session, Household.enrolment_date, literal(_EPOCH)), BigInteger) * Household.id),
        )
        .where(Household.scheme_id == scheme.id)
        .group_by(Household.category)
        .order_by(Household.category)
    ).all()
    categories = session.execute(
        select(func.count(), func.max(CategoryChange.id)).where(CategoryChange.scheme_id == scheme.id)
    ).one()
    # Sums come back as int (SQLite) or Decimal (PostgreSQL's numeric): written as integers either way.
    text = repr(
        (rules, _ints(receipts), _ints(persons), [(row[0], *_ints(row[1:])) for row in households], _ints(categories))
    )
    return hashlib.sha1(text.encode()).hexdigest()


def _ints(values) -> tuple:
    """Aggregates as plain integers (None kept), so the signature reads the same on both databases."""
    return tuple(None if value is None else int(value) for value in values)


def refresh(session, scheme, upto: date, *, today: date | None = None) -> int:
    """Rebuild the stored ledgers that are stale for a report up to ``upto``; returns how many were rebuilt.

    Fast path: when the register's signature is the one recorded at the last check and the stored horizon
    covers ``upto``, nothing can be stale and nothing else is read. Otherwise the households are compared one by
    one (their fingerprints, in SQL) and only the stale ones are rebuilt with the engine.
    """
    session.flush()
    rules = rules_fingerprint(session, scheme)
    signature = register_signature(session, scheme, rules)
    checked = session.get(ReportScheme, scheme.id)
    if checked is not None and checked.signature == signature and checked.horizon >= upto:
        return 0
    stale = stale_households(session, scheme, upto, rules)
    if stale:
        horizon = max(upto, today or date.today()) + timedelta(days=HORIZON_DAYS)
        rebuild(session, scheme, stale, horizon, rules)
    lowest = session.scalar(select(func.min(ReportHousehold.horizon)).where(ReportHousehold.scheme_id == scheme.id))
    if checked is None:
        checked = ReportScheme(scheme_id=scheme.id)
        session.add(checked)
    checked.signature = signature
    checked.horizon = lowest or date.max
    session.flush()
    return len(stale)


def rebuild(
    session, scheme, household_ids: Sequence[int], horizon: date | None = None, rules: str | None = None
) -> None:
    """Rebuild the stored ledgers of ``household_ids`` with the contributions engine, periods to ``horizon``
    (by default a year from today)."""
    from mhi.contributions.services import household_inputs

    ids = list(household_ids)
    for i in range(0, len(ids), CHUNK):
        chunk = ids[i : i + CHUNK]
        inputs = household_inputs(session, scheme, chunk)
        store(session, scheme, {hid: (h, build_ledger(h)) for hid, h in inputs.items()}, horizon, rules)


def store(session, scheme, items: dict, horizon: date | None = None, rules: str | None = None) -> None:
    """Store the ledgers of some households: ``items`` maps household id → (HouseholdInput, Ledger).

    The hook for the write side: ``contributions.services.refresh_households`` can pass the inputs and ledgers
    it has just built, so that the first report after an import finds nothing to rebuild.
    """
    if not items:
        return
    rules = rules or rules_fingerprint(session, scheme)
    horizon = horizon or date.today() + timedelta(days=HORIZON_DAYS)
    query, _ = _fingerprint_query(session, scheme, rules)
    ids = list(items)
    fingerprints = dict(session.execute(query.where(Household.id.in_(ids))).all())
    households, periods = [], []
    for household_id, (h, ledger) in items.items():
        household, rows = _rows(scheme.id, household_id, h, ledger, horizon, fingerprints[household_id])
        households.append(household)
        periods.extend(rows)
    session.execute(delete(ReportPeriod).where(ReportPeriod.household_id.in_(ids)))
    session.execute(delete(ReportHousehold).where(ReportHousehold.household_id.in_(ids)))
    session.execute(insert(ReportHousehold), households)
    if periods:
        session.execute(insert(ReportPeriod), periods)
    session.flush()


# -- the §6 sums -----------------------------------------------------------------------------------------------


def _earned_sums(session, scheme_id: int, date_from: date, date_to: date, opening: date):
    """Per period length: Σ g·overlap and Σ d·overlap over [F, T], Σ g·overlap over [opening, T], and the dues
    and subsidies of the periods starting in [F, T] (raw thousandths; one GROUP BY over the scheme's periods)."""
    p = ReportPeriod
    after_t = date_to + timedelta(days=1)
    paid = and_(p.paid_on.isnot(None), p.paid_on <= date_to, p.start <= date_to)

    def overlap(first: date):
        lo = queries.greatest(session, p.start, literal(first))
        hi = queries.least(session, p.end, literal(after_t))
        return queries.days_between(session, hi, lo)

    in_period = and_(p.start >= date_from, p.start <= date_to)
    return session.execute(
        select(
            p.days,
            func.sum(case((and_(paid, p.end > date_from), _raw(p.gross) * overlap(date_from)), else_=0)),
            func.sum(case((and_(paid, p.end > date_from), _raw(p.member_due) * overlap(date_from)), else_=0)),
            func.sum(case((and_(paid, p.end > opening), _raw(p.gross) * overlap(opening)), else_=0)),
            func.sum(case((in_period, _raw(p.member_due)), else_=0)),
            func.sum(case((in_period, _raw(p.gross) - _raw(p.member_due)), else_=0)),
        )
        .where(queries.of_scheme(session, p.scheme_id, scheme_id))
        .group_by(p.days)
    ).all()


def _household_terms(session, scheme_id: int, date_from: date, date_to: date):
    """Per stored household (``ReportHousehold`` joined to its cumulative dues and C(T)): the expressions of the
    §6 dues paid and arrears at T, and the select to put them in. Shared by the report sums and by
    ``household_arrears`` so that the cache computes "arrears at T" one way."""
    p = ReportPeriod
    h = ReportHousehold
    cumulative = (
        select(
            p.household_id.label("hid"),
            func.max(case((p.start < date_from, _raw(p.cumulative)), else_=None)).label("before"),
            func.max(case((p.start <= date_to, _raw(p.cumulative)), else_=None)).label("upto"),
        )
        .where(queries.of_scheme(session, p.scheme_id, scheme_id))
        .group_by(p.household_id)
        .subquery()
    )
    paid = (
        select(Receipt.household_id.label("hid"), func.sum(_raw(Receipt.amount)).label("total"))
        .join(h, h.household_id == Receipt.household_id)
        .where(
            queries.of_scheme(session, Receipt.scheme_id, scheme_id),
            Receipt.date <= date_to,
            or_(h.strike_off_date.is_(None), Receipt.date < h.strike_off_date),
        )
        .group_by(Receipt.household_id)
        .subquery()
    )
    member_fee = _raw(h.registration_member)
    zero = literal(0, BigInteger)
    # §6: ``before`` = r (if E < F) + dues of the periods before F; ``upto`` = r + dues of the periods to T.
    before = case((h.enrolment < date_from, func.coalesce(cumulative.c.before, member_fee)), else_=zero)
    upto = case((h.enrolment <= date_to, func.coalesce(cumulative.c.upto, member_fee)), else_=zero)
    c_t = func.coalesce(paid.c.total, zero)
    dues_paid = queries.least(
        session, upto - before, queries.greatest(session, zero, c_t - before, type_=BigInteger), type_=BigInteger
    )
    active = and_(
        h.enrolment <= date_to,
        or_(h.exit_date.is_(None), h.exit_date > date_to),
        or_(h.strike_off_date.is_(None), h.strike_off_date > date_to),
    )
    arrears = case((active, queries.greatest(session, zero, upto - c_t, type_=BigInteger)), else_=zero)

    def joined(*columns):
        return (
            select(*columns)
            .select_from(h)
            .outerjoin(cumulative, cumulative.c.hid == h.household_id)
            .outerjoin(paid, paid.c.hid == h.household_id)
            .where(h.scheme_id == scheme_id)
        )

    return dues_paid, arrears, joined


def household_arrears(session, scheme, on: date) -> dict[int, Decimal]:
    """Arrears at ``on`` of each household owing something, from the stored ledgers: the cache of
    ``Ledger.arrears`` (contributions/rules.py), tested against it household by household."""
    _, arrears, joined = _household_terms(session, scheme.id, on, on)
    rows = session.execute(joined(ReportHousehold.household_id, arrears)).all()
    return {hid: _units(value) for hid, value in rows if value}


def _household_sums(session, scheme_id: int, date_from: date, date_to: date, opening: date):
    """Dues of the period paid, arrears at T and the registration sums, household by household in SQL (§6)."""
    h = ReportHousehold
    zero = literal(0, BigInteger)
    member_fee = _raw(h.registration_member)
    dues_paid, arrears, joined = _household_terms(session, scheme_id, date_from, date_to)
    enrolled_in = and_(h.enrolment >= date_from, h.enrolment <= date_to)
    return session.execute(
        joined(
            func.sum(dues_paid),
            func.sum(arrears),
            func.sum(case((enrolled_in, member_fee), else_=zero)),
            func.sum(case((enrolled_in, _raw(h.registration_fee) - member_fee), else_=zero)),
            func.sum(case((enrolled_in, _raw(h.registration_fee)), else_=zero)),
            func.sum(
                case((and_(h.enrolment >= opening, h.enrolment <= date_to), _raw(h.registration_fee)), else_=zero)
            ),
        )
    ).one()


def contribution_amounts(session, scheme, date_from: date, date_to: date, opening: date, *, fresh: bool = False):
    """contributions.md §6 amounts of ``scheme`` for [F, T] (and earned since ``opening``), from the stored
    ledgers; they are refreshed first unless ``fresh`` says the caller just did."""
    from mhi.reports.indicators import ContributionAmounts

    if not fresh:
        refresh(session, scheme, date_to)
    currency = scheme.currency
    unit = Fraction(10**_SCALE)
    earned: list[Fraction] = []
    member: list[Fraction] = []
    earned_since: list[Fraction] = []
    expected = subsidies = 0
    for days, gross, member_part, gross_since, dues, subsidy in _earned_sums(
        session, scheme.id, date_from, date_to, opening
    ):
        # Each group is one exact fraction: Σ g · overlap over periods of ``days`` days, divided by ``days``.
        earned.append(Fraction(int(gross or 0), days) / unit)
        member.append(Fraction(int(member_part or 0), days) / unit)
        earned_since.append(Fraction(int(gross_since or 0), days) / unit)
        expected += int(dues or 0)
        subsidies += int(subsidy or 0)
    dues_paid, arrears, fees_member, fees_subsidy, fees, fees_since = _household_sums(
        session, scheme.id, date_from, date_to, opening
    )
    return ContributionAmounts(
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
