"""What the report screens need around the indicators: reading a period (month, quarter, year or from–to), the
24-month trend of the dashboard, the federation's ordering, and CSV downloads of every table.

Read-only: nothing here writes to the database.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

from mhi.core import validation as v
from mhi.core.dates import add_months
from mhi.core.money import ZERO
from mhi.reports import indicators as ind
from mhi.reports import ledgers, queries

#: Months in the dashboard's trend charts.
TREND_MONTHS = 24
PERIOD_KINDS = ("year", "quarter", "month", "range")


class PeriodError(ValueError):
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
        raise PeriodError(f"the period must fall between {v.FIRST_YEAR} and {v.LAST_YEAR}") from exc
    if not (v.FIRST_YEAR <= period.start.year and period.end.year <= v.LAST_YEAR):
        raise PeriodError(f"the period must fall between {v.FIRST_YEAR} and {v.LAST_YEAR}")
    return period


def _read_period(kind: str | None, value: str | None, start: str | None, end: str | None, today: date) -> Period:
    """The period as written, before its years are checked."""
    kind = kind or "year"
    value = (value or "").strip()
    if kind not in PERIOD_KINDS:
        raise PeriodError(f"unknown period kind {kind!r}")
    if kind == "range":
        try:
            first, last = date.fromisoformat((start or "").strip()), date.fromisoformat((end or "").strip())
        except ValueError as exc:
            raise PeriodError("give both dates as YYYY-MM-DD") from exc
        if first > last:
            raise PeriodError("the period ends before it starts")
        return Period("range", first, last, "")
    if not value:
        value = str(today.year - 1) if kind == "year" else ""
        if kind == "quarter":
            value = f"{today.year}-Q{(today.month - 1) // 3 + 1}"
        elif kind == "month":
            value = f"{today.year}-{today.month:02d}"
    if kind == "year":
        if not re.fullmatch(r"\d{4}", value):
            raise PeriodError("a year is written YYYY")
        year = int(value)
        return Period(kind, date(year, 1, 1), date(year, 12, 31), value)
    if kind == "quarter":
        match = re.fullmatch(r"(\d{4})-Q([1-4])", value.upper())
        if not match:
            raise PeriodError("a quarter is written YYYY-Qn (n from 1 to 4)")
        first = date(int(match.group(1)), 3 * int(match.group(2)) - 2, 1)
        return Period(kind, first, _month_end(add_months(first, 2)), value.upper())
    match = re.fullmatch(r"(\d{4})-(\d{2})", value)
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise PeriodError("a month is written YYYY-MM")
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

    Efficient by construction: each month's §6 amounts are two aggregate queries over the stored ledgers
    (``ledgers``); membership, claims and expenses of all the months come from one query each. Each month's reserves are
    the balance at its end (opening reserve + net result since the opening date), and its reserve months divide
    them by that month's claims (indicators.md reserve_months with [F, T] the month).
    """
    months = trend_months(end, count)
    opening = scheme.opening_date
    ledgers.refresh(session, scheme, months[-1][1])
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
        money = ledgers.contribution_amounts(session, scheme, first, last, opening, fresh=True)
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


# -- CSV -------------------------------------------------------------------------------------------------------


def _csv(rows: list[list]) -> str:
    """CSV text: UTF-8, LF line ends, quotes only where needed (as cli.md's exports)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerows(rows)
    return buffer.getvalue()


def _cell(key: str, value, currency: str) -> str:
    """One indicator value as a CSV cell (the JSON value; empty for null)."""
    shown = ind.json_value(key, value, currency)
    return "" if shown is None else str(shown)


def indicators_csv(report: ind.SchemeIndicators) -> str:
    """``indicator,value,light`` for one scheme."""
    rows = [["indicator", "value", "light"]]
    for key, _ in ind.INDICATORS:
        rows.append([key, _cell(key, report.indicators[key], report.currency), report.thresholds.get(key) or ""])
    return _csv(rows)


def benefits_csv(benefits: dict, currency: str) -> str:
    """``benefit_code,cases,amount,average_cost,utilization_per_1000``."""
    rows = [["benefit_code", *ind.BENEFIT_KEYS]]
    for code, figures in ind.benefits_json(benefits, currency).items():
        rows.append([code, *("" if figures[k] is None else str(figures[k]) for k in ind.BENEFIT_KEYS)])
    return _csv(rows)


def trend_csv(points: list[TrendPoint]) -> str:
    """``month,beneficiaries_covered,collection_rate,incurred_claims_ratio,reserve_months``."""
    rows = [["month", "beneficiaries_covered", "collection_rate", "incurred_claims_ratio", "reserve_months"]]
    for p in points:
        ratios = (p.collection_rate, p.incurred_claims_ratio, p.reserve_months)
        rows.append([p.month.strftime("%Y-%m"), p.beneficiaries, *("" if r is None else str(float(r)) for r in ratios)])
    return _csv(rows)


def federation_csv(report: ind.FederationIndicators) -> str:
    """``indicator,<scheme codes…>,total``: the schemes side by side."""
    rows = [["indicator", *(scheme.code for scheme in report.schemes), "total"]]
    for key, _ in ind.INDICATORS:
        cells = [_cell(key, scheme.indicators[key], report.currency) for scheme in report.schemes]
        rows.append([key, *cells, _cell(key, report.total_indicators[key], report.currency)])
    return _csv(rows)


def settlement_csv(document: dict) -> str:
    """``scheme,<pooling.md scheme keys…>`` plus a line per pool figure."""
    schemes = document["schemes"]
    keys = list(next(iter(schemes.values()))) if schemes else []
    rows = [["scheme", *keys]]
    rows += [[code, *(line[k] for k in keys)] for code, line in schemes.items()]
    rows.append([])
    for key in ("opening_balance", "contributions", "available", "paid", "closing_balance"):
        rows.append([key, document[key]])
    return _csv(rows)
