"""The year-end pack: a scheme's accounts for one financial year as its general assembly reads them (issue 16).

Every figure comes from the monitoring indicators (``mhi.reports.indicators``, indicators.md) or from the pool's
closed settlements (``mhi.pooling.accounts``); no rule is computed a second time here. Three reports are asked for:

- the **year** [F, T]: the income statement's lines are that report's indicators;
- **since opening** [opening_date, T]: the balance sheet's cumulative flows (receipts, subsidies due and received,
  contributions earned, claims incurred and paid) — indicators over that span;
- **the year before** [opening_date, F − 1]: the reserves the assembly approved last year.

The financial year is the calendar year (docs/decisions.md); a scheme that opened during the year has a first
year from its opening date. The accounting choices are written down in docs/year-end.md:

- contributions are earned on the accrual basis of contributions.md §6 (periods paid as of T, day by day), so
  a period that was unpaid at last year's close and is paid this year brings its earlier part in this year:
  the line *contributions of earlier years earned this year*, so that the result is exactly the change in
  reserves;
- the pool's flows are those of the closed settlements whose period ends in the year (drafts move no money);
  a settlement closed after the year end is owed by (or to) the pool at the year end;
- the balance sheet is built from the cumulative figures, so assets = liabilities + reserves is an identity of
  the indicators' own definitions, and the test checks it with the real figures.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from mhi.core import clock, sheets
from mhi.core.money import ZERO
from mhi.reports import indicators as ind

#: Expense categories of data-formats.md (expenses.csv), with the words a board reads.
EXPENSE_CATEGORIES = {
    "staff": _l("Staff"),
    "premises": _l("Premises"),
    "transport": _l("Transport"),
    "printing": _l("Printing"),
    "training": _l("Training"),
    "other": _l("Other running costs"),
}

#: The years a pack can be asked for: from the scheme's opening year to next year (a later year would make the
#: contribution engine lay out periods for centuries).
FUTURE_YEARS = 1


class YearError(ValueError):
    """A financial year out of the reportable range; ``first`` and ``last`` bound it (the view translates)."""

    def __init__(self, first: int, last: int) -> None:
        super().__init__(f"choose a year from {first} to {last}")
        self.first, self.last = first, last

    def translated(self) -> str:
        """The message in the user's language."""
        return str(_l("Choose a year from %(first)s to %(last)s.", first=self.first, last=self.last))


@dataclass(frozen=True)
class Line:
    """One line of a statement: a key (for the XLSX and the tests), its label and its amount."""

    key: str
    label: object
    amount: Decimal


@dataclass
class YearEnd:
    """A scheme's year-end pack for [date_from, date_to]."""

    scheme: object
    year: int
    date_from: date
    date_to: date
    currency: str
    report: ind.SchemeIndicators  # the year's indicators
    since_opening: ind.SchemeIndicators
    income: list[Line] = field(default_factory=list)
    expenses: list[Line] = field(default_factory=list)
    pool: list[Line] = field(default_factory=list)
    assets: list[Line] = field(default_factory=list)
    liabilities: list[Line] = field(default_factory=list)
    reserves_start: Decimal = ZERO
    reserves_end: Decimal = ZERO
    pending_settlements: int = 0

    def _total(self, lines: list[Line]) -> Decimal:
        return sum((line.amount for line in lines), ZERO)

    @property
    def total_income(self) -> Decimal:
        return self._total(self.income)

    @property
    def claims_incurred(self) -> Decimal:
        return self.report.indicators["claims_incurred"]

    @property
    def total_expenses(self) -> Decimal:
        return self._total(self.expenses)

    @property
    def result_before_pool(self) -> Decimal:
        return self.total_income - self.claims_incurred - self.total_expenses

    @property
    def pool_net(self) -> Decimal:
        return self._total(self.pool)

    @property
    def result_after_pool(self) -> Decimal:
        return self.result_before_pool + self.pool_net

    @property
    def total_assets(self) -> Decimal:
        return self._total(self.assets)

    @property
    def total_liabilities(self) -> Decimal:
        return self._total(self.liabilities)


def year_bounds(scheme, year: int, today: date) -> tuple[date, date]:
    """[F, T] of the financial year ``year``: the calendar year, from the opening date in the first one."""
    opening = scheme.opening_date
    if year < opening.year or year > today.year + FUTURE_YEARS:
        raise YearError(opening.year, today.year + FUTURE_YEARS)
    return max(date(year, 1, 1), opening), date(year, 12, 31)


def _expenses_by_category(session, scheme_id: int, date_from: date, date_to: date) -> dict[str, Decimal]:
    """The year's expenses (reversals included) summed by category: the breakdown of admin_expenses."""
    from mhi.schemes.models import Expense

    rows = session.execute(
        select(Expense.category, func.sum(Expense.amount))
        .where(Expense.scheme_id == scheme_id, Expense.date >= date_from, Expense.date <= date_to)
        .group_by(Expense.category)
    )
    return {category: Decimal(total or 0) for category, total in rows}


