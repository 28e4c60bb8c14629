"""What the report screens need around the indicators: reading a period (month, quarter, year or from–to), the
24-month trend of the dashboard, the federation's ordering, and CSV downloads of every table.

Read-only: nothing here writes to the database.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

from flask_babel import lazy_gettext as _l

from mhi.core import sheets
from mhi.core import validation as v
from mhi.core.dates import add_months
from mhi.core.errors import N_, UserError
from mhi.core.money import ZERO
from mhi.reports import indicators as ind
from mhi.reports import ledgers, queries
from mhi.reports.labels import LABELS, LIGHTS

#: Months in the dashboard's trend charts.
TREND_MONTHS = 24
PERIOD_KINDS = ("year", "quarter", "month", "range")


class PeriodError(UserError):
    """A period the user typed that cannot be read; the message says what is expected."""


@dataclass(frozen=True)
class Period:
    """A reporting period [start, end] (both included) and how the user chose it."""

    kind: str
    start: date
    end: date
    value: str  # the text the form shows back: 2025, 2025-Q2, 2025-03, or "" for a range


def _month_end(day: date) -> date:
    """The last day of ``day``'s month."""
    return add_months(day.replace(day=1), 1) - timedelta(days=1)


def read_period(kind: str | None, value: str | None, start: str | None, end: str | None, today: date) -> Period:
    """The period of a dashboard request; without one, the last full calendar year before ``today``. Its years
    fall within validation.FIRST_YEAR–LAST_YEAR (``9999-12`` is refused, as in forms)."""
    try:
        period = _read_period(kind, value, start, end, today)
    except PeriodError:
        raise
    except (ValueError, OverflowError) as exc:  # year 0, or a month end past year 9999
        raise PeriodError(
            N_("the period must fall between %(FIRST_YEAR)s and %(LAST_YEAR)s"),
            FIRST_YEAR=v.FIRST_YEAR,
            LAST_YEAR=v.LAST_YEAR,
        ) from exc
    if not (v.FIRST_YEAR <= period.start.year and period.end.year <= v.LAST_YEAR):
        raise PeriodError(
            N_("the period must fall between %(FIRST_YEAR)s and %(LAST_YEAR)s"),
            FIRST_YEAR=v.FIRST_YEAR,
            LAST_YEAR=v.LAST_YEAR,
        )
    return period


def _read_period(kind: str | None, value: str | None, start: str | None, end: str | None, today: date) -> Period:
    """The period as written, before its years are checked."""
    kind = kind or "year"
    value = (value or "").strip()
    if kind not in PERIOD_KINDS:
        raise PeriodError(N_("unknown period kind %(kind)s"), kind=repr(kind))
    if kind == "range":
        try:
            first, last = date.fromisoformat((start or "").strip()), date.fromisoformat((end or "").strip())
        except ValueError as exc:
            raise PeriodError(N_("give both dates as YYYY-MM-DD")) from exc
        if first > last:
            raise PeriodError(N_("the period ends before it starts"))
        return Period("range", first, last, "")
    if not value:
        value = str(today.year - 1) if kind == "year" else ""
        if kind == "quarter":
            value = f"{today.year}-Q{(today.month - 1) // 3 + 1}"
        elif kind == "month":
            value = f"{today.year}-{today.month:02d}"
    if kind == "year":
        if not re.fullmatch(r"\d{4}", value):
            raise PeriodError(N_("a year is written YYYY"))
        year = int(value)
        return Period(kind, date(year, 1, 1), date(year, 12, 31), value)
    if kind == "quarter":
        match = re.fullmatch(r"(\d{4})-Q([1-4])", value.upper())
        if not match:
            raise PeriodError(N_("a quarter is written YYYY-Qn (n from 1 to 4)"))
        first = date(int(match.group(1)), 3 * int(match.group(2)) - 2, 1)
        return Period(kind, first, _month_end(add_months(first, 2)), value.upper())
    match = re.fullmatch(r"(\d{4})-(\d{2})", value)
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise PeriodError(N_("a month is written YYYY-MM"))
    first = date(int(match.group(1)), int(match.group(2)), 1)
    return Period(kind, first, _month_end(first), value)


# -- trend -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrendPoint:
    """One month of the dashboard's trend: membership at its end, and its ratios (None where undefined)."""

    month: date  # first day of the month
    beneficiaries: int
    collection_rate: Decimal | None
    incurred_claims_ratio: Decimal | None
    reserve_months: Decimal | None


def trend_months(end: date, count: int = TREND_MONTHS) -> list[tuple[date, date]]:
    """The ``count`` calendar months ending with ``end``'s month, oldest first, as [first, last] pairs."""
    last_first = end.replace(day=1)
    firsts = [add_months(last_first, -offset) for offset in range(count - 1, -1, -1)]
    return [(first, _month_end(first)) for first in firsts]


