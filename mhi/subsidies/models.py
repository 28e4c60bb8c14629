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


class SubsidyClaim(db.Model):
    """A programme's claim for [date_from, date_to], signed off by the scheme manager: its figures frozen here and
    in its lines (subsidies/claims.py)."""

    __tablename__ = "subsidy_claim"
    __table_args__ = (
        UniqueConstraint("programme_id", "date_from", "date_to"),
        CheckConstraint("date_to >= date_from", name="period_ordered"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    scheme_id: Mapped[int] = mapped_column(ForeignKey("scheme.id"), index=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("subsidy_programme.id"))
    date_from: Mapped[dt.date]
    date_to: Mapped[dt.date]
    due: Mapped[Decimal] = mapped_column(Money())
    received: Mapped[Decimal] = mapped_column(Money())
    households: Mapped[int]
    signed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    signed_at: Mapped[datetime]


class SubsidyClaimLine(db.Model):
    """One beneficiary household of a signed-off claim, as it stood at the sign-off."""

    __tablename__ = "subsidy_claim_line"
    __table_args__ = (UniqueConstraint("claim_id", "household_ref"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("subsidy_claim.id"))
    household_ref: Mapped[str] = mapped_column(String(40))
    head: Mapped[str] = mapped_column(String(201), default="")
    persons: Mapped[int]
    category: Mapped[str] = mapped_column(String(40))
    months: Mapped[int]
    amount: Mapped[Decimal] = mapped_column(Money())


class FunderProgramme(db.Model):
    """A programme a funder's account follows (a funder may follow programmes of several schemes)."""

    __tablename__ = "funder_programme"
    __table_args__ = (UniqueConstraint("user_id", "programme_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    programme_id: Mapped[int] = mapped_column(ForeignKey("subsidy_programme.id"), index=True)
