"""Contribution receipts. Append-only: a wrong receipt is cancelled by a reversing counter-entry."""

from __future__ import annotations

import datetime as dt
from datetime import datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mhi.core.db import Money, db


class Receipt(db.Model):
    """Money paid by a household. A reversal carries the original's date and the negated amount, so that
    coverage and every report treat the pair as if the wrong receipt had never been paid."""

    __table_args__ = (
        UniqueConstraint("scheme_id", "receipt_no"),
        CheckConstraint("amount <> 0", name="amount_nonzero"),
        CheckConstraint("method IN ('cash','mobile_money','bank')", name="method_known"),
        CheckConstraint("(reversal_of_id IS NULL) = (amount > 0)", name="only_reversals_negative"),
        # The operator's transaction id pays one receipt only (issue 14); a reversal carries neither.
        UniqueConstraint("scheme_id", "operator", "transaction_id"),
        CheckConstraint("transaction_id IS NULL OR operator IS NOT NULL", name="transaction_has_operator"),
        Index("ix_receipt_household_date", "household_id", "date"),
        Index("ix_receipt_scheme_date", "scheme_id", "date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    scheme_id: Mapped[int] = mapped_column(ForeignKey("scheme.id"))
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id"))
    receipt_no: Mapped[str] = mapped_column(String(44))
    date: Mapped[dt.date]
    amount: Mapped[Decimal] = mapped_column(Money())
    method: Mapped[str] = mapped_column(String(20), default="cash")
    collector: Mapped[str] = mapped_column(String(120), default="")
    # How the money came when not in cash: the operator's code (schemes/operators.py) and its transaction id.
    operator: Mapped[str | None] = mapped_column(String(20))
    transaction_id: Mapped[str | None] = mapped_column(String(64))
    reversal_of_id: Mapped[int | None] = mapped_column(ForeignKey("receipt.id"), unique=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())

    household = relationship("Household")
    reversal_of = relationship("Receipt", remote_side=[id], foreign_keys=[reversal_of_id])
