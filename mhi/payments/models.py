"""Operators' statement lines: each payment an operator says it received, matched to a household (and then a
receipt) or waiting for a clerk.

A line moves once: ``matched`` (a receipt made at import, or already recorded by hand with the same transaction)
and ``assigned`` (a clerk chose the household) carry their receipt; ``unmatched`` and ``ambiguous`` wait; a clerk
may mark a waiting line ``not_ours`` with a note. The unique (scheme, operator, transaction id) makes a statement
imported twice — or by two clerks at once — store each line once.
"""

from __future__ import annotations

import datetime as dt
from datetime import datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column

from mhi.core.db import Money, db

LINE_STATUSES = ("matched", "unmatched", "ambiguous", "assigned", "not_ours")
WAITING = ("unmatched", "ambiguous")


class StatementLine(db.Model):
    """One line of an operator's statement (data-formats.md, statement.csv)."""

    __tablename__ = "statement_line"
    __table_args__ = (
        UniqueConstraint("scheme_id", "operator", "transaction_id"),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("status IN ('matched','unmatched','ambiguous','assigned','not_ours')", name="status_known"),
        CheckConstraint("(receipt_id IS NOT NULL) = (status IN ('matched','assigned'))", name="receipt_when_matched"),
        Index("ix_statement_line_scheme_status", "scheme_id", "status", "date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    scheme_id: Mapped[int] = mapped_column(ForeignKey("scheme.id"))
    operator: Mapped[str] = mapped_column(String(20))
    transaction_id: Mapped[str] = mapped_column(String(64))
    date: Mapped[dt.date]
    amount: Mapped[Decimal] = mapped_column(Money())
    payer_phone: Mapped[str] = mapped_column(String(40), default="")
    reference: Mapped[str] = mapped_column(String(40), default="")
    status: Mapped[str] = mapped_column(String(12))
    candidates: Mapped[int] = mapped_column(default=0)  # households the line could be (2+ when ambiguous)
    household_id: Mapped[int | None] = mapped_column(ForeignKey("household.id"))
    receipt_id: Mapped[int | None] = mapped_column(ForeignKey("receipt.id"), index=True)
    file: Mapped[str] = mapped_column(String(200), default="")
    note: Mapped[str] = mapped_column(Text, default="")
    imported_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    imported_at: Mapped[datetime] = mapped_column(server_default=func.now())
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    decided_at: Mapped[datetime | None]


PAYER_KINDS = ("self_help_group", "cooperative", "gie", "employer", "sponsor_abroad")
SPLITS = ("listed", "even", "owed")


class GroupPayer(db.Model):
    """Someone who pays for several households at once: a self-help group, a cooperative, a GIE, an employer, a
    sponsor abroad. Its member households are ``GroupMember`` rows."""

    __tablename__ = "group_payer"
    __table_args__ = (
        UniqueConstraint("scheme_id", "code"),
        CheckConstraint(
            "kind IN ('self_help_group','cooperative','gie','employer','sponsor_abroad')", name="kind_known"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    scheme_id: Mapped[int] = mapped_column(ForeignKey("scheme.id"))
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    phone: Mapped[str] = mapped_column(String(40), default="")
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class GroupMember(db.Model):
    """A household a group pays for, from ``added_at``; ``active`` False once it left the group (kept, since
    the group's past payments name it)."""

    __tablename__ = "group_member"
    __table_args__ = (UniqueConstraint("payer_id", "household_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    payer_id: Mapped[int] = mapped_column(ForeignKey("group_payer.id"))
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id"), index=True)
    active: Mapped[bool] = mapped_column(default=True)
    added_at: Mapped[datetime] = mapped_column(server_default=func.now())


class GroupPayment(db.Model):
    """One payment by a group, split over its households (``split``: as the treasurer listed it, evenly, or by
    what each owed on the day); each part is a receipt of its household (``GroupPaymentPart``)."""

    __tablename__ = "group_payment"
    __table_args__ = (
        UniqueConstraint("scheme_id", "operator", "transaction_id"),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("split IN ('listed','even','owed')", name="split_known"),
        CheckConstraint("method IN ('cash','mobile_money','bank')", name="method_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    scheme_id: Mapped[int] = mapped_column(ForeignKey("scheme.id"))
    payer_id: Mapped[int] = mapped_column(ForeignKey("group_payer.id"), index=True)
    date: Mapped[dt.date]
    amount: Mapped[Decimal] = mapped_column(Money())
    method: Mapped[str] = mapped_column(String(20))
    operator: Mapped[str | None] = mapped_column(String(20))
    transaction_id: Mapped[str | None] = mapped_column(String(64))
    split: Mapped[str] = mapped_column(String(10))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class GroupPaymentPart(db.Model):
    """One household's part of a group payment and the receipt it made."""

    __tablename__ = "group_payment_part"
    __table_args__ = (
        UniqueConstraint("payment_id", "household_id"),
        CheckConstraint("amount > 0", name="amount_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("group_payment.id"))
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id"))
    amount: Mapped[Decimal] = mapped_column(Money())
    receipt_id: Mapped[int] = mapped_column(ForeignKey("receipt.id"), unique=True)
