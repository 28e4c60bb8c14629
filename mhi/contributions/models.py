"""Contribution receipts, and the stored ledgers derived from them.

Receipts are append-only: a wrong receipt is cancelled by a reversing counter-entry.

The stored ledgers (``ReportHousehold``, ``ReportPeriod``) are the SQL cache of each household's ``Ledger``
(contributions/rules.py): its due periods once — start, end, gross due, member due, the cumulative member dues
and the first day they were paid — so that reports sum the §6 amounts in SQL. They are written by the writes
that change their inputs (``contributions.services.refresh_households``: receipts, reversals, register edits,
imports, rule changes), in the same transaction, never by a report. Nothing here is a record: deleting both
tables loses no information (``flask report refresh-ledgers`` builds them again).
"""

from __future__ import annotations

import datetime as dt
from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    String,
    Text,
    UniqueConstraint,
    func,
)
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


class ReportHousehold(db.Model):
    """One household's stored ledger: registration fee split, the fingerprint of its inputs, the horizon."""

    __tablename__ = "report_household"
    __table_args__ = (
        Index("ix_report_household_scheme_horizon", "scheme_id", "horizon"),
        # The household, in its scheme: one check a row instead of two (issue 17), as for a person.
        ForeignKeyConstraint(
            ["household_id", "scheme_id"], ["household.id", "household.scheme_id"], ondelete="CASCADE"
        ),
    )

    household_id: Mapped[int] = mapped_column(primary_key=True)
    scheme_id: Mapped[int] = mapped_column()
    enrolment: Mapped[dt.date]
    registration_fee: Mapped[Decimal] = mapped_column(Money())  # R
    registration_member: Mapped[Decimal] = mapped_column(Money())  # r, the member part (contributions.md §2)
    exit_date: Mapped[dt.date | None]  # as the engine derived them (contributions.md §5, data-formats.md)
    strike_off_date: Mapped[dt.date | None]
    fingerprint: Mapped[str] = mapped_column(String(400))
    horizon: Mapped[dt.date]  # periods starting on or before this day are stored
    # This household's part of ``ReportDueTotal`` as ``store_ledgers`` added it (contributions/stored.py
    # ``encode_due_parts``), subtracted when the ledger is rewritten; NULL: not in the totals (a row written before
    # the totals existed), which ``flask report refresh-ledgers`` repairs.
    due_totals: Mapped[str | None] = mapped_column(Text)


class ReportDueTotal(db.Model):
    """Per-scheme totals of the stored ledgers' member dues, by month, so that a month-aligned report's dues of the
    period paid and arrears (contributions.md §6) are sums over a few thousand rows (docs/scale.md).

    Months are ``year · 12 + month − 1``. A row (start, paid, left) holds: ``due``, the member dues (r and each
    d_k) of the items starting in month ``start`` (on the rows with ``paid`` = ``start``); ``paid``, what the
    receipts dated in month ``paid`` paid of them (dues are paid in order: r, d_0, d_1, …); ``short``, the rise in
    max(0, −C) that month (a C below zero owes more than the dues). ``left`` is the month the household exited or was struck off
    (``NEVER`` if neither). The row (−1, −1, −1) counts the households whose part is in the totals (``due``).
    Amounts are stored thousandths. Written only by ``store_ledgers`` with grouped upserts."""

    __tablename__ = "report_due_total"

    scheme_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    start_month: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    paid_month: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    left_month: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    due: Mapped[int] = mapped_column(BigInteger, default=0)
    paid: Mapped[int] = mapped_column(BigInteger, default=0)
    short: Mapped[int] = mapped_column(BigInteger, default=0)


class ReportPeriod(db.Model):
    """One due period k of a household (contributions.md §1–§3) with what the §6 sums need."""

    __tablename__ = "report_period"
    __table_args__ = (
        Index("ix_report_period_scheme_start", "scheme_id", "start"),
        Index("ix_report_period_household", "household_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # No foreign keys: rows are written only by ``store_ledgers``, for households the same transaction has just
    # read and locked, with their scheme's id; PostgreSQL checks a foreign key row by row, about 60 % of the
    # time spent copying a year of receipts' periods (issue 17, docs/scale.md). ``report_household``
    # keeps its foreign key.
    scheme_id: Mapped[int]
    household_id: Mapped[int]
    start: Mapped[dt.date]
    end: Mapped[dt.date]
    days: Mapped[int]  # end − start
    gross: Mapped[Decimal] = mapped_column(Money())  # g_k
    member_due: Mapped[Decimal] = mapped_column(Money())  # d_k
    cumulative: Mapped[Decimal] = mapped_column(Money())  # r + d_0 + … + d_k
    paid_on: Mapped[dt.date | None]  # first day C(D) ≥ cumulative (receipts before strike-off); None if never


class CoverageSpan(db.Model):
    """A half-open range [start, end) on which a household is covered (contributions.md §4); end NULL = open."""

    __tablename__ = "coverage_span"
    __table_args__ = (
        Index("ix_coverage_span_scheme_start", "scheme_id", "start"),
        # The household, in its scheme: one check a row instead of two (issue 17), as for a person.
        ForeignKeyConstraint(["household_id", "scheme_id"], ["household.id", "household.scheme_id"]),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    scheme_id: Mapped[int] = mapped_column()
    household_id: Mapped[int] = mapped_column(index=True)
    start: Mapped[dt.date]
    end: Mapped[dt.date | None]
