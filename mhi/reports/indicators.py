"""The monitoring indicators of indicators.md for one scheme, and the consolidated federation report.

A report is built in two steps. ``scheme_parts`` gathers the *parts*: counts and amounts that add up across
schemes (households covered, exact covered person-days, numerators and denominators, the histogram of payment
delays, per-benefit cases and amounts). ``derive`` then turns parts into the indicators: every ratio from its
amounts as reported (rounded to the currency), rounded half up to 4 decimals from the exact quotient, null where
the denominator is 0. A federation's ``total`` is ``derive`` over the summed parts, so its ratios are never
averages of the schemes' ratios (indicators.md "A federation").

The membership, claims and finance parts come from SQL aggregates (``queries``); the contribution amounts of
contributions.md §6 from the contributions engine over the bulk-loaded households, with the earned
contributions summed exactly and rounded once. The monitoring figures leave out federation pool flows
(indicators.md "Finance").
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field, fields
from datetime import date
from decimal import Decimal
from fractions import Fraction

from mhi.contributions.rules import build_ledger, round_exact_sum
from mhi.core.errors import N_, UserError
from mhi.core.money import ZERO, minor_units, money_str
from mhi.reports import ledgers, queries
from mhi.schemes import settings as scheme_settings

#: Every indicator of indicators.md in its documented order, with its kind: ``count`` (integer), ``amount``
#: (Decimal in the currency), ``ratio`` (4 decimals or null), ``years`` (4 decimals), ``days`` (1 decimal).
INDICATORS: tuple[tuple[str, str], ...] = (
    ("households_covered_start", "count"),
    ("households_covered_end", "count"),
    ("beneficiaries_covered_start", "count"),
    ("beneficiaries_covered_end", "count"),
    ("new_households", "count"),
    ("new_beneficiaries", "count"),
    ("households_struck_off", "count"),
    ("penetration_rate", "ratio"),
    ("growth_rate", "ratio"),
    ("retention_rate", "ratio"),
    ("exposure_years", "years"),
    ("contributions_expected", "amount"),
    ("period_dues_paid", "amount"),
    ("collection_rate", "ratio"),
    ("contributions_collected", "amount"),
    ("contributions_earned", "amount"),
    ("member_contributions_earned", "amount"),
    ("own_resources_share", "ratio"),
    ("subsidies_due", "amount"),
    ("subsidies_received", "amount"),
    ("registration_fees", "amount"),
    ("arrears", "amount"),
    ("claims_submitted", "count"),
    ("claims_rejected", "count"),
    ("claim_rejection_ratio", "ratio"),
    ("claims_incurred", "amount"),
    ("claims_paid", "amount"),
    ("claims_outstanding", "amount"),
    ("incurred_claims_ratio", "ratio"),
    ("paid_claims_ratio", "ratio"),
    ("median_days_to_payment", "days"),
    ("paid_within_30_days_ratio", "ratio"),
    ("admin_expenses", "amount"),
    ("expense_ratio", "ratio"),
    ("net_result", "amount"),
    ("reserves", "amount"),
    ("reserve_months", "ratio"),
    ("cash", "amount"),
    ("liquidity_ratio", "ratio"),
)
KIND = dict(INDICATORS)
#: The indicators with a traffic light, in indicators.md's order.
THRESHOLD_KEYS = scheme_settings.THRESHOLD_KEYS
#: The four figures of each benefit code (indicators.md "Per benefit code").
BENEFIT_KEYS = ("cases", "amount", "average_cost", "utilization_per_1000")

_RATIO_PLACES = 4
#: indicators.md: paid_within_30_days_ratio counts the claims paid within at most this many days.
_PROMPT_PAYMENT_DAYS = 30


class MixedCurrencies(UserError):
    """Schemes of different currencies cannot be summed (indicators.md "A federation")."""


@dataclass
class Parts:
    """Everything that adds up across schemes, for one period. Amounts are as reported (rounded)."""

    currency: str
    date_from: date
    date_to: date
    # Membership.
    households_covered_start: int = 0
    households_covered_end: int = 0
    households_retained: int = 0
    beneficiaries_covered_start: int = 0
    beneficiaries_covered_end: int = 0
    new_households: int = 0
    new_beneficiaries: int = 0
    households_struck_off: int = 0
    target_population: int = 0
    person_days: int = 0
    # Contributions (contributions.md §6).
    contributions_expected: Decimal = ZERO
    period_dues_paid: Decimal = ZERO
    contributions_collected: Decimal = ZERO
    contributions_earned: Decimal = ZERO
    member_contributions_earned: Decimal = ZERO
    subsidies_due: Decimal = ZERO
    subsidies_received: Decimal = ZERO
    registration_fees: Decimal = ZERO
    arrears: Decimal = ZERO
    # Claims.
    claims_submitted: int = 0
    claims_rejected: int = 0
    claims_incurred: Decimal = ZERO
    claims_paid: Decimal = ZERO
    claims_outstanding: Decimal = ZERO
    payment_delays: Counter = field(default_factory=Counter)  # days from submission to payment → claims
    benefits: dict[str, tuple[int, Decimal]] = field(default_factory=dict)  # code → (cases, amount)
    # Finance (balances at T).
    admin_expenses: Decimal = ZERO
    reserves: Decimal = ZERO
    cash: Decimal = ZERO

    @property
    def days(self) -> int:
        """Days in [F, T], both ends included."""
        return (self.date_to - self.date_from).days + 1


_ADDITIVE = tuple(
    f.name for f in fields(Parts) if f.name not in ("currency", "date_from", "date_to", "payment_delays", "benefits")
)


def sum_parts(parts: list[Parts], currency: str, date_from: date, date_to: date) -> Parts:
    """The parts of several schemes added together (all in ``currency``; the caller checked)."""
    total = Parts(currency=currency, date_from=date_from, date_to=date_to)
    for part in parts:
        for name in _ADDITIVE:
            setattr(total, name, getattr(total, name) + getattr(part, name))
        total.payment_delays.update(part.payment_delays)
        # indicators.md: per-benefit figures are merged by benefit code.
        for code, (cases, amount) in part.benefits.items():
            previous_cases, previous_amount = total.benefits.get(code, (0, ZERO))
            total.benefits[code] = (previous_cases + cases, previous_amount + amount)
    return total


# -- rounding --------------------------------------------------------------------------------------------------


def round_half_up(value: Fraction, places: int) -> Decimal:
    """An exact value rounded half up (away from zero) to ``places`` decimals (conventions.md)."""
    scaled = value * 10**places
    magnitude = math.floor(abs(scaled) + Fraction(1, 2))
    return Decimal(-magnitude if scaled < 0 else magnitude).scaleb(-places)


def quotient(numerator, denominator, places: int = _RATIO_PLACES) -> Decimal | None:
    """numerator / denominator from the exact quotient, rounded half up; None when the denominator is 0."""
    if not denominator:
        return None
    return round_half_up(Fraction(numerator) / Fraction(denominator), places)


def _median(delays: Counter) -> Decimal | None:
    """Median of a histogram of day counts: the middle value, or the mean of the two middle ones; 1 decimal."""
    count = sum(delays.values())
    if not count:
        return None
    wanted = {(count - 1) // 2, count // 2}  # zero-based ranks of the middle value(s)
    picked: list[int] = []
    seen = 0
    for days in sorted(delays):
        upto = seen + delays[days]
        picked.extend(days for rank in sorted(wanted) if seen <= rank < upto)
        seen = upto
    return round_half_up(Fraction(sum(picked), len(picked)), 1)


# -- deriving indicators from parts ----------------------------------------------------------------------------


def derive(parts: Parts) -> tuple[dict, dict]:
    """The indicators (in indicators.md's order) and the per-benefit figures from ``parts``."""
    p = parts
    net_result = p.contributions_earned + p.registration_fees - p.claims_incurred - p.admin_expenses
    months = Fraction(p.days) / (Fraction(365) / 12)  # indicators.md reserve_months: days / (365 / 12)
    monthly_claims = Fraction(p.claims_incurred) / months if months else Fraction(0)
    paid_count = sum(p.payment_delays.values())
    prompt = sum(n for days, n in p.payment_delays.items() if days <= _PROMPT_PAYMENT_DAYS)
    values = {
        "households_covered_start": p.households_covered_start,
        "households_covered_end": p.households_covered_end,
        "beneficiaries_covered_start": p.beneficiaries_covered_start,
        "beneficiaries_covered_end": p.beneficiaries_covered_end,
        "new_households": p.new_households,
        "new_beneficiaries": p.new_beneficiaries,
        "households_struck_off": p.households_struck_off,
        "penetration_rate": quotient(p.beneficiaries_covered_end, p.target_population),
        "growth_rate": quotient(
            p.beneficiaries_covered_end - p.beneficiaries_covered_start, p.beneficiaries_covered_start
        ),
        "retention_rate": quotient(p.households_retained, p.households_covered_start),
        # Always a number: with nobody covered it is 0 person-years, not an undefined ratio.
        "exposure_years": round_half_up(Fraction(p.person_days, 365), _RATIO_PLACES),
        "contributions_expected": p.contributions_expected,
        "period_dues_paid": p.period_dues_paid,
        "collection_rate": quotient(p.period_dues_paid, p.contributions_expected),
        "contributions_collected": p.contributions_collected,
        "contributions_earned": p.contributions_earned,
        "member_contributions_earned": p.member_contributions_earned,
        "own_resources_share": quotient(p.member_contributions_earned, p.contributions_earned),
        "subsidies_due": p.subsidies_due,
        "subsidies_received": p.subsidies_received,
        "registration_fees": p.registration_fees,
        "arrears": p.arrears,
        "claims_submitted": p.claims_submitted,
        "claims_rejected": p.claims_rejected,
        "claim_rejection_ratio": quotient(p.claims_rejected, p.claims_submitted),
        "claims_incurred": p.claims_incurred,
        "claims_paid": p.claims_paid,
        "claims_outstanding": p.claims_outstanding,
        "incurred_claims_ratio": quotient(p.claims_incurred, p.contributions_earned),
        "paid_claims_ratio": quotient(p.claims_paid, p.contributions_earned),
        "median_days_to_payment": _median(p.payment_delays),
        "paid_within_30_days_ratio": quotient(prompt, paid_count),
        "admin_expenses": p.admin_expenses,
        "expense_ratio": quotient(p.admin_expenses, p.contributions_earned),
        "net_result": net_result,
        "reserves": p.reserves,
        "reserve_months": quotient(Fraction(p.reserves), monthly_claims),
        "cash": p.cash,
        "liquidity_ratio": quotient(p.cash, p.claims_outstanding),
    }
    places = minor_units(p.currency)
    benefits = {}
    for code in sorted(p.benefits):
        cases, amount = p.benefits[code]
        benefits[code] = {
            "cases": cases,
            "amount": amount,
            "average_cost": quotient(amount, cases, places),
            # From the exact person-days of the whole scheme (indicators.md "Per benefit code").
            "utilization_per_1000": quotient(1000 * cases * 365, p.person_days),
        }
    return {key: values[key] for key, _ in INDICATORS}, benefits


def lights(indicators: dict, settings: dict | None) -> dict[str, str | None]:
    """The traffic light of each thresholded indicator: the scheme's bounds over indicators.md's defaults."""
    bounds = scheme_settings.thresholds_in(settings)
    return {key: scheme_settings.traffic_light(key, indicators[key], bounds[key]) for key in THRESHOLD_KEYS}


# -- one scheme ------------------------------------------------------------------------------------------------


@dataclass
class SchemeIndicators:
    """One scheme's report for [F, T]: indicators, per-benefit figures, traffic lights and the parts."""

    code: str
    name: str
    currency: str
    country: str
    date_from: date
    date_to: date
    indicators: dict
    benefits: dict
    thresholds: dict
    parts: Parts


@dataclass(frozen=True)
class ContributionAmounts:
    """The §6 amounts of contributions.md summed over a scheme's households, as reported (rounded)."""

    contributions_expected: Decimal
    period_dues_paid: Decimal
    subsidies_due: Decimal
    contributions_earned: Decimal
    member_contributions_earned: Decimal
    registration_fees: Decimal
    arrears: Decimal
    # Over [opening_date, T], for the reserves (indicators.md: net_result computed over that span).
    earned_since_opening: Decimal
    registration_fees_since_opening: Decimal


def engine_contribution_amounts(
    ledgers, currency: str, date_from: date, date_to: date, opening: date
) -> ContributionAmounts:
    """The same sums as ``ledgers.contribution_amounts``, straight from the engine's ledgers (the reference the
    stored ledgers are tested against; slow on a large register: half a millisecond per household).

    Earned contributions are summed as exact fractions and rounded once (contributions.md §6).
    """
    expected = dues_paid = subsidies = fees = arrears = fees_since = ZERO
    earned: list[Fraction] = []
    member: list[Fraction] = []
    earned_since: list[Fraction] = []
    for ledger in ledgers:
        amounts = ledger.amounts(date_from, date_to)
        expected += amounts.contributions_expected
        dues_paid += amounts.period_dues_paid
        subsidies += amounts.subsidies_due
        fees += amounts.registration_fees
        arrears += amounts.arrears_at_T
        earned.append(amounts.earned_gross_fraction)
        member.append(amounts.earned_member_fraction)
        since = amounts if opening == date_from else ledger.amounts(opening, date_to)
        earned_since.append(since.earned_gross_fraction)
        fees_since += since.registration_fees
    return ContributionAmounts(
        contributions_expected=expected,
        period_dues_paid=dues_paid,
        subsidies_due=subsidies,
        contributions_earned=round_exact_sum(earned, currency),
        member_contributions_earned=round_exact_sum(member, currency),
        registration_fees=fees,
        arrears=arrears,
        earned_since_opening=round_exact_sum(earned_since, currency),
        registration_fees_since_opening=fees_since,
    )


def scheme_ledgers(session, scheme) -> list:
    """Every household's contribution ledger, from one bulk load of the register and the receipts."""
    from mhi.contributions.services import household_inputs

    return [build_ledger(h) for h in household_inputs(session, scheme).values()]


def scheme_parts(session, scheme, date_from: date, date_to: date) -> Parts:
    """The additive parts of one scheme's report for [F, T]."""
    currency = scheme.currency
    opening = scheme.opening_date
    queries.prepare(session)
    members = queries.membership(session, scheme.id, date_from, date_to)
    claims = queries.claim_totals(session, scheme.id, date_from, date_to, opening)
    flows = queries.cash_flows(session, scheme.id, date_from, date_to, opening)
    money = ledgers.contribution_amounts(session, scheme, date_from, date_to, opening)

    benefits = {code: (0, ZERO) for code in queries.benefit_codes(session, scheme.id)}
    benefits.update(claims.by_benefit)

    # indicators.md "Finance": reserves = opening reserve + net_result over [opening_date, T]; the cash is the
    # opening cash plus every receipt and subsidy receipt, minus claims paid and expenses, since opening.
    net_since_opening = (
        money.earned_since_opening
        + money.registration_fees_since_opening
        - claims.incurred_since_opening
        - flows.expenses_since_opening
    )
    reserves = scheme.opening_reserve + net_since_opening
    cash = (
        scheme.opening_cash
        + flows.receipts_since_opening
        + flows.subsidy_receipts_since_opening
        - claims.paid_since_opening
        - flows.expenses_since_opening
    )
    return Parts(
        currency=currency,
        date_from=date_from,
        date_to=date_to,
        households_covered_start=members.households_covered_start,
        households_covered_end=members.households_covered_end,
        households_retained=members.households_retained,
        beneficiaries_covered_start=members.beneficiaries_covered_start,
        beneficiaries_covered_end=members.beneficiaries_covered_end,
        new_households=members.new_households,
        new_beneficiaries=members.new_beneficiaries,
        households_struck_off=members.households_struck_off,
        target_population=scheme.target_population or 0,
        person_days=members.person_days,
        contributions_expected=money.contributions_expected,
        period_dues_paid=money.period_dues_paid,
        contributions_collected=flows.contributions_collected,
        contributions_earned=money.contributions_earned,
        member_contributions_earned=money.member_contributions_earned,
        subsidies_due=money.subsidies_due,
        subsidies_received=flows.subsidies_received,
        registration_fees=money.registration_fees,
        arrears=money.arrears,
        claims_submitted=claims.submitted,
        claims_rejected=claims.rejected,
        claims_incurred=claims.incurred,
        claims_paid=claims.paid,
        claims_outstanding=claims.outstanding,
        payment_delays=claims.payment_delays,
        benefits=benefits,
        admin_expenses=flows.admin_expenses,
        reserves=reserves,
        cash=cash,
    )


def scheme_indicators(session, scheme, date_from: date, date_to: date) -> SchemeIndicators:
    """Every indicator of indicators.md for ``scheme`` over [F, T], with per-benefit figures and lights."""
    if date_from > date_to:
        raise ValueError(f"the period starts ({date_from}) after it ends ({date_to})")
    parts = scheme_parts(session, scheme, date_from, date_to)
    values, benefits = derive(parts)
    return SchemeIndicators(
        code=scheme.code,
        name=scheme.name,
        currency=scheme.currency,
        country=scheme.country,
        date_from=date_from,
        date_to=date_to,
        indicators=values,
        benefits=benefits,
        thresholds=lights(values, scheme.settings),
        parts=parts,
    )


# -- a federation ----------------------------------------------------------------------------------------------


@dataclass
class FederationIndicators:
    """A federation's consolidated report: each scheme, and the total from the summed parts."""

    code: str
    name: str
    currency: str
    date_from: date
    date_to: date
    schemes: list[SchemeIndicators]
    total_indicators: dict
    total_benefits: dict
    total_thresholds: dict  # indicators.md's default bounds: a federation has no settings of its own
    parts: Parts


def check_currencies(federation, schemes) -> str:
    """The one currency of the federation's schemes; ``MixedCurrencies`` when they differ."""
    currencies = {scheme.currency for scheme in schemes} | {federation.currency}
    if len(currencies) > 1:
        listing = ", ".join(f"{scheme.code} ({scheme.currency})" for scheme in schemes)
        raise MixedCurrencies(
            N_(
                "federation %(code)s (%(currency)s) has schemes in different currencies: %(listing)s; amounts of different currencies are not added up"
            ),
            code=federation.code,
            currency=federation.currency,
            listing=listing,
        )
    return federation.currency


def federation_indicators(session, federation, date_from: date, date_to: date) -> FederationIndicators:
    """Each scheme's indicators and the federation total over [F, T] (indicators.md "A federation")."""
    schemes = sorted(federation.schemes, key=lambda scheme: scheme.code)
    currency = check_currencies(federation, schemes)
    reports = [scheme_indicators(session, scheme, date_from, date_to) for scheme in schemes]
    parts = sum_parts([report.parts for report in reports], currency, date_from, date_to)
    values, benefits = derive(parts)
    return FederationIndicators(
        code=federation.code,
        name=federation.name,
        currency=currency,
        date_from=date_from,
        date_to=date_to,
        schemes=reports,
        total_indicators=values,
        total_benefits=benefits,
        total_thresholds=lights(values, None),
        parts=parts,
    )


# -- JSON (cli.md) ---------------------------------------------------------------------------------------------


def json_value(key: str, value, currency: str):
    """One indicator for JSON: amounts as strings in the currency's decimals, ratios as numbers, null kept."""
    if value is None:
        return None
    kind = KIND[key]
    if kind == "count":
        return int(value)
    if kind == "amount":
        return money_str(value, currency)
    return float(value)


def benefits_json(benefits: dict, currency: str) -> dict:
    """The per-benefit figures for JSON."""
    return {
        code: {
            "cases": figures["cases"],
            "amount": money_str(figures["amount"], currency),
            "average_cost": None if figures["average_cost"] is None else money_str(figures["average_cost"], currency),
            "utilization_per_1000": None
            if figures["utilization_per_1000"] is None
            else float(figures["utilization_per_1000"]),
        }
        for code, figures in benefits.items()
    }


def _indicators_json(values: dict, currency: str) -> dict:
    """The indicators object for JSON, in indicators.md's order."""
    return {key: json_value(key, values[key], currency) for key, _ in INDICATORS}


def _period_json(date_from: date, date_to: date) -> dict:
    return {"from": date_from.isoformat(), "to": date_to.isoformat()}


def to_json(report: SchemeIndicators) -> dict:
    """cli.md's ``report indicators --format json`` document."""
    return {
        "scheme": report.code,
        "currency": report.currency,
        "period": _period_json(report.date_from, report.date_to),
        "indicators": _indicators_json(report.indicators, report.currency),
        "benefits": benefits_json(report.benefits, report.currency),
        "thresholds": dict(report.thresholds),
    }


def federation_to_json(report: FederationIndicators) -> dict:
    """cli.md's ``report federation --format json`` document."""
    currency = report.currency
    return {
        "federation": report.code,
        "currency": currency,
        "period": _period_json(report.date_from, report.date_to),
        "schemes": {
            scheme.code: {
                "indicators": _indicators_json(scheme.indicators, currency),
                "benefits": benefits_json(scheme.benefits, currency),
            }
            for scheme in report.schemes
        },
        "total": {
            "indicators": _indicators_json(report.total_indicators, currency),
            "benefits": benefits_json(report.total_benefits, currency),
        },
    }
