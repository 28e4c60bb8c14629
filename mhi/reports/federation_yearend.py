"""A federation's year-end figures: each member scheme's income statement and balance sheet (``mhi.reports.yearend``)
side by side, with the federation's total (issue 16).

The total of a row is the sum of the schemes' amounts on that row, and nothing else: no figure is computed again
for the federation, as the federation report sums its schemes' parts (indicators.md "A federation"). Schemes of
different currencies cannot be added up: ``MixedCurrencies``, as the federation report. A scheme that had not
opened by the year's end has no column. Only figures are shown: a federation reviewer never sees a patient.

Rows line up by their ``key`` (``yearend.Row``): a line one scheme has and another has not (an expense category,
the pool) is blank in the other's column; a net amount that is an asset in one scheme and a liability in another
(subsidies due from or received in advance from funders) sits on its side in each, as in each scheme's pack.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from flask_babel import lazy_gettext as _l

from mhi.core import clock, sheets
from mhi.core.money import ZERO
from mhi.reports import indicators as ind
from mhi.reports import yearend


@dataclass(frozen=True)
class SideRow:
    """One row across the schemes: ``amounts`` one per scheme column (None where that scheme has no such line),
    ``total`` their sum (None for a heading)."""

    kind: str
    label: object
    key: str
    amounts: tuple[Decimal | None, ...]
    total: Decimal | None


@dataclass
class FederationYearEnd:
    """The packs of the federation's open schemes for ``year`` and the two statements side by side."""

    federation: object
    year: int
    currency: str
    packs: list[yearend.YearEnd] = field(default_factory=list)
    income: list[SideRow] = field(default_factory=list)
    balance: list[SideRow] = field(default_factory=list)

    @property
    def schemes(self) -> list:
        """The schemes of the columns, in column order."""
        return [pack.scheme for pack in self.packs]


def year_range(federation, today: date) -> tuple[int, int]:
    """The years that can be asked for: from the first opening year of a member scheme to next year."""
    first = min((scheme.opening_date.year for scheme in federation.schemes), default=today.year)
    return first, today.year + yearend.FUTURE_YEARS


def default_year(federation, today: date) -> int:
    """Last year, or the first year a member scheme was open when that is later."""
    return max(today.year - 1, year_range(federation, today)[0])


def federation_year_end(session, federation, year: int, today: date | None = None) -> FederationYearEnd:
    """The year-end figures of ``federation``'s schemes for ``year``, side by side with their sum.

    Raises ``ind.MixedCurrencies`` when the schemes keep different currencies and ``yearend.YearError`` for a
    year outside ``year_range``.
    """
    today = today or clock.today()
    schemes = sorted(federation.schemes, key=lambda scheme: scheme.code)
    currency = ind.check_currencies(federation, schemes)
    first, last = year_range(federation, today)
    if not first <= year <= last:
        raise yearend.YearError(first, last)
    packs = [yearend.year_end(session, scheme, year, today) for scheme in schemes if scheme.opening_date.year <= year]
    return FederationYearEnd(
        federation=federation,
        year=year,
        currency=currency,
        packs=packs,
        income=side_by_side([yearend.income_rows(pack) for pack in packs]),
        balance=side_by_side([yearend.balance_rows(pack) for pack in packs]),
    )


def side_by_side(statements: list[list[yearend.Row]]) -> list[SideRow]:
    """The schemes' statements as one table: every key any scheme has, in the schemes' order (a key one scheme
    lacks goes after the row it follows in the scheme that has it), and each row's total the sum of its parts."""
    order: list[str] = []
    first_row: dict[str, yearend.Row] = {}
    by_scheme: list[dict[str, yearend.Row]] = []
    for rows in statements:
        previous = None
        for row in rows:
            if row.key not in first_row:
                first_row[row.key] = row
                order.insert(order.index(previous) + 1 if previous is not None else 0, row.key)
            previous = row.key
        by_scheme.append({row.key: row for row in rows})
    table = []
    for key in order:
        row = first_row[key]
        if row.kind == "heading":
            table.append(SideRow("heading", row.label, key, tuple(None for _ in statements), None))
            continue
        amounts = tuple(rows[key].amount if key in rows else None for rows in by_scheme)
        total = sum((amount for amount in amounts if amount is not None), ZERO)
        table.append(SideRow(row.kind, row.label, key, amounts, total))
    return table


def tables(report: FederationYearEnd) -> list[sheets.Table]:
    """The two statements as sheets: one amount column per scheme, then the federation's total."""
    columns = [sheets.Column(_l("Item"))]
    columns += [sheets.Column(scheme.code, "amount", report.currency) for scheme in report.schemes]
    columns.append(sheets.Column(_l("Federation total"), "amount", report.currency))

    def rows(side_rows: list[SideRow]) -> list[list]:
        return [[str(row.label), *row.amounts, row.total] for row in side_rows]

    return [
        sheets.Table(_l("Income statement"), columns, rows(report.income)),
        sheets.Table(_l("Balance sheet"), columns, rows(report.balance)),
    ]
