"""Statements of accounts with the guarantee pool's money in them (pooling.md; issue "Federation guarantee pool").

The monitoring indicators leave the pool out so that schemes compare before pooling (indicators.md). A scheme's
board and its funders still need the result the scheme actually had: ``scheme_accounts`` puts the pool
contributions it paid and the excess-of-loss and stop-loss money it received next to its own income and
expenditure. ``federation_pool_statement`` is the pool's own account: opening balance, what each scheme paid
in, what each got back, closing balance.

Only **closed** settlements move money: a draft can still change, so it is listed as pending and counted in no
total. A settlement belongs to the statement whose period contains its last day (``period_to``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import select

from mhi.pooling.models import PoolSettlement
from mhi.reports import indicators as ind
from mhi.schemes.models import Federation, Scheme

ZERO = Decimal(0)


@dataclass(frozen=True)
class PoolLine:
    """One settlement's flows for one scheme: paid in, received back, and the difference."""

    settlement_id: int
    period_from: date
    period_to: date
    status: str
    pool_contribution: Decimal
    excess_of_loss_paid: Decimal
    stop_loss_paid: Decimal
    net_effect: Decimal


@dataclass
class SchemeAccounts:
    """A scheme's income and expenditure for [date_from, date_to], before and after the pool."""

    scheme: Scheme
    date_from: date
    date_to: date
    member_contributions_earned: Decimal
    subsidy_contributions_earned: Decimal
    registration_fees: Decimal
    claims_incurred: Decimal
    admin_expenses: Decimal
    pool_lines: list[PoolLine] = field(default_factory=list)
    pending: list[PoolLine] = field(default_factory=list)

    @property
    def income(self) -> Decimal:
        return self.member_contributions_earned + self.subsidy_contributions_earned + self.registration_fees

    @property
    def expenditure(self) -> Decimal:
        return self.claims_incurred + self.admin_expenses

    @property
    def result_before_pool(self) -> Decimal:
        """indicators.md's net_result."""
        return self.income - self.expenditure

    @property
    def pool_contributions(self) -> Decimal:
        return sum((line.pool_contribution for line in self.pool_lines), ZERO)

    @property
    def pool_received(self) -> Decimal:
        return sum((line.excess_of_loss_paid + line.stop_loss_paid for line in self.pool_lines), ZERO)

    @property
    def result_after_pool(self) -> Decimal:
        return self.result_before_pool - self.pool_contributions + self.pool_received


def _settlements(session, federation_id: int, date_from: date, date_to: date) -> list[PoolSettlement]:
    """The federation's settlements whose period ends in [date_from, date_to], oldest first."""
    return list(
        session.scalars(
            select(PoolSettlement)
            .where(
                PoolSettlement.federation_id == federation_id,
                PoolSettlement.period_to >= date_from,
                PoolSettlement.period_to <= date_to,
            )
            .order_by(PoolSettlement.period_to, PoolSettlement.id)
        )
    )


def _line(settlement: PoolSettlement, code: str) -> PoolLine | None:
    """The scheme's line of a stored settlement document (amounts are strings there), or None."""
    values = (settlement.result.get("schemes") or {}).get(code)
    if values is None:
        return None
    return PoolLine(
        settlement_id=settlement.id,
        period_from=settlement.period_from,
        period_to=settlement.period_to,
        status=settlement.status,
        pool_contribution=Decimal(values["pool_contribution"]),
        excess_of_loss_paid=Decimal(values["excess_of_loss_paid"]),
        stop_loss_paid=Decimal(values["stop_loss_paid"]),
        net_effect=Decimal(values["net_effect"]),
    )


def scheme_accounts(session, scheme: Scheme, date_from: date, date_to: date) -> SchemeAccounts:
    """The scheme's statement of accounts for [date_from, date_to] (amounts from indicators.md's definitions)."""
    report = ind.scheme_indicators(session, scheme, date_from, date_to)
    figures = report.indicators
    accounts = SchemeAccounts(
        scheme=scheme,
        date_from=date_from,
        date_to=date_to,
        member_contributions_earned=figures["member_contributions_earned"],
        subsidy_contributions_earned=figures["contributions_earned"] - figures["member_contributions_earned"],
        registration_fees=figures["registration_fees"],
        claims_incurred=figures["claims_incurred"],
        admin_expenses=figures["admin_expenses"],
    )
    if scheme.federation_id is None:
        return accounts
    for settlement in _settlements(session, scheme.federation_id, date_from, date_to):
        line = _line(settlement, scheme.code)
        if line is None:
            continue
        (accounts.pool_lines if settlement.status == "closed" else accounts.pending).append(line)
    return accounts


@dataclass
class PoolStatement:
    """The pool's own account over the closed settlements ending in [date_from, date_to]."""

    federation: Federation
    date_from: date
    date_to: date
    settlements: list[PoolSettlement]
    pending: list[PoolSettlement]
    by_scheme: dict[str, dict[str, Decimal]]

    @property
    def opening_balance(self) -> Decimal | None:
        return self.settlements[0].opening_balance if self.settlements else None

    @property
    def closing_balance(self) -> Decimal | None:
        return self.settlements[-1].closing_balance if self.settlements else None

    @property
    def contributions(self) -> Decimal:
        return sum((row["pool_contribution"] for row in self.by_scheme.values()), ZERO)

    @property
    def paid(self) -> Decimal:
        return sum((row["paid"] for row in self.by_scheme.values()), ZERO)


def federation_pool_statement(session, federation: Federation, date_from: date, date_to: date) -> PoolStatement:
    """What the pool received and paid, scheme by scheme, over the closed settlements ending in the period."""
    settlements = _settlements(session, federation.id, date_from, date_to)
    closed = [s for s in settlements if s.status == "closed"]
    by_scheme: dict[str, dict[str, Decimal]] = {}
    keys = ("pool_contribution", "excess_of_loss_paid", "stop_loss_paid", "paid", "net_effect")
    for settlement in closed:
        for code, values in sorted((settlement.result.get("schemes") or {}).items()):
            row = by_scheme.setdefault(code, dict.fromkeys(keys, ZERO))
            for key in keys:
                row[key] += Decimal(values[key])
    return PoolStatement(
        federation=federation,
        date_from=date_from,
        date_to=date_to,
        settlements=closed,
        pending=[s for s in settlements if s.status != "closed"],
        by_scheme=by_scheme,
    )
