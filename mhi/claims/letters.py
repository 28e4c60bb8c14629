"""Guarantee letters (prise en charge, adjudication.md "Guarantee letters"): issue, cancel, and the open letters a
claim decision reads.

A letter is issued only when checks 1–4 and 7–11 pass on its valid_from and its amount is at most the annual
ceiling left once the paying claims and the other open letters are counted (``rules.check_letter``). Issuing locks
the person's row first (``services.lock_persons``, the lock every claim decision takes too), so two officers
issuing at once — or a letter and a claim — run one after the other on PostgreSQL and the second sees the first:
approved claims plus open letters never pass ceiling_per_year. Letters are never deleted: used and cancelled are
states, expired is read from valid_to. Services flush, never commit.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update

from mhi.claims.messages import N_
from mhi.claims.models import GuaranteeLetter
from mhi.claims.rules import LetterAnswer, LetterRule, check_letter
from mhi.claims.services import history_for, load_context, lock_persons
from mhi.core import validation as v
from mhi.core.audit import record
from mhi.core.errors import UserError
from mhi.core.numbering import allocate_number
from mhi.core.validation import FieldError
from mhi.members.models import Person
from mhi.schemes.models import Scheme


class LetterError(UserError):
    """A letter that cannot be issued or cancelled: ``message`` is an English template (the gettext msgid) with
    ``params``; ``field`` the input it concerns; ``answer`` the checks when a rule refused it."""

    def __init__(self, message: str, field: str | None = None, answer: LetterAnswer | None = None, **params: Any):
        super().__init__(message, field, **params)
        self.answer = answer


@dataclass
class LetterRequest:
    """What an officer types to issue a letter."""

    member_no: str
    benefit_code: str
    provider_code: str
    valid_from: Any
    valid_to: Any
    amount: Any
    note: str = ""


def add_open_letters(session, scheme, history, member_nos: Iterable[str], years: Iterable[int], on: date) -> None:
    """Put the issued letters of these persons and years into ``history``: a claim may cite them, and those not
    past valid_to on ``on`` (the day of the decision) reserve their amount (adjudication.md). One query."""
    wanted, wanted_years = set(member_nos), set(years)
    if not wanted or not wanted_years:
        return
    rows = session.execute(
        select(
            GuaranteeLetter.number,
            GuaranteeLetter.member_no,
            GuaranteeLetter.benefit_code,
            GuaranteeLetter.provider_code,
            GuaranteeLetter.valid_from,
            GuaranteeLetter.valid_to,
            GuaranteeLetter.amount,
        ).where(
            GuaranteeLetter.scheme_id == scheme.id,
            GuaranteeLetter.status == "issued",
            GuaranteeLetter.valid_from >= date(min(wanted_years), 1, 1),
            GuaranteeLetter.valid_from <= date(max(wanted_years), 12, 31),
        )
    )
    for row in rows:
        if row.member_no in wanted and row.valid_from.year in wanted_years:
            history.add_letter(LetterRule(*row), reserves=row.valid_to >= on)


def close_used_letters(session, scheme, used: dict[str, int]) -> None:
    """Mark the letters used by paying claims ({letter number: claim id}): they reserve nothing more."""
    for number, claim_id in used.items():
        session.execute(
            update(GuaranteeLetter)
            .where(
                GuaranteeLetter.scheme_id == scheme.id,
                GuaranteeLetter.number == number,
                GuaranteeLetter.status == "issued",
            )
            .values(status="used", used_by_claim_id=claim_id)
            .execution_options(synchronize_session=False)
        )


def next_letter_number(session, scheme_id: int, year: int) -> str:
    """``PEC-2026-000123``: the next letter number of the year in the scheme, from the one numbering mechanism
    (core/numbering.py: a counter row locked in the transaction, so two officers never get the same number)."""
    return allocate_number(
        session,
        scheme_id=scheme_id,
        kind="letter",
        scope=str(year),
        render=lambda n: f"PEC-{year}-{n:06d}",
        unique=(GuaranteeLetter.number, GuaranteeLetter.scheme_id == scheme_id),
    )


def _typed(scheme, request: LetterRequest) -> tuple[date, date, Decimal]:
    """The request's dates and amount, or LetterError naming the field."""
    try:
        valid_from = v.day(request.valid_from)
    except FieldError as exc:
        raise LetterError(N_("Valid from: %(problem)s"), "valid_from", problem=exc) from exc
    try:
        valid_to = v.day(request.valid_to)
    except FieldError as exc:
        raise LetterError(N_("Valid to: %(problem)s"), "valid_to", problem=exc) from exc
    if valid_to < valid_from:
        raise LetterError(N_("The letter must end on or after the day it starts."), "valid_to")
    try:
        amount = v.amount(request.amount, scheme.currency, positive=True)
    except FieldError as exc:
        raise LetterError(N_("Amount: %(problem)s"), "amount", problem=exc) from exc
    return valid_from, valid_to, amount


