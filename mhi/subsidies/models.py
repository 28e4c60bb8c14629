"""Money received from subsidy funders (subsidy_receipts.csv). Append-only, reversed by counter-entries."""

from __future__ import annotations

import datetime as dt
from datetime import datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mhi.core.db import Money, db


class SubsidyReceipt(db.Model):
    """A payment from a funder under one programme."""

    __tablename__ = "subsidy_receipt"
    __table_args__ = (
        UniqueConstraint("scheme_id", "reference"),
        CheckConstraint("amount <> 0", name="amount_nonzero"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    scheme_id: Mapped[int] = mapped_column(ForeignKey("scheme.id"), index=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("subsidy_programme.id"), index=True)
    reference: Mapped[str] = mapped_column(String(44))
    date: Mapped[dt.date]
    amount: Mapped[Decimal] = mapped_column(Money())
    reversal_of_id: Mapped[int | None] = mapped_column(ForeignKey("subsidy_receipt.id"), unique=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())

    programme = relationship("SubsidyProgramme")
