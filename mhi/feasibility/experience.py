"""Experience against assumptions: what a running scheme's own last 12 months say about the figures its product
was decided on (feasibility.md's inputs), and a study pre-filled from that experience.

For one product of a scheme over [F, T]:
- exposure: the person-days on which a person of a household on the product was covered — the household's
  stored coverage spans (half-open ``[start, end)``, contributions.md §4) met with the person's enrolment and
  exit dates and with the period — divided by 365 (indicators.md ``exposure_years``); one SQL aggregate;
- observed frequency of a benefit: its APPROVED or REDUCED claims with date_of_service in [F, T] (indicators.md
  "claims of the period") per exposure year;
- average cost of a case: the mean ``amount_claimed`` of those claims — the bill as presented, the quantity a
  study's ``unit_cost`` stands for (coverage and ceiling then apply to it). ``amount_approved / coverage_rate``
  would understate it wherever a ceiling cut the payment, so it is not used;
- coverage rate and ceiling: the product version in force at T;
- renewal rate: households covered on both F and T over households covered on F (indicators.md
  ``retention_rate``), restricted to the product;
- collection rate: the scheme's ``collection_rate`` of indicators.md over [F, T] when the reports module is
  installed (it is a scheme figure: dues are not split by product), else unknown.
An assumption more than 20 % away from experience (|observed − assumed| / assumed > 0.20) is flagged.
Reads only; nothing here writes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import Date, Integer, and_, cast, func, literal, or_, select

from mhi.contributions.models import CoverageSpan
from mhi.core.dates import add_months
from mhi.core.money import round_money
from mhi.members.models import Person
from mhi.members.queries import product_periods
from mhi.schemes.models import Product, ProductVersion, Scheme
from mhi.schemes.services import version_in_force

#: The claims that count as incurred (indicators.md "Claims of the period").
INCURRED_STATUSES = ("APPROVED", "REDUCED")
#: Above this relative gap an assumption is flagged (task brief).
TOLERANCE = Decimal("0.20")
DAYS_PER_YEAR = 365
FOUR_PLACES = Decimal("0.0001")
TWO_PLACES = Decimal("0.01")


def last_twelve_months(today: date) -> tuple[date, date]:
    """The 12 full months that end yesterday, both ends included: [today − 12 months, today − 1 day]."""
    return add_months(today, -12), today - timedelta(days=1)


@dataclass
class Comparison:
    """One assumption beside its experience: ``off`` when they are more than 20 % apart (None if unknown)."""

    assumed: Decimal | None
    observed: Decimal | None

    @property
    def gap(self) -> Decimal | None:
        """(observed − assumed) / assumed, or None when either is unknown or nothing was assumed."""
        if self.assumed is None or self.observed is None or self.assumed == 0:
            return None
        return (self.observed - self.assumed) / self.assumed

    @property
    def off(self) -> bool | None:
        """True when the gap is more than 20 % either way."""
        gap = self.gap
        return None if gap is None else abs(gap) > TOLERANCE


@dataclass
class BenefitExperience:
    """One benefit of the product over the period: its cases and what they say about frequency and cost."""

    code: str
    name: str
    kind: str
    cases: int
    amount_claimed: Decimal
    amount_approved: Decimal
    frequency: Decimal | None
    average_cost: Decimal | None
    coverage_rate: Decimal | None
    ceiling_per_case: Decimal | None
    benefit_amount: Decimal | None
    frequency_vs: Comparison = field(default_factory=lambda: Comparison(None, None))
    cost_vs: Comparison = field(default_factory=lambda: Comparison(None, None))
    coverage_vs: Comparison = field(default_factory=lambda: Comparison(None, None))


@dataclass
class Experience:
    """A product's experience over [F, T], and the study its version in force was decided on (if any)."""

    scheme: Scheme
    product: Product
    version: ProductVersion | None
    date_from: date
    date_to: date
    person_days: int
    households_start: int
    households_retained: int
    households_end: int
    persons_end: int
    new_beneficiaries: int
    collection_rate: Decimal | None
    benefits: list[BenefitExperience]
    assumptions: dict[str, Any] | None
    collection_vs: Comparison
    renewal_vs: Comparison

    @property
    def exposure_years(self) -> Decimal:
        """Covered person-days / 365 (indicators.md exposure_years), exact."""
        return Decimal(self.person_days) / DAYS_PER_YEAR

    @property
    def renewal_rate(self) -> Decimal | None:
        """Households covered on both F and T / households covered on F."""
        return Decimal(self.households_retained) / self.households_start if self.households_start else None

    @property
    def household_size(self) -> Decimal | None:
        """Persons covered on T / households covered on T."""
        return Decimal(self.persons_end) / self.households_end if self.households_end else None

    @property
    def flagged(self) -> list[str]:
        """The codes of the benefits with an assumption more than 20 % off."""
        return [b.code for b in self.benefits if b.frequency_vs.off or b.cost_vs.off or b.coverage_vs.off]