def issue_letter(session, scheme, request: LetterRequest, *, actor, today: date) -> GuaranteeLetter:
    """Issue a guarantee letter, or raise LetterError (with the refusal code and checks when a rule refuses)."""
    valid_from, valid_to, amount = _typed(scheme, request)
    member_no = (request.member_no or "").strip()
    provider_code = (request.provider_code or "").strip()
    benefit_code = (request.benefit_code or "").strip()
    # The lock every claim decision of this person takes: letters and claims of one person run one at a time.
    lock_persons(session, scheme, [member_no])
    context = load_context(session, scheme, [member_no], [provider_code])
    history = history_for(session, scheme, [member_no], {valid_from.year})
    add_open_letters(session, scheme, history, [member_no], {valid_from.year}, today)
    rule = LetterRule("", member_no, benefit_code, provider_code, valid_from, valid_to, amount)
    answer = check_letter(rule, context, history, scheme.currency)
    if answer.refusal is not None:
        raise LetterError(N_("The letter cannot be issued: %(code)s."), None, answer, code=answer.refusal)
    letter = GuaranteeLetter(
        scheme_id=scheme.id,
        number=next_letter_number(session, scheme.id, today.year),
        person_id=context.person_ids[member_no],
        member_no=member_no,
        benefit_code=benefit_code,
        provider_id=context.provider_ids[provider_code],
        provider_code=provider_code,
        valid_from=valid_from,
        valid_to=valid_to,
        amount=amount,
        issued_on=today,
        note=(request.note or "").strip()[:500],
        status="issued",
        created_by_id=getattr(actor, "id", None),
    )
    session.add(letter)
    session.flush()
    record(
        session,
        actor=actor,
        entity="guarantee_letter",
        entity_id=letter.id,
        scheme_id=scheme.id,
        action="issue",
        after={
            "number": letter.number,
            "member_no": member_no,
            "benefit_code": benefit_code,
            "provider_code": provider_code,
            "valid_from": valid_from,
            "valid_to": valid_to,
            "amount": amount,
        },
    )
    return letter


def cancel_letter(session, letter: GuaranteeLetter, *, reason: str, actor) -> GuaranteeLetter:
    """Cancel an issued letter with a written reason: it reserves nothing more and no claim may use it."""
    reason = (reason or "").strip()
    if not reason:
        raise LetterError(N_("Give the reason for cancelling the letter."), "reason")
    if letter.status != "issued":
        raise LetterError(
            N_("Letter %(number)s is already %(status)s."), None, number=letter.number, status=letter.status
        )
    lock_persons(session, session.get(Scheme, letter.scheme_id), [letter.member_no])
    letter.status = "cancelled"
    letter.cancelled_reason = reason[:500]
    letter.cancelled_by_id = getattr(actor, "id", None)
    session.flush()
    record(
        session,
        actor=actor,
        entity="guarantee_letter",
        entity_id=letter.id,
        scheme_id=letter.scheme_id,
        action="cancel",
        before={"status": "issued"},
        after={"status": "cancelled", "reason": letter.cancelled_reason},
    )
    return letter


def letters_of(session, scheme, *, member_no: str | None = None) -> list[GuaranteeLetter]:
    """The scheme's letters, newest first (one person's when ``member_no`` is given)."""
    query = select(GuaranteeLetter).where(GuaranteeLetter.scheme_id == scheme.id)
    if member_no:
        query = query.where(GuaranteeLetter.member_no == member_no)
    return list(session.scalars(query.order_by(GuaranteeLetter.id.desc()).limit(500)))


def letter_person(session, letter: GuaranteeLetter) -> Person:
    """The person the letter is for."""
    return session.get(Person, letter.person_id)
