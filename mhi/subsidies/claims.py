"""The subsidy claim a scheme sends its funder (issue 14): per programme and period, every household the programme
paid a part for, with what it owes — the programme parts s_kp of the household's due periods starting in the
period and its part r_p of a registration fee falling in it (contributions.md §2), as the rules engine computes
them (``Ledger.amounts(F, T).subsidies_due_by_programme``, the same sums as the indicators' ``subsidies_due``) —
what the funder paid in the period (subsidy receipts, reversals netted) and what is still outstanding.

A draft is computed on each reading; the scheme manager's sign-off stores the figures (``SubsidyClaim`` and its
``SubsidyClaimLine`` rows, audited) and from then on the document is printed from those rows: a later receipt or
register change does not move a claim that was sent. One claim per programme and period; services flush, never
commit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from mhi.contributions.services import N_, iter_ledgers
from mhi.core import clock
from mhi.core.audit import record
from mhi.core.errors import UserError
from mhi.core.tabular import bulk_insert
from mhi.members.models import Household, Person
from mhi.schemes.models import Scheme, SubsidyProgramme
from mhi.subsidies.models import SubsidyClaim, SubsidyClaimLine, SubsidyReceipt


class ClaimError(UserError):
    """A claim that cannot be signed off: an English template marked for translation and its parameters."""


@dataclass(frozen=True)
class ClaimLine:
    """One beneficiary household of the claim."""

    household_ref: str
    head: str
    persons: int
    category: str
    months: int
    amount: Decimal


@dataclass
class ClaimDocument:
    """A programme's claim for [F, T] in one scheme: its lines, what was received, what is outstanding."""

    scheme_code: str
    scheme_name: str
    currency: str
    programme_code: str
    funder: str
    date_from: date
    date_to: date
    lines: list[ClaimLine] = field(default_factory=list)
    received: Decimal = Decimal(0)
    signed_by: str | None = None
    signed_at: datetime | None = None

    @property
    def due(self) -> Decimal:
        """The claim's total: what the programme owes for the period."""
        return sum((line.amount for line in self.lines), Decimal(0))

    @property
    def outstanding(self) -> Decimal:
        """Due less received (negative: the funder paid ahead)."""
        return self.due - self.received


def draft_claim(session, programme: SubsidyProgramme, date_from: date, date_to: date) -> ClaimDocument:
    """The claim of ``programme`` for [F, T] as the register and receipts stand now (nothing written)."""
    scheme = session.get(Scheme, programme.scheme_id)
    code = programme.code
    amounts: dict[int, Decimal] = {}
    months: dict[int, int] = {}
    persons: dict[int, int] = {}
    for hid, ledger in iter_ledgers(session, scheme):
        due = ledger.amounts(date_from, date_to).subsidies_due_by_programme.get(code, Decimal(0))
        if not due:
            continue
        amounts[hid] = due
        paid_periods = [
            p
            for p in ledger.periods_until(date_to)
            if date_from <= p.start <= date_to and any(c == code and part for c, part in p.subsidies)
        ]
        months[hid] = sum(round((p.end - p.start).days / 30.4375) for p in paid_periods)
        persons[hid] = max((p.persons for p in paid_periods), default=0)
    lines = [
        ClaimLine(ref, head or "", persons.get(hid, 0), category or "standard", months.get(hid, 0), amounts[hid])
        for hid, ref, category, head in _households(session, sorted(amounts))
    ]
    document = ClaimDocument(
        scheme.code, scheme.name, scheme.currency, code, programme.funder, date_from, date_to, lines
    )
    document.received = received_between(session, programme, date_from, date_to)
    return document


def _households(session, ids: list[int]) -> list[tuple[int, str, str, str | None]]:
    """(id, ref, category, head's name) of the households, by reference; a fixed number of queries."""
    from mhi.core.tabular import chunked

    rows = []
    for chunk in chunked(ids):
        rows.extend(
            session.execute(
                select(Household.id, Household.ref, Household.category, Person.first_name, Person.last_name)
                .outerjoin(Person, (Person.household_id == Household.id) & (Person.relation == "head"))
                .where(Household.id.in_(chunk))
            ).all()
        )
    return sorted(
        ((hid, ref, category, f"{first} {last}" if first else None) for hid, ref, category, first, last in rows),
        key=lambda row: row[1],
    )