def product_experience(
    session,
    scheme: Scheme,
    product: Product,
    date_from: date,
    date_to: date,
    *,
    assumptions: dict[str, Any] | None = None,
    collection_rate: Decimal | None = None,
) -> Experience:
    """The experience of ``product`` over [date_from, date_to] against ``assumptions`` (a study input).

    Without ``assumptions`` the study attached to the version in force at ``date_to`` is used, if any.
    ``collection_rate`` may be given; otherwise it is read from the reports module when that is installed.
    """
    version = version_in_force(product.versions, date_to)
    if assumptions is None and version is not None and version.study_id is not None:
        from mhi.feasibility.models import Study

        study = session.get(Study, version.study_id)
        assumptions = study.input if study is not None else None
    end = date_to + timedelta(days=1)  # [F, T] as the half-open [F, T + 1)
    person_days = _person_days(session, scheme.id, product.id, date_from, end)
    households_start = _households_covered(session, scheme.id, product.id, date_from)
    households_end = _households_covered(session, scheme.id, product.id, date_to)
    retained = _households_covered(session, scheme.id, product.id, date_from, also_on=date_to)
    persons_end = _persons_covered(session, scheme.id, product.id, date_to)
    periods = product_periods(scheme.id)
    new_beneficiaries = session.scalar(
        select(func.count(Person.id))
        .join(periods, periods.c.household_id == Person.household_id)
        .where(
            Person.scheme_id == scheme.id,
            periods.c.product_id == product.id,
            _in_period(periods, Person.enrolment_date),
            Person.enrolment_date >= date_from,
            Person.enrolment_date <= date_to,
        )
    )
    if collection_rate is None:
        collection_rate = scheme_indicator(session, scheme, date_from, date_to, "collection_rate")
    cases = _cases_by_benefit(session, scheme.id, product.id, date_from, date_to)
    exposure = Decimal(person_days) / DAYS_PER_YEAR
    assumed_services = {str(s.get("code")): s for s in (assumptions or {}).get("services") or []}
    benefits = []
    for benefit in version.benefits if version is not None else []:
        count, claimed, approved = cases.get(benefit.code, (0, Decimal(0), Decimal(0)))
        coverage = benefit.coverage_rate if benefit.kind == "service" else Decimal(1)
        row = BenefitExperience(
            code=benefit.code,
            name=benefit.name,
            kind=benefit.kind,
            cases=count,
            amount_claimed=claimed,
            amount_approved=approved,
            frequency=Decimal(count) / exposure if exposure else None,
            average_cost=claimed / count if count else None,
            coverage_rate=coverage,
            ceiling_per_case=benefit.ceiling_per_case,
            benefit_amount=benefit.amount,
        )
        assumed = assumed_services.get(benefit.code)
        if assumed is not None:
            row.frequency_vs = Comparison(_decimal(assumed.get("frequency")), row.frequency)
            row.cost_vs = Comparison(_decimal(assumed.get("unit_cost")), row.average_cost)
            row.coverage_vs = Comparison(_decimal(assumed.get("coverage_rate")), coverage)
        benefits.append(row)
    experience = Experience(
        scheme=scheme,
        product=product,
        version=version,
        date_from=date_from,
        date_to=date_to,
        person_days=person_days,
        households_start=households_start,
        households_retained=retained,
        households_end=households_end,
        persons_end=persons_end,
        new_beneficiaries=new_beneficiaries or 0,
        collection_rate=collection_rate,
        benefits=benefits,
        assumptions=assumptions,
        collection_vs=Comparison(None, None),
        renewal_vs=Comparison(None, None),
    )
    experience.collection_vs = Comparison(_decimal((assumptions or {}).get("collection_rate")), collection_rate)
    experience.renewal_vs = Comparison(_decimal((assumptions or {}).get("renewal_rate")), experience.renewal_rate)
    return experience


