"""Contributions' read side: the receipts of a scheme over a period (newest first), for the contributions page
and its CSV download."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select

from mhi.contributions.models import Receipt
from mhi.core.tabular import write_csv
from mhi.members.models import Household


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