def received_between(session, programme: SubsidyProgramme, date_from: date, date_to: date) -> Decimal:
    """What the funder paid under the programme in [F, T] (reversals netted)."""
    total = session.scalar(
        select(func.sum(SubsidyReceipt.amount)).where(
            SubsidyReceipt.programme_id == programme.id, SubsidyReceipt.date.between(date_from, date_to)
        )
    )
    return total or Decimal(0)


def stored_claim(session, programme: SubsidyProgramme, date_from: date, date_to: date) -> ClaimDocument | None:
    """The signed-off claim of the programme for exactly [F, T], printed from its frozen rows; None if none."""
    claim = session.scalar(
        select(SubsidyClaim).where(
            SubsidyClaim.programme_id == programme.id,
            SubsidyClaim.date_from == date_from,
            SubsidyClaim.date_to == date_to,
        )
    )
    if claim is None:
        return None
    from mhi.auth.models import User

    scheme = session.get(Scheme, programme.scheme_id)
    lines = [
        ClaimLine(row.household_ref, row.head, row.persons, row.category, row.months, row.amount)
        for row in session.scalars(
            select(SubsidyClaimLine)
            .where(SubsidyClaimLine.claim_id == claim.id)
            .order_by(SubsidyClaimLine.household_ref)
        )
    ]
    signer = session.get(User, claim.signed_by_id) if claim.signed_by_id else None
    return ClaimDocument(
        scheme.code, scheme.name, scheme.currency, programme.code, programme.funder, date_from, date_to, lines,
        received=claim.received, signed_by=signer.email if signer else "", signed_at=claim.signed_at,
    )  # fmt: skip


def claim_document(session, programme: SubsidyProgramme, date_from: date, date_to: date) -> ClaimDocument:
    """The signed-off claim when there is one, else the draft."""
    return stored_claim(session, programme, date_from, date_to) or draft_claim(session, programme, date_from, date_to)


def sign_off_claim(session, programme: SubsidyProgramme, date_from: date, date_to: date, *, actor) -> SubsidyClaim:
    """The manager signs the claim off: its figures are stored as they are now and never move again (audited).

    Refused for a period that overlaps a claim already signed off for the programme (the same money would be
    claimed twice) and for an empty claim.
    """
    if date_to < date_from:
        raise ClaimError(N_("The period ends before it starts."))
    overlapping = session.scalar(
        select(SubsidyClaim).where(
            SubsidyClaim.programme_id == programme.id,
            SubsidyClaim.date_from <= date_to,
            SubsidyClaim.date_to >= date_from,
        )
    )
    if overlapping is not None:
        raise ClaimError(
            N_("A claim for %(start)s to %(end)s is already signed off: periods of claims cannot overlap."),
            start=overlapping.date_from.isoformat(),
            end=overlapping.date_to.isoformat(),
        )
    document = draft_claim(session, programme, date_from, date_to)
    if not document.lines:
        raise ClaimError(N_("No household is due a subsidy of this programme in that period."))
    claim = SubsidyClaim(
        scheme_id=programme.scheme_id,
        programme_id=programme.id,
        date_from=date_from,
        date_to=date_to,
        due=document.due,
        received=document.received,
        households=len(document.lines),
        signed_by_id=getattr(actor, "id", None),
        signed_at=clock.stored_now(),
    )
    try:
        with session.begin_nested():
            session.add(claim)
    except IntegrityError as exc:
        raise ClaimError(N_("This claim was signed off meanwhile.")) from exc
    bulk_insert(
        session,
        SubsidyClaimLine.__table__,
        [
            {
                "claim_id": claim.id, "household_ref": line.household_ref, "head": line.head[:201],
                "persons": line.persons, "category": line.category, "months": line.months, "amount": line.amount,
            }
            for line in document.lines
        ],
    )  # fmt: skip
    record(
        session,
        actor=actor,
        entity="subsidy_claim",
        entity_id=claim.id,
        scheme_id=programme.scheme_id,
        action="sign_off",
        after={
            "programme": programme.code,
            "from": date_from,
            "to": date_to,
            "due": document.due,
            "received": document.received,
            "households": len(document.lines),
        },
    )
    return claim