def _closed_pool_lines(session, scheme, date_to: date):
    """The scheme's lines of the closed settlements ending on or before T (since opening), with closing dates."""
    from mhi.pooling.accounts import _line, _settlements

    if scheme.federation_id is None:
        return [], 0
    lines = []
    pending = 0
    for settlement in _settlements(session, scheme.federation_id, scheme.opening_date, date_to):
        line = _line(settlement, scheme.code)
        if line is None:
            continue
        if settlement.status != "closed":
            pending += 1
            continue
        closed_on = settlement.closed_at.date() if settlement.closed_at else None
        lines.append((line, closed_on))
    return lines, pending


def _side(assets: list[Line], liabilities: list[Line], key: str, label, amount: Decimal, other_label) -> None:
    """Put a net amount on the side its sign says: an asset when positive, a liability (``other_label``) when
    negative; nothing when zero."""
    if amount > 0:
        assets.append(Line(key, label, amount))
    elif amount < 0:
        liabilities.append(Line(key, other_label, -amount))


def year_end(session, scheme, year: int, today: date | None = None) -> YearEnd:
    """The year-end pack of ``scheme`` for the financial year ``year``."""
    today = today or clock.today()
    date_from, date_to = year_bounds(scheme, year, today)
    opening = scheme.opening_date
    report = ind.scheme_indicators(session, scheme, date_from, date_to)
    since = report if opening == date_from else ind.scheme_indicators(session, scheme, opening, date_to)
    before = None
    if date_from > opening:
        before = ind.scheme_indicators(session, scheme, opening, date_from - timedelta(days=1))
    year_figures, all_figures = report.indicators, since.indicators

    pack = YearEnd(
        scheme=scheme,
        year=year,
        date_from=date_from,
        date_to=date_to,
        currency=scheme.currency,
        report=report,
        since_opening=since,
    )

    # -- income statement -------------------------------------------------------------------------------------
    member = year_figures["member_contributions_earned"]
    pack.income = [
        Line("member_contributions_earned", _l("Contributions earned, members' share"), member),
        Line(
            "subsidy_contributions_earned",
            _l("Contributions earned, subsidised share"),
            year_figures["contributions_earned"] - member,
        ),
        Line("registration_fees", _l("Registration fees"), year_figures["registration_fees"]),
    ]
    # Periods of earlier years paid during this one: earned now (accrual on paid periods, contributions.md §6).
    earlier = ZERO
    if before is not None:
        earlier = (
            all_figures["contributions_earned"]
            - year_figures["contributions_earned"]
            - before.indicators["contributions_earned"]
        )
    if earlier:
        pack.income.append(
            Line("earlier_contributions", _l("Contributions of earlier years earned this year"), earlier)
        )

    by_category = _expenses_by_category(session, scheme.id, date_from, date_to)
    ordered = list(EXPENSE_CATEGORIES) + sorted(set(by_category) - set(EXPENSE_CATEGORIES))
    pack.expenses = [
        Line(f"expenses_{category}", EXPENSE_CATEGORIES.get(category, category), by_category[category])
        for category in ordered
        if by_category.get(category)
    ]

    # -- the pool ---------------------------------------------------------------------------------------------
    pool_lines, pack.pending_settlements = _closed_pool_lines(session, scheme, date_to)
    in_year = [line for line, _ in pool_lines if line.period_to >= date_from]
    contributions = sum((line.pool_contribution for line in in_year), ZERO)
    recoveries = sum((line.excess_of_loss_paid + line.stop_loss_paid for line in in_year), ZERO)
    if in_year:
        pack.pool = [
            Line("pool_contributions", _l("Contributions to the guarantee pool"), -contributions),
            Line("pool_recoveries", _l("Recoveries from the guarantee pool"), recoveries),
        ]
    pool_before = sum((line.net_effect for line, _ in pool_lines if line.period_to < date_from), ZERO)
    pool_settled = sum((line.net_effect for line, closed in pool_lines if closed and closed <= date_to), ZERO)
    pool_open = sum((line.net_effect for line, closed in pool_lines if not closed or closed > date_to), ZERO)

    # -- reserves ---------------------------------------------------------------------------------------------
    start = before.indicators["reserves"] if before is not None else scheme.opening_reserve
    pack.reserves_start = start + pool_before
    pack.reserves_end = all_figures["reserves"] + pool_before + pack.pool_net

    # -- balance sheet at T -----------------------------------------------------------------------------------
    assets: list[Line] = [Line("cash", _l("Cash at bank and in hand"), all_figures["cash"] + pool_settled)]
    liabilities: list[Line] = []
    _side(
        assets,
        liabilities,
        "due_from_funders",
        _l("Subsidies due from funders"),
        all_figures["subsidies_due"] - all_figures["subsidies_received"],
        _l("Subsidies received in advance from funders"),
    )
    _side(assets, liabilities, "due_from_pool", _l("Due from the guarantee pool"), pool_open, _l("Due to the pool"))
    # Receipts and subsidies due since opening that no paid period has earned yet: periods after the year end
    # paid in advance, payments on account of a period not yet fully paid, receipts after a strike-off.
    advance = (
        all_figures["contributions_collected"]
        + all_figures["subsidies_due"]
        - all_figures["contributions_earned"]
        - all_figures["registration_fees"]
    )
    _side(
        liabilities,
        assets,
        "contributions_in_advance",
        _l("Contributions received or due in advance, not yet earned"),
        advance,
        _l("Registration fees and contributions earned, not yet received"),
    )
    liabilities.append(
        Line("claims_outstanding", _l("Claims approved, not yet paid"), year_figures["claims_outstanding"])
    )
    later = all_figures["claims_incurred"] - all_figures["claims_paid"] - year_figures["claims_outstanding"]
    if later:
        liabilities.append(Line("claims_reported_later", _l("Claims of the year reported after its end"), later))
    opening_difference = scheme.opening_cash - scheme.opening_reserve
    _side(
        liabilities,
        assets,
        "opening_difference",
        _l("Other balances at the opening date"),
        opening_difference,
        _l("Other balances at the opening date"),
    )
    pack.assets, pack.liabilities = assets, liabilities
    return pack


