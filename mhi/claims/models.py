"""Claims, their decisions (automatic and overrides, all kept), bill lines, and provider payment batches.

The claim row carries its current decision (status, amount_approved, reasons) so that queues, reports and the
annual-ceiling checks are plain SQL; ``ClaimDecision`` keeps every decision ever made, newest last.
"""

from __future__ import annotations

import datetime as dt
from datetime import datetime
from decimal import Decimal

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, func, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mhi.core.db import Money, db

STATUSES = ("APPROVED", "REDUCED", "REJECTED")


class PaymentBatch(db.Model):
    """Approved unpaid claims of one provider gathered for one payment; marking it paid sets each paid_on."""

    __tablename__ = "payment_batch"
    __table_args__ = (
        UniqueConstraint("scheme_id", "number"),
        CheckConstraint("status IN ('open','paid')", name="status_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    scheme_id: Mapped[int] = mapped_column(ForeignKey("scheme.id"), index=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("provider.id"), index=True)
    number: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(10), default="open")
    paid_on: Mapped[dt.date | None]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())

    provider = relationship("Provider")
    claims = relationship("Claim", back_populates="batch", order_by="Claim.claim_ref")


class Claim(db.Model):
    """A claim as received (raw codes kept even when unknown: an unknown member is a decision, not an error)."""

    __table_args__ = (
        UniqueConstraint("scheme_id", "claim_ref"),
        CheckConstraint("status IN ('APPROVED','REDUCED','REJECTED')", name="status_known"),
        CheckConstraint("amount_claimed >= 0", name="claimed_not_negative"),
        CheckConstraint("amount_approved >= 0", name="approved_not_negative"),
        CheckConstraint("discharge_date IS NULL OR discharge_date >= date_of_service", name="stay_ordered"),
        Index("ix_claim_person_benefit_dos", "person_id", "benefit_code", "date_of_service"),
        Index("ix_claim_scheme_dos", "scheme_id", "date_of_service"),
        Index("ix_claim_scheme_submitted", "scheme_id", "date_submitted"),
        Index("ix_claim_scheme_paid", "scheme_id", "paid_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    scheme_id: Mapped[int] = mapped_column(ForeignKey("scheme.id"))
    claim_ref: Mapped[str] = mapped_column(String(40))
    member_no: Mapped[str] = mapped_column(String(40))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    provider_code: Mapped[str] = mapped_column(String(40), default="")
    provider_id: Mapped[int | None] = mapped_column(ForeignKey("provider.id"), index=True)
    benefit_code: Mapped[str] = mapped_column(String(40))
    date_of_service: Mapped[dt.date]  # for a hospital stay, the admission day
    # A hospital stay's last day (typed in the form; claims.csv has no such column): never before admission.
    discharge_date: Mapped[dt.date | None]
    date_submitted: Mapped[dt.date]
    recorded_on: Mapped[dt.date]
    amount_claimed: Mapped[Decimal] = mapped_column(Money())
    diagnosis_code: Mapped[str] = mapped_column(String(10), default="")
    # The guarantee letter the claim cites (data-formats.md claims.csv, adjudication.md "Guarantee letters").
    guarantee_ref: Mapped[str] = mapped_column(String(40), default="")
    source: Mapped[str] = mapped_column(String(10), default="form")  # form, api, import
    # The decision in force (the latest ClaimDecision).
    status: Mapped[str] = mapped_column(String(10))
    amount_approved: Mapped[Decimal] = mapped_column(Money(), default=Decimal(0))
    reasons: Mapped[str] = mapped_column(String(200), default="")  # ;-joined, as claims export prints them
    overridden: Mapped[bool] = mapped_column(default=False)
    # An override above the scheme's four-eyes amount waits for a second officer: no batch pays it until then.
    awaiting_approval: Mapped[bool] = mapped_column(default=False)
    paid_on: Mapped[dt.date | None]
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("payment_batch.id"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())

    person = relationship("Person")
    provider = relationship("Provider")
    batch = relationship("PaymentBatch", back_populates="claims")
    lines = relationship("ClaimLine", back_populates="claim", order_by="ClaimLine.position")
    decisions = relationship("ClaimDecision", back_populates="claim", order_by="ClaimDecision.seq")


DRAFT_STATES = ("draft", "submitted", "discarded")


class ClaimDraft(db.Model):
    """A claim typed in the form and not yet submitted: it can be corrected or discarded, and has no decision.

    Drafts live in their own table, never in ``claim``: whatever reads claims (indicators, batches, the export,
    the annual ceilings, the API) cannot see one. Submitting decides it through ``services.submit_claim``, exactly
    as a claim sent at once, and links the claim it became (``claim_id``); its claim_ref is given then, unless
    the clerk typed the bill's number (docs/decisions.md). A discarded draft stays, with who discarded it.
    """

    __tablename__ = "claim_draft"
    __table_args__ = (
        CheckConstraint("state IN ('draft','submitted','discarded')", name="state_known"),
        CheckConstraint("discharge_date IS NULL OR discharge_date >= date_of_service", name="stay_ordered"),
        Index("ix_claim_draft_scheme_state", "scheme_id", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    scheme_id: Mapped[int] = mapped_column(ForeignKey("scheme.id"))
    state: Mapped[str] = mapped_column(String(10), default="draft")
    claim_ref: Mapped[str] = mapped_column(String(40), default="")  # the bill's number if typed, else given later
    member_no: Mapped[str] = mapped_column(String(40))
    benefit_code: Mapped[str] = mapped_column(String(40))
    provider_code: Mapped[str] = mapped_column(String(40), default="")  # may wait: required only to submit

    @property
    def provider_id(self) -> int | None:
        """The id of the draft's provider (by its code in the scheme), or None: a facility desk sees only the
        drafts of its own provider (``schemes.access.in_scope_or_404``)."""
        from mhi.core.db import db
        from mhi.schemes.models import Provider

        if not self.provider_code:
            return None
        return db.session.scalar(
            select(Provider.id).where(Provider.scheme_id == self.scheme_id, Provider.code == self.provider_code)
        )

    date_of_service: Mapped[dt.date]
    discharge_date: Mapped[dt.date | None]
    date_submitted: Mapped[dt.date]
    diagnosis_code: Mapped[str] = mapped_column(String(10), default="")
    guarantee_ref: Mapped[str] = mapped_column(String(40), default="")
    claim_id: Mapped[int | None] = mapped_column(ForeignKey("claim.id"), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))  # submitted or discarded by
    closed_at: Mapped[datetime | None]

    claim = relationship("Claim")
    created_by = relationship("User", foreign_keys=[created_by_id])
    closed_by = relationship("User", foreign_keys=[closed_by_id])
    lines = relationship(
        "ClaimDraftLine", back_populates="draft", order_by="ClaimDraftLine.position", cascade="all, delete-orphan"
    )

    @property
    def amount_claimed(self) -> Decimal:
        """The bill: the sum of its lines (0 for a cash benefit without a bill)."""
        return sum((line.amount for line in self.lines), Decimal(0))


class ClaimDraftLine(db.Model):
    """One line of a draft's bill; replaced as a whole when the draft is corrected (the audit keeps the old)."""

    __tablename__ = "claim_draft_line"
    __table_args__ = (CheckConstraint("amount > 0", name="amount_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    draft_id: Mapped[int] = mapped_column(ForeignKey("claim_draft.id"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    label: Mapped[str] = mapped_column(String(120))
    amount: Mapped[Decimal] = mapped_column(Money())

    draft = relationship("ClaimDraft", back_populates="lines")


class ClaimLine(db.Model):
    """One line of a bill (consultation, drugs, lab); the lines sum to the claim's amount_claimed."""

    __tablename__ = "claim_line"
    __table_args__ = (CheckConstraint("amount > 0", name="amount_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claim.id"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    label: Mapped[str] = mapped_column(String(120))
    amount: Mapped[Decimal] = mapped_column(Money())

    claim = relationship("Claim", back_populates="lines")


class ClaimDecision(db.Model):
    """A decision on a claim: the automatic one (with every check) or a claims officer's override (with a
    written reason). Never updated or deleted; a later one supersedes."""

    __tablename__ = "claim_decision"
    __table_args__ = (
        UniqueConstraint("claim_id", "seq"),
        CheckConstraint("kind IN ('automatic','override')", name="kind_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claim.id"))
    seq: Mapped[int]
    kind: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(10))
    amount_approved: Mapped[Decimal] = mapped_column(Money())
    reasons: Mapped[str] = mapped_column(String(200), default="")
    checks: Mapped[list] = mapped_column(JSON, default=list)
    note: Mapped[str] = mapped_column(Text, default="")
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    # Four eyes: an override above the scheme's amount is approved by a second officer, with their reason.
    approval_required: Mapped[bool] = mapped_column(default=False)
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    approval_note: Mapped[str] = mapped_column(Text, default="")
    approved_at: Mapped[datetime | None]

    claim = relationship("Claim", back_populates="decisions")
    actor = relationship("User", foreign_keys=[actor_id])
    approved_by = relationship("User", foreign_keys=[approved_by_id])


class GuaranteeLetter(db.Model):
    """A guarantee letter (prise en charge, adjudication.md): the scheme promises a provider to pay up to ``amount``
    for one person's care under one benefit between ``valid_from`` and ``valid_to`` (inclusive). While ``issued``
    and not past valid_to it reserves its amount against the annual ceiling; a claim citing it ``uses`` it, or it
    is ``cancelled`` with a reason. Expiry is read from the dates (nothing to run at midnight)."""

    __tablename__ = "guarantee_letter"
    __table_args__ = (
        UniqueConstraint("scheme_id", "number"),
        CheckConstraint("status IN ('issued','used','cancelled')", name="status_known"),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("valid_to >= valid_from", name="validity_ordered"),
        Index("ix_guarantee_letter_person_benefit", "person_id", "benefit_code", "valid_from"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    scheme_id: Mapped[int] = mapped_column(ForeignKey("scheme.id"), index=True)
    number: Mapped[str] = mapped_column(String(40))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    member_no: Mapped[str] = mapped_column(String(40))
    benefit_code: Mapped[str] = mapped_column(String(20))
    provider_id: Mapped[int] = mapped_column(ForeignKey("provider.id"))
    provider_code: Mapped[str] = mapped_column(String(20))
    valid_from: Mapped[dt.date]
    valid_to: Mapped[dt.date]
    amount: Mapped[Decimal] = mapped_column(Money())
    issued_on: Mapped[dt.date]
    note: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(10), default="issued")
    used_by_claim_id: Mapped[int | None] = mapped_column(ForeignKey("claim.id"))
    cancelled_reason: Mapped[str] = mapped_column(Text, default="")
    cancelled_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())

    person = relationship("Person")
    provider = relationship("Provider")
    used_by = relationship("Claim", foreign_keys=[used_by_claim_id])

    def state_on(self, day: dt.date) -> str:
        """issued, used, cancelled, or expired (issued but past valid_to on ``day``)."""
        if self.status == "issued" and day > self.valid_to:
            return "expired"
        return self.status


class ClaimAttachment(db.Model):
    """A scanned bill, referral letter or other paper of a claim (issue 13). Its bytes are a ``stored_file``
    (outside the web root, kept: no expiry) under a generated name; ``display_name`` is the name the sender gave,
    cleaned, shown as text and never used for a path or a download header. ``content_type`` is what the bytes
    are (read from them, not from the name). Never updated or deleted: the claim's evidence."""

    __tablename__ = "claim_attachment"
    __table_args__ = (
        CheckConstraint("kind IN ('bill','referral','other')", name="kind_known"),
        CheckConstraint("content_type IN ('application/pdf','image/jpeg','image/png')", name="content_type_known"),
        CheckConstraint("size > 0", name="size_positive"),
        CheckConstraint("claim_id IS NOT NULL OR draft_id IS NOT NULL", name="of_claim_or_draft"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # A paper attached to a draft gets the claim's id when the draft is submitted (claims/drafts.submit_draft).
    claim_id: Mapped[int | None] = mapped_column(ForeignKey("claim.id"), index=True)
    draft_id: Mapped[int | None] = mapped_column(ForeignKey("claim_draft.id"), index=True)
    scheme_id: Mapped[int] = mapped_column(ForeignKey("scheme.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    file_id: Mapped[int] = mapped_column(ForeignKey("stored_file.id"), unique=True)
    content_type: Mapped[str] = mapped_column(String(40))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    display_name: Mapped[str] = mapped_column(String(120), default="")
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())

    claim = relationship("Claim")
    file = relationship("StoredFile")
    uploaded_by = relationship("User")

    @property
    def provider_id(self) -> int | None:
        """The claim's provider: a facility account sees the attachments of its own claims only."""
        return self.claim.provider_id
