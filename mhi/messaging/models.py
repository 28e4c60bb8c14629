"""The SMS outbox: every message to a household, queued, sent by the background sender, kept with its status.

A message is ``queued`` until a gateway accepts it (``sent``), or until its attempts run out (``failed``); each
failed attempt pushes ``next_attempt_at`` back (services.BACKOFF). ``dedupe_key`` makes queuing idempotent: one
receipt confirmation per receipt, one reminder per strike-off date, one message per decided claim, one "card
ready" per household and print run.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column

from mhi.core.db import db

KINDS = ("receipt", "arrears", "claim_decided", "card_ready")
STATUSES = ("queued", "sent", "failed")


class OutboxMessage(db.Model):
    """One SMS to one phone, in the household's language."""

    __tablename__ = "outbox_message"
    __table_args__ = (
        UniqueConstraint("scheme_id", "dedupe_key"),
        CheckConstraint("status IN ('queued','sent','failed')", name="status_known"),
        CheckConstraint("kind IN ('receipt','arrears','claim_decided','card_ready')", name="kind_known"),
        Index("ix_outbox_message_status_next", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    scheme_id: Mapped[int] = mapped_column(ForeignKey("scheme.id"))
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    dedupe_key: Mapped[str] = mapped_column(String(80))
    phone: Mapped[str] = mapped_column(String(20))  # E.164
    language: Mapped[str] = mapped_column(String(10))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default="queued")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime]
    last_error: Mapped[str] = mapped_column(Text, default="")
    gateway_id: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    sent_at: Mapped[datetime | None]


class SmsPreference(db.Model):
    """A household's choices: no SMS at all (``opted_out``), or messages about claims too (``claims_consent``:
    a claim's outcome is health information, sent only when the member agreed)."""

    __tablename__ = "sms_preference"

    household_id: Mapped[int] = mapped_column(ForeignKey("household.id"), primary_key=True)
    opted_out: Mapped[bool] = mapped_column(default=False)
    claims_consent: Mapped[bool] = mapped_column(default=False)
    changed_at: Mapped[datetime] = mapped_column(server_default=func.now())
