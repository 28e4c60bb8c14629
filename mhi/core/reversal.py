"""Reversing an append-only money record (a household's receipt, a funder's subsidy receipt).

STYLE.md "Money records are append-only": a wrong record is never edited or deleted but cancelled by a
counter-entry — same date, negated amount, number ``<original>-R``, the reason and its author — and at most once
(the unique ``reversal_of_id`` makes that hold under concurrency too). Flushes only; the caller commits.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from mhi.core.audit import record
from mhi.core.errors import N_


def reverse_entry(
    session,
    entry,
    *,
    number: str,
    copied: Sequence[str],
    reason: str,
    actor,
    error: type[Exception],
    entity: str,
    check_number_free: bool = False,
    audit_amount: bool = False,
):
    """Add and audit the counter-entry cancelling ``entry``; raise ``error(message[, field])`` when it cannot be.

    ``number`` names the record's unique number column (``receipt_no``, ``reference``); ``copied`` the columns
    the counter-entry takes over unchanged. ``check_number_free`` refuses up front when ``<number>-R`` is
    already another record's number; ``audit_amount`` puts the counter-entry's amount in the audit row.
    """
    model = type(entry)
    original = getattr(entry, number)
    reason = (reason or "").strip()
    if not reason:
        raise error(N_("a reason is required to reverse a receipt"), "reason")
    if entry.reversal_of_id is not None:
        raise error(N_("%(original)s is itself a reversal and cannot be reversed"), original=original)
    existing = session.scalar(select(getattr(model, number)).where(model.reversal_of_id == entry.id))
    if existing is not None:
        raise error(
            N_("%(original)s has already been reversed (by %(existing)s)"), original=original, existing=existing
        )
    counter_number = f"{original}-R"
    if check_number_free:
        taken = session.scalar(
            select(model.id).where(model.scheme_id == entry.scheme_id, getattr(model, number) == counter_number)
        )
        if taken is not None:
            raise error(
                N_("receipt number %(counter_number)s is already used: the reversal cannot take it"),
                counter_number=counter_number,
            )
    counter = model(
        **{column: getattr(entry, column) for column in copied},
        **{number: counter_number},
        scheme_id=entry.scheme_id,
        date=entry.date,
        amount=-entry.amount,
        reversal_of_id=entry.id,
        reason=reason,
        created_by_id=getattr(actor, "id", None),
    )
    try:
        with session.begin_nested():
            session.add(counter)
    except IntegrityError as exc:
        raise error(N_("%(original)s has already been reversed"), original=original) from exc
    after = {"reversal": counter_number, "amount": counter.amount} if audit_amount else {"reversal": counter_number}
    record(
        session,
        actor=actor,
        entity=entity,
        entity_id=entry.id,
        scheme_id=entry.scheme_id,
        action="reverse",
        before={number: original, "amount": entry.amount},
        after={**after, "reason": reason},
    )
    return counter