def monthly_trend(session, scheme, end: date, count: int = TREND_MONTHS) -> list[TrendPoint]:
    """Month by month over the ``count`` months ending with ``end``'s month (indicators.md formulas per month).

    Efficient by construction: the §6 amounts of all the months are two aggregate queries over the stored ledgers
    (``ledgers.amounts_many``); membership, claims and expenses of all the months come from one query each. Each month's reserves are
    the balance at its end (opening reserve + net result since the opening date), and its reserve months divide
    them by that month's claims (indicators.md reserve_months with [F, T] the month).
    """
    months = trend_months(end, count)
    opening = scheme.opening_date
    queries.prepare(session)
    # Every month's §6 amounts in the same few scans of the stored ledgers (else the engine's ledgers loaded once).
    amounts = ledgers.amounts_many(session, scheme, months, opening)
    covered = queries.beneficiaries_covered_on(session, scheme.id, [last for _, last in months])
    incurred = queries.monthly_claims_incurred(session, scheme.id, months)
    expenses = queries.monthly_expenses(session, scheme.id, months)
    # Claims and expenses from the opening date up to the first month, for the running reserves.
    first_day = months[0][0]
    before = queries.claim_totals(session, scheme.id, first_day, first_day, opening)
    flows = queries.cash_flows(session, scheme.id, first_day, first_day, opening)
    claims_before = before.incurred_since_opening - before.incurred if first_day >= opening else ZERO
    expenses_before = flows.expenses_since_opening - flows.admin_expenses if first_day >= opening else ZERO

    points = []
    running_claims = claims_before
    running_expenses = expenses_before
    for index, (first, last) in enumerate(months):
        money = amounts[index]
        running_claims += incurred[index]
        running_expenses += expenses[index]
        reserves = (
            scheme.opening_reserve
            + money.earned_since_opening
            + money.registration_fees_since_opening
            - running_claims
            - running_expenses
        )
        days = (last - first).days + 1
        monthly_claims = Fraction(incurred[index]) / (Fraction(days) / (Fraction(365) / 12))
        points.append(
            TrendPoint(
                month=first,
                beneficiaries=covered[index],
                collection_rate=ind.quotient(money.period_dues_paid, money.contributions_expected),
                incurred_claims_ratio=ind.quotient(incurred[index], money.contributions_earned),
                reserve_months=ind.quotient(Fraction(reserves), monthly_claims),
            )
        )
    return points


# -- the federation's ordering ---------------------------------------------------------------------------------


def red_count(report: ind.SchemeIndicators) -> int:
    """How many of a scheme's lights are red."""
    return sum(1 for light in report.thresholds.values() if light == "red")


def sort_schemes(schemes: list[ind.SchemeIndicators], key: str | None, descending: bool) -> list:
    """Schemes with red lights first (most reds first), then by ``key`` (an indicator; nulls last) or code."""

    def value(report):
        raw = report.indicators.get(key) if key in ind.KIND else None
        return raw

    def order(report):
        raw = value(report)
        if raw is None:
            primary = (1, 0)
        else:
            number = float(raw)
            primary = (0, -number if descending else number)
        return (-red_count(report), primary, report.code)

    if key not in ind.KIND:
        return sorted(schemes, key=lambda report: (-red_count(report), report.code))
    return sorted(schemes, key=order)


# -- spreadsheet tables (CSV and XLSX through mhi.core.sheets) ---------------------------------------------


def _sheet_value(key: str, value):
    """One indicator for a spreadsheet: counts as integers, amounts and ratios as exact decimals, null kept."""
    if value is None:
        return None
    if ind.KIND[key] == "count":
        return int(value)
    return Decimal(value)


def indicators_table(report: ind.SchemeIndicators) -> sheets.Table:
    """The indicators of one scheme: name, value, traffic light (one row per indicator, indicators.md's order)."""
    rows = []
    for key, _ in ind.INDICATORS:
        light = report.thresholds.get(key)
        rows.append([str(LABELS[key]), _sheet_value(key, report.indicators[key]), str(LIGHTS.get(light, "")), key])
    columns = [
        sheets.Column(_l("Indicator")),
        sheets.Column(_l("Value"), "number"),
        sheets.Column(_l("Light")),
        sheets.Column(_l("Key")),
    ]
    return sheets.Table(_l("Indicators"), columns, rows)


def benefits_table(benefits: dict, currency: str) -> sheets.Table:
    """The per-benefit figures: benefit, cases, amount, average cost, utilisation per 1000."""
    columns = [
        sheets.Column(_l("Benefit")),
        sheets.Column(_l("Cases"), "count"),
        sheets.Column(_l("Amount"), "amount", currency),
        sheets.Column(_l("Average cost"), "amount", currency),
        sheets.Column(_l("Use per 1000 beneficiaries"), "number"),
    ]
    rows = [
        [code, figures["cases"], figures["amount"], figures["average_cost"], figures["utilization_per_1000"]]
        for code, figures in benefits.items()
    ]
    return sheets.Table(_l("Benefits"), columns, rows)


def trend_table(points: list[TrendPoint]) -> sheets.Table:
    """The 24-month trend: month, beneficiaries, collection rate, incurred claims ratio, reserve months."""
    columns = [
        sheets.Column(_l("Month")),
        sheets.Column(_l("Beneficiaries covered"), "count"),
        sheets.Column(_l("Collection rate"), "ratio"),
        sheets.Column(_l("Incurred claims ratio"), "ratio"),
        sheets.Column(_l("Reserve (months of claims)"), "number"),
    ]
    rows = [
        [p.month.strftime("%Y-%m"), p.beneficiaries, p.collection_rate, p.incurred_claims_ratio, p.reserve_months]
        for p in points
    ]
    return sheets.Table(_l("Trend"), columns, rows)


def federation_table(report: ind.FederationIndicators) -> sheets.Table:
    """The schemes side by side and the federation's total, one row per indicator."""
    columns = [
        sheets.Column(_l("Indicator")),
        *(sheets.Column(scheme.code, "number") for scheme in report.schemes),
        sheets.Column(_l("Total"), "number"),
        sheets.Column(_l("Key")),
    ]
    rows = []
    for key, _ in ind.INDICATORS:
        values = [_sheet_value(key, scheme.indicators[key]) for scheme in report.schemes]
        rows.append([str(LABELS[key]), *values, _sheet_value(key, report.total_indicators[key]), key])
    return sheets.Table(_l("Federation"), columns, rows)
