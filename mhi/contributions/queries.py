"""Contributions' read side: the receipts of a scheme over a period (newest first), for the contributions page
and its CSV download; the arrears list (the collector's round) and the household page, which show
``Ledger.arrears`` and ``Ledger.status`` (contributions/rules.py, the one function of each rule)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import func, or_, select

from mhi.contributions.models import Receipt
from mhi.contributions.rules import UNBOUNDED
from mhi.contributions.services import Account, household_account, iter_ledgers
from mhi.core.tabular import write_csv
from mhi.members.models import Household, Person
from mhi.members.products import product_on
from mhi.members.queries import HouseholdLine, category_changes, head_columns, household_line, product_changes
from mhi.schemes.models import Product


@dataclass
class ReceiptRow:
    """A receipt with its household."""

    id: int
    receipt_no: str
    date: date
    amount: Decimal
    method: str
    collector: str
    household_id: int
    household_ref: str
    is_reversal: bool


def receipts_between(
    session, scheme_id: int, date_from: date, date_to: date, *, limit: int | None = 500
) -> list[ReceiptRow]:
    """Receipts dated in [date_from, date_to], newest first (reversals included, as counter-entries)."""
    statement = (
        select(
            Receipt.id,
            Receipt.receipt_no,
            Receipt.date,
            Receipt.amount,
            Receipt.method,
            Receipt.collector,
            Receipt.household_id,
            Household.ref,
            Receipt.reversal_of_id.isnot(None),
        )
        .join(Household, Household.id == Receipt.household_id)
        .where(Receipt.scheme_id == scheme_id, Receipt.date.between(date_from, date_to))
        .order_by(Receipt.date.desc(), Receipt.id.desc())
    )
    if limit is not None:
        statement = statement.limit(limit)
    return [ReceiptRow(*row) for row in session.execute(statement)]


def total_between(session, scheme_id: int, date_from: date, date_to: date) -> tuple[int, Decimal]:
    """How many receipts and how much money (reversals netted) in [date_from, date_to]."""
    count, total = session.execute(
        select(func.count(Receipt.id), func.sum(Receipt.amount)).where(
            Receipt.scheme_id == scheme_id, Receipt.date.between(date_from, date_to)
        )
    ).one()
    return count, total or Decimal(0)


def receipts_csv(rows: list[ReceiptRow]) -> str:
    """The receipts as contributions.csv columns (re-importable), formula-safe."""
    return write_csv(
        ((r.receipt_no, r.household_ref, r.date, r.amount, r.method, r.collector) for r in rows),
        ("receipt_no", "household_ref", "date", "amount", "method", "collector"),
    )


# -- the arrears list and the household page ----------------------------------------------------------------


def households_in_arrears(session, scheme, on: date, *, village: str | None = None) -> list[HouseholdLine]:
    """Households owing money on ``on`` (contributions.md §6 "arrears": enrolled, neither exited nor struck off
    by then, r + member dues started by then − receipts to then > 0), sorted by village then reference — the
    collector's round."""
    alive = [
        Household.scheme_id == scheme.id,
        Household.enrolment_date <= on,
        or_(Household.exit_date.is_(None), Household.exit_date > on),
        or_(Household.strike_off_date.is_(None), Household.strike_off_date > on),
    ]
    if village:
        alive.append(Household.village == village)
    ids = list(session.scalars(select(Household.id).where(*alive)))
    owing: dict[int, tuple[Decimal, date | None]] = {}
    for hid, ledger in iter_ledgers(session, scheme, ids):
        amount = ledger.arrears(on)  # the one "arrears at T" (contributions/rules.py)
        if amount > 0:
            paid_until = ledger.paid_until(on)
            owing[hid] = (amount, None if paid_until is UNBOUNDED else paid_until)
    lines = []
    for batch_start in range(0, len(owing), 5000):
        batch = list(owing)[batch_start : batch_start + 5000]
        for row in session.execute(head_columns().where(Household.id.in_(batch))):
            line = household_line(row)
            line.arrears, line.paid_until = owing[line.household_id]
            lines.append(line)
    lines.sort(key=lambda line: (line.village, line.ref))
    return lines


@dataclass
class HouseholdPage:
    """Everything the household page shows."""

    household: Household
    product: Product
    persons: list[Person]
    account: Account
    previous: Household | None
    reenrolled_as: Household | None
    category: str = "standard"  # on the day shown
    category_changes: list = field(default_factory=list)
    product_changes: list = field(default_factory=list)  # ProductChange rows, oldest first


def household_page(session, household: Household, on: date) -> HouseholdPage:
    """The household, its members (head first), product, account on ``on``, category and re-enrolment links."""
    persons = sorted(household.persons, key=lambda p: (p.relation != "head", p.enrolment_date, p.member_no))
    changes = category_changes(session, household)
    in_force = [change.category for change in changes if change.from_date <= on]
    moves = product_changes(session, household)
    # The product on the day shown (members/products.py, the one "product on D").
    product_id = product_on(household.product_id, [(m.from_date, m.product_id) for m in moves], on)
    return HouseholdPage(
        product_changes=moves,
        category=in_force[-1] if in_force else household.category,
        category_changes=changes,
        household=household,
        product=session.get(Product, product_id),
        persons=persons,
        account=household_account(session, household, on),
        previous=session.get(Household, household.previous_household_id) if household.previous_household_id else None,
        reenrolled_as=session.scalar(select(Household).where(Household.previous_household_id == household.id).limit(1)),
    )
