"""Subsidy receipts: money a funder paid under a programme, recorded and reversed (append-only, like
contribution receipts: a wrong one is cancelled by a counter-entry with its reason). Services flush only."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from mhi.core import validation as v
from mhi.core.audit import record
from mhi.core.errors import N_, UserError
from mhi.core.reversal import reverse_entry
from mhi.core.validation import FieldError
from mhi.schemes.models import Scheme, SubsidyProgramme
from mhi.subsidies.models import SubsidyReceipt


class SubsidyError(UserError):
    """A subsidy receipt or reversal that cannot be accepted; ``field`` names the input."""


def record_subsidy_receipt(
    session,
    scheme: Scheme,
    *,
    programme: SubsidyProgramme,
    reference: str,
    date: date,
    amount: Decimal,
    actor=None,
) -> SubsidyReceipt:
    """Record money received from ``programme``'s funder (reference unique in the scheme)."""
    if programme.scheme_id != scheme.id:
        raise SubsidyError(N_("the programme belongs to another scheme"), "programme")
    try:
        reference = v.ref(reference, "reference")
        day = v.day(date)
        value = v.amount(amount, scheme.currency, positive=True)
    except FieldError as exc:
        raise SubsidyError.of(exc) from exc
    taken = session.scalar(
        select(SubsidyReceipt.id).where(SubsidyReceipt.scheme_id == scheme.id, SubsidyReceipt.reference == reference)
    )
    if taken is not None:
        raise SubsidyError(
            N_("reference %(reference)s is already used in this scheme"), "reference", reference=reference
        )
    receipt = SubsidyReceipt(
        scheme_id=scheme.id,
        programme_id=programme.id,
        reference=reference,
        date=day,
        amount=value,
        created_by_id=getattr(actor, "id", None),
    )
    try:
        with session.begin_nested():
            session.add(receipt)
    except IntegrityError as exc:
        raise SubsidyError(
            N_("reference %(reference)s is already used in this scheme"), "reference", reference=reference
        ) from exc
    record(
        session,
        actor=actor,
        entity="subsidy_receipt",
        entity_id=receipt.id,
        scheme_id=scheme.id,
        action="record",
        after={"reference": reference, "programme": programme.code, "date": day, "amount": value},
    )
    return receipt


def reverse_subsidy_receipt(session, receipt: SubsidyReceipt, *, reason: str, actor=None) -> SubsidyReceipt:
    """Cancel ``receipt`` by a counter-entry (same date, negated amount, ``<reference>-R``); once only."""
    return reverse_entry(
        session,
        receipt,
        number="reference",
        copied=("programme_id",),
        reason=reason,
        actor=actor,
        error=SubsidyError,
        entity="subsidy_receipt",
    )
