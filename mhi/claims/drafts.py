"""Draft claims (issue 13): a claim typed in the form is kept as a draft — corrected, discarded, or submitted for
the automatic decision.

A draft has no decision and lives in its own table (``ClaimDraft``), so no indicator, batch, export or annual
ceiling can count it. Submitting builds the same ``ClaimEntry`` a claim sent at once would give and decides it
through ``services.submit_claim`` — the API's path — so a submitted draft is decided exactly like a direct
submission; its claim_ref is given then, unless the clerk typed the bill's number (docs/decisions.md).
A service benefit needs its provider before it can be submitted; a draft may wait for it. Every step is audited
(``claim_draft``: save_draft, edit_draft, discard, submit); discarded drafts stay. Services flush, never commit.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import selectinload

from mhi.claims.messages import N_
from mhi.claims.models import Claim, ClaimAttachment, ClaimDraft, ClaimDraftLine
from mhi.claims.rules import SERVICE
from mhi.claims.services import ClaimEntry, scheme_benefit_kinds, submit_claim
from mhi.core import clock
from mhi.core.audit import record
from mhi.core.money import ZERO


class DraftError(ValueError):
    """A draft action refused: ``message`` is an English template (the gettext msgid) with ``params``, ``field``
    the form field it concerns (None: the whole form)."""

    def __init__(self, message: str, field: str | None = None, **params: Any):
        super().__init__(message % params if params else message)
        self.message, self.field, self.params = message, field, params


def _snapshot(draft: ClaimDraft) -> dict[str, Any]:
    """What the audit keeps of a draft: its fields and its bill."""
    return {
        "claim_ref": draft.claim_ref,
        "member_no": draft.member_no,
        "benefit_code": draft.benefit_code,
        "provider_code": draft.provider_code,
        "date_of_service": draft.date_of_service,
        "discharge_date": draft.discharge_date,
        "date_submitted": draft.date_submitted,
        "diagnosis_code": draft.diagnosis_code,
        "guarantee_ref": draft.guarantee_ref,
        "lines": "; ".join(f"{line.label}: {line.amount}" for line in draft.lines),
    }


def _check_entry(session, scheme, entry: ClaimEntry, draft: ClaimDraft | None) -> None:
    """A hospital stay ends on or after its admission; a typed claim_ref is not a claim's nor another draft's."""
    if entry.discharge_date is not None and entry.discharge_date < entry.date_of_service:
        raise DraftError(N_("The discharge day is before the admission day (the date of service)."), "discharge_date")
    if entry.claim_ref:
        if session.scalar(select(Claim.id).where(Claim.scheme_id == scheme.id, Claim.claim_ref == entry.claim_ref)):
            raise DraftError(
                N_("Claim %(ref)s already exists: a decided claim is never entered twice."), "claim_ref",
                ref=entry.claim_ref,
            )  # fmt: skip
        other = session.scalar(
            select(ClaimDraft.id).where(
                ClaimDraft.scheme_id == scheme.id,
                ClaimDraft.state == "draft",
                ClaimDraft.claim_ref == entry.claim_ref,
                ClaimDraft.id != (draft.id if draft is not None else -1),
            )
        )
        if other:
            raise DraftError(
                N_("Draft %(n)s already carries the reference %(ref)s."), "claim_ref", n=other, ref=entry.claim_ref
            )


def _hold(session, draft: ClaimDraft, *, closing: dict[str, Any] | None = None) -> None:
    """Take the draft for this transaction: a conditional UPDATE of a row still ``draft`` (PostgreSQL waits on its
    row lock, then finds it submitted or discarded by the other request; SQLite has one writer). ``closing``
    sets the new state at once. Refuses a draft no longer open."""
    values = closing or {"state": "draft"}
    done = session.execute(
        update(ClaimDraft)
        .where(ClaimDraft.id == draft.id, ClaimDraft.state == "draft")
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    session.refresh(draft)
    if done.rowcount != 1:
        if draft.state == "submitted":
            raise DraftError(N_("This draft was already submitted."))
        raise DraftError(N_("This draft was discarded: it can no longer change."))


def _fill(draft: ClaimDraft, entry: ClaimEntry) -> None:
    """Copy an entry's fields and bill lines into the draft (its lines replaced as a whole)."""
    draft.claim_ref = entry.claim_ref or ""
    draft.member_no = entry.member_no
    draft.benefit_code = entry.benefit_code
    draft.provider_code = entry.provider_code or ""
    draft.date_of_service = entry.date_of_service
    draft.discharge_date = entry.discharge_date
    draft.date_submitted = entry.date_submitted
    draft.diagnosis_code = entry.diagnosis_code or ""
    draft.guarantee_ref = entry.guarantee_ref or ""
    draft.lines = [
        ClaimDraftLine(position=i, label=label, amount=amount) for i, (label, amount) in enumerate(entry.lines)
    ]