# -- the statements as rows (the page, the PDF and the spreadsheet print the same rows) ----------------------


@dataclass(frozen=True)
class Row:
    """One printed row: ``heading`` (a section title, no amount), ``line`` or ``total`` (bold). ``key`` names
    the row the same way in every scheme's pack, so a federation's packs line up side by side."""

    kind: str
    label: object
    amount: Decimal | None = None
    key: str = ""


def income_rows(pack: YearEnd) -> list[Row]:
    """The income statement: income, charges (negative), result before the pool, the pool, result."""
    rows = [Row("heading", _l("Income"), key="income")]
    rows += [Row("line", line.label, line.amount, f"income.{line.key}") for line in pack.income]
    rows.append(Row("total", _l("Total income"), pack.total_income, "total_income"))
    rows.append(Row("heading", _l("Charges"), key="charges"))
    rows.append(Row("line", _l("Claims incurred"), -pack.claims_incurred, "claims_incurred"))
    rows += [Row("line", line.label, -line.amount, f"charges.{line.key}") for line in pack.expenses]
    rows.append(Row("total", _l("Running costs"), -pack.total_expenses, "running_costs"))
    rows.append(Row("total", _l("Result before the pool"), pack.result_before_pool, "result_before_pool"))
    rows += [Row("line", line.label, line.amount, f"pool.{line.key}") for line in pack.pool]
    rows.append(Row("total", _l("Result for the year"), pack.result_after_pool, "result"))
    return rows


def balance_rows(pack: YearEnd) -> list[Row]:
    """The balance sheet at the year end: assets, then liabilities and reserves."""
    rows = [Row("heading", _l("Assets"), key="assets")]
    rows += [Row("line", line.label, line.amount, f"assets.{line.key}") for line in pack.assets]
    rows.append(Row("total", _l("Total assets"), pack.total_assets, "total_assets"))
    rows.append(Row("heading", _l("Liabilities and reserves"), key="liabilities"))
    rows += [Row("line", line.label, line.amount, f"liabilities.{line.key}") for line in pack.liabilities]
    rows.append(Row("line", _l("Reserves at the start of the year"), pack.reserves_start, "reserves_start"))
    rows.append(Row("line", _l("Result for the year"), pack.result_after_pool, "result"))
    rows.append(Row("total", _l("Reserves at the year end"), pack.reserves_end, "reserves_end"))
    rows.append(
        Row(
            "total",
            _l("Total liabilities and reserves"),
            pack.total_liabilities + pack.reserves_end,
            "total_liabilities_and_reserves",
        )
    )
    return rows


def tables(pack: YearEnd) -> list[sheets.Table]:
    """The pack as two sheets: the income statement and the balance sheet (amounts as numbers)."""
    columns = [sheets.Column(_l("Item")), sheets.Column(_l("Amount"), "amount", pack.currency)]
    return [
        sheets.Table(_l("Income statement"), columns, [[str(r.label), r.amount] for r in income_rows(pack)]),
        sheets.Table(_l("Balance sheet"), columns, [[str(r.label), r.amount] for r in balance_rows(pack)]),
    ]