def experience_study_input(experience: Experience) -> dict[str, Any]:
    """A study input (feasibility.md) pre-filled from experience, for the promoter to check and run.

    Observed: frequency and unit cost per benefit (benefits without a case in the period are left out — a
    study's frequency must be more than 0), coverage and ceiling from the product, household size, collection
    and renewal rates. The insurance effect is 0: the observed use is already that of insured members. What
    experience cannot tell (loadings, subsidy, income, costs, enrolment plans) is taken from the study the
    product was decided on, else left for the promoter to fill in.
    """
    assumed = experience.assumptions or {}
    version = experience.version
    currency = experience.scheme.currency
    services = []
    for benefit in experience.benefits:
        if not benefit.cases or benefit.frequency is None:
            continue
        if benefit.kind == "cash":
            unit_cost, coverage = benefit.benefit_amount, Decimal(1)
        else:
            unit_cost, coverage = round_money(benefit.average_cost, currency), benefit.coverage_rate
        service = {
            "code": benefit.code,
            "name": benefit.name,
            "frequency": _text(benefit.frequency.quantize(FOUR_PLACES, rounding=ROUND_HALF_UP)),
            "unit_cost": _text(unit_cost),
            "coverage_rate": _text(coverage),
        }
        if benefit.kind == "service" and benefit.ceiling_per_case is not None:
            service["ceiling_per_case"] = _text(benefit.ceiling_per_case)
        services.append(service)
    size = experience.household_size
    renewal = experience.renewal_rate
    data: dict[str, Any] = {
        "name": f"{experience.scheme.name} — {experience.product.code} "
        f"{experience.date_from.isoformat()}/{experience.date_to.isoformat()}",
        "currency": currency,
        "target_population": experience.scheme.target_population or assumed.get("target_population") or 0,
        "household_size": _text(size.quantize(TWO_PLACES, rounding=ROUND_HALF_UP))
        if size
        else assumed.get("household_size"),
        "services": services,
        "insurance_effect": "0",
        "loadings": assumed.get("loadings") or {"admin": "0.15", "reserve": "0.05", "safety": "0.05"},
        "loading_basis": assumed.get("loading_basis") or "gross",
        "subsidy_share": assumed.get("subsidy_share") or "0",
        "collection_rate": _text(experience.collection_rate.quantize(FOUR_PLACES, rounding=ROUND_HALF_UP))
        if experience.collection_rate
        else assumed.get("collection_rate"),
        "renewal_rate": _text(renewal.quantize(FOUR_PLACES, rounding=ROUND_HALF_UP))
        if renewal is not None
        else assumed.get("renewal_rate"),
        "waiting_period_months": (version.waiting_period_days // 30) if version is not None else 0,
        "new_enrolment": assumed.get("new_enrolment") or [experience.new_beneficiaries] * 3,
    }
    for key in (
        "rounding",
        "per_capita_income",
        "willingness_to_pay",
        "fixed_costs",
        "variable_cost_per_beneficiary",
        "opening_reserve",
    ):
        if assumed.get(key) is not None:
            data[key] = assumed[key]
    return {key: value for key, value in data.items() if value is not None}


def scheme_indicator(session, scheme: Scheme, date_from: date, date_to: date, key: str) -> Decimal | None:
    """One indicator of indicators.md for the scheme over [F, T] from the reports module, or None when that
    module is not installed or cannot compute it (the page then shows "—")."""
    try:
        from mhi.reports.indicators import scheme_indicators
    except ImportError:
        return None
    try:
        report = scheme_indicators(session, scheme, date_from, date_to)
    except ImportError:  # the reports module is there but one of its sources is not yet
        return None
    value = report.indicators.get(key)
    return None if value is None else Decimal(str(value))


# ------------------------------------------------------------------------------------------------------- SQL


def _person_days(session, scheme_id: int, product_id: int, date_from: date, end: date) -> int:
    """Σ over persons of the days in [date_from, end) on which their household was covered and they were
    members: household spans ⋈ persons, each overlap computed in SQL (contributions.md §4)."""
    dialect = session.get_bind().dialect.name
    low = literal(date_from, Date)
    high = literal(end, Date)
    periods = product_periods(scheme_id)  # the days the household was on this product (a product change)
    start = _greatest(dialect, CoverageSpan.start, Person.enrolment_date, periods.c.start, low)
    stop = _least(
        dialect,
        func.coalesce(CoverageSpan.end, high),
        func.coalesce(Person.exit_date, high),
        func.coalesce(periods.c.end, high),
        high,
    )
    query = (
        select(func.coalesce(func.sum(_days_between(dialect, start, stop)), 0))
        .select_from(CoverageSpan)
        .join(periods, periods.c.household_id == CoverageSpan.household_id)
        .join(Person, Person.household_id == CoverageSpan.household_id)
        .where(
            CoverageSpan.scheme_id == scheme_id,
            periods.c.product_id == product_id,
            start < stop,
        )
    )
    return int(session.scalar(query) or 0)


def _covered_on(day: date):
    """A span covers ``day`` when start ≤ day < end (end NULL: still open)."""
    return and_(CoverageSpan.start <= day, or_(CoverageSpan.end.is_(None), CoverageSpan.end > day))


def _in_period(periods, day):
    """The product interval of ``periods`` (members.queries.product_periods) holds ``day`` (a date or a column)."""
    return and_(periods.c.start <= day, or_(periods.c.end.is_(None), periods.c.end > day))


def _households_covered(session, scheme_id: int, product_id: int, day: date, *, also_on: date | None = None) -> int:
    """Households of the product (on ``day``) covered on ``day`` (and, with ``also_on``, on that day too)."""
    periods = product_periods(scheme_id)
    covered = (
        select(CoverageSpan.household_id)
        .join(periods, periods.c.household_id == CoverageSpan.household_id)
        .where(
            CoverageSpan.scheme_id == scheme_id,
            periods.c.product_id == product_id,
            _in_period(periods, literal(day, Date)),
            _covered_on(day),
        )
    )
    if also_on is not None:
        later = select(CoverageSpan.household_id).where(CoverageSpan.scheme_id == scheme_id, _covered_on(also_on))
        covered = covered.where(CoverageSpan.household_id.in_(later))
    return session.scalar(select(func.count()).select_from(covered.distinct().subquery())) or 0


def _persons_covered(session, scheme_id: int, product_id: int, day: date) -> int:
    """Persons of the product (on ``day``) covered on ``day``: their household covered, enrolled, not exited."""
    periods = product_periods(scheme_id)
    query = (
        select(func.count(func.distinct(Person.id)))
        .select_from(CoverageSpan)
        .join(periods, periods.c.household_id == CoverageSpan.household_id)
        .join(Person, Person.household_id == CoverageSpan.household_id)
        .where(
            CoverageSpan.scheme_id == scheme_id,
            periods.c.product_id == product_id,
            _in_period(periods, literal(day, Date)),
            _covered_on(day),
            Person.enrolment_date <= day,
            or_(Person.exit_date.is_(None), Person.exit_date > day),
        )
    )
    return session.scalar(query) or 0


def _cases_by_benefit(
    session, scheme_id: int, product_id: int, date_from: date, date_to: date
) -> dict[str, tuple[int, Decimal, Decimal]]:
    """Per benefit code: the count, Σ amount_claimed and Σ amount_approved of the product's incurred claims."""
    from mhi.claims.models import Claim

    periods = product_periods(scheme_id)
    query = (
        select(
            Claim.benefit_code,
            func.count(Claim.id),
            func.coalesce(func.sum(Claim.amount_claimed), 0),
            func.coalesce(func.sum(Claim.amount_approved), 0),
        )
        .join(Person, Person.id == Claim.person_id)
        .join(periods, periods.c.household_id == Person.household_id)
        .where(
            Claim.scheme_id == scheme_id,
            periods.c.product_id == product_id,  # the product on the day of service
            _in_period(periods, Claim.date_of_service),
            Claim.status.in_(INCURRED_STATUSES),
            Claim.date_of_service >= date_from,
            Claim.date_of_service <= date_to,
        )
        .group_by(Claim.benefit_code)
    )
    return {
        code: (count, _money(claimed), _money(approved)) for code, count, claimed, approved in session.execute(query)
    }


def _money(value) -> Decimal:
    """A summed Money column (Decimal from the column type; a bare 0 from COALESCE when nothing matched)."""
    return value if isinstance(value, Decimal) else Decimal(value or 0)


def _greatest(dialect: str, *args):
    """The largest of several dates: GREATEST on PostgreSQL, the many-argument MAX on SQLite."""
    if dialect == "postgresql":
        return func.greatest(*args, type_=Date)
    return func.max(*args, type_=Date)


def _least(dialect: str, *args):
    """The smallest of several dates."""
    if dialect == "postgresql":
        return func.least(*args, type_=Date)
    return func.min(*args, type_=Date)


def _days_between(dialect: str, start, stop):
    """Whole days from ``start`` to ``stop``: date subtraction on PostgreSQL, julianday on SQLite."""
    if dialect == "postgresql":
        return cast(stop - start, Integer)
    return cast(func.julianday(stop) - func.julianday(start), Integer)


def _decimal(value) -> Decimal | None:
    """A study input number (string, int or Decimal) as a Decimal; None when absent or not a number."""
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except ArithmeticError:
        return None


def _text(value: Decimal) -> str:
    """A Decimal as a study input writes it: plain notation, no exponent."""
    return format(value, "f")