def save_draft(session, scheme, entry: ClaimEntry, *, actor, draft: ClaimDraft | None = None) -> ClaimDraft:
    """Keep a typed claim as a new draft, or correct ``draft`` with it. ``entry`` comes from
    ``imports.read_entry`` (so a bill line of 0 or less was already refused); the provider may still be blank."""
    if draft is not None:
        _hold(session, draft)
    _check_entry(session, scheme, entry, draft)
    if draft is None:
        draft = ClaimDraft(scheme_id=scheme.id, state="draft", created_by_id=getattr(actor, "id", None))
        _fill(draft, entry)
        session.add(draft)
        session.flush()
        record(
            session, actor=actor, entity="claim_draft", entity_id=draft.id, scheme_id=scheme.id,
            action="save_draft", after=_snapshot(draft),
        )  # fmt: skip
        return draft
    before = _snapshot(draft)
    _fill(draft, entry)
    session.flush()
    after = _snapshot(draft)
    changed = {k for k in after if after[k] != before[k]}
    record(
        session, actor=actor, entity="claim_draft", entity_id=draft.id, scheme_id=scheme.id, action="edit_draft",
        before={k: before[k] for k in sorted(changed)}, after={k: after[k] for k in sorted(changed)},
    )  # fmt: skip
    return draft


def discard_draft(session, draft: ClaimDraft, *, actor) -> None:
    """Discard a draft: it stays (state ``discarded``, who and when), and never becomes a claim."""
    _hold(session, draft, closing=_closing("discarded", actor))
    record(
        session, actor=actor, entity="claim_draft", entity_id=draft.id, scheme_id=draft.scheme_id, action="discard",
        before={"state": "draft"}, after={"state": "discarded"},
    )  # fmt: skip


def _closing(state: str, actor) -> dict[str, Any]:
    """The columns a draft takes when it is submitted or discarded."""
    return {
        "state": state,
        "closed_by_id": getattr(actor, "id", None),
        "closed_at": clock.stored_now(),
    }


def draft_entry(draft: ClaimDraft) -> ClaimEntry:
    """The claim a draft holds, as a form or the API would send it: the bill's lines summed into amount_claimed."""
    return ClaimEntry(
        claim_ref=draft.claim_ref,
        member_no=draft.member_no,
        provider_code=draft.provider_code or None,
        benefit_code=draft.benefit_code,
        date_of_service=draft.date_of_service,
        date_submitted=draft.date_submitted,
        amount_claimed=sum((line.amount for line in draft.lines), ZERO),
        diagnosis_code=draft.diagnosis_code,
        guarantee_ref=draft.guarantee_ref,
        lines=tuple((line.label, line.amount) for line in draft.lines),
        discharge_date=draft.discharge_date,
    )


def submit_draft(session, scheme, draft: ClaimDraft, *, actor, today: date) -> Claim:
    """Submit a draft for the automatic decision, as recorded ``today``: decided by ``submit_claim`` exactly as a
    claim sent at once (numbered then when no reference was typed). A service benefit without a provider is
    refused and nothing changes."""
    _hold(session, draft, closing=_closing("submitted", actor))
    if not draft.provider_code and scheme_benefit_kinds(session, scheme).get(draft.benefit_code) == SERVICE:
        raise DraftError(
            N_("Benefit %(benefit)s pays for care: give the provider before submitting the claim."), "provider_code",
            benefit=draft.benefit_code,
        )  # fmt: skip
    claim = submit_claim(session, scheme, draft_entry(draft), source="form", actor=actor, recorded_on=today)
    draft.claim_id = claim.id
    # The papers attached to the draft are the claim's from now on.
    session.execute(update(ClaimAttachment).where(ClaimAttachment.draft_id == draft.id).values(claim_id=claim.id))
    session.flush()
    record(
        session, actor=actor, entity="claim_draft", entity_id=draft.id, scheme_id=scheme.id, action="submit",
        before={"state": "draft"},
        after={"state": "submitted", "claim_ref": claim.claim_ref, "status": claim.status,
               "amount_approved": claim.amount_approved},
    )  # fmt: skip
    return claim


def drafts_of(session, scheme, state: str = "draft"):
    """The scheme's drafts in one state, newest first (a select, for ``core.paging.paginate``)."""
    return (
        select(ClaimDraft)
        .where(ClaimDraft.scheme_id == scheme.id, ClaimDraft.state == state)
        .options(selectinload(ClaimDraft.lines), selectinload(ClaimDraft.claim))
        .order_by(ClaimDraft.created_at.desc(), ClaimDraft.id.desc())
    )


def open_drafts(session, scheme) -> int:
    """How many drafts wait to be submitted or discarded."""
    return (
        session.scalar(select(func.count()).where(ClaimDraft.scheme_id == scheme.id, ClaimDraft.state == "draft")) or 0
    )
