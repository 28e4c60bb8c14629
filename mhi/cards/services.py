"""Who gets a card, what is printed on it, and the background print job.

Scopes: one household, a village, everyone enrolled since a date, or everyone. A card goes to each person who
has not left (no exit date on or before the print day) of a household that has neither exited nor been struck
off by then (contributions.md §5: a struck-off household comes back under a new reference, with new cards).

A web request for cards becomes a job of the job queue (``mhi.core.jobs``, kind ``cards.print``): a queue worker
draws the PDF and keeps it as the job's file; any web worker shows its progress or hands out the PDF, and a job
whose worker died is run again by another. A finished batch queues a "card ready" SMS to each household printed
(mhi/messaging).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session, undefer

from mhi.core import clock, jobs
from mhi.core.errors import N_, UserError
from mhi.core.formatting import display_locale
from mhi.core.jobs import Job
from mhi.members.models import Household, Person
from mhi.members.queries import product_id_on
from mhi.messaging.services import queue_card_ready_messages
from mhi.schemes.models import Product, Scheme
from mhi.schemes.settings import card_layout

log = logging.getLogger(__name__)

SCOPE_KINDS = ("household", "village", "since", "all")
#: Members listed on one household card; a larger household gets a second card ("2/2").
MEMBERS_PER_HOUSEHOLD_CARD = 8
#: Rows loaded per query while drawing: bounded memory with photos, and no query per person.
CHUNK = 500


class CardScopeError(UserError):
    """A print request that names no valid set of people (unknown household, missing village or date)."""


@dataclass(frozen=True)
class CardScope:
    """Which cards to print."""

    kind: str = "all"
    household_ref: str | None = None
    village: str | None = None
    since: date | None = None

    def as_json(self) -> dict:
        """The scope as stored on the job row."""
        data: dict = {"kind": self.kind}
        if self.household_ref:
            data["household_ref"] = self.household_ref
        if self.village:
            data["village"] = self.village
        if self.since:
            data["since"] = self.since.isoformat()
        return data

    @classmethod
    def from_json(cls, data: dict) -> CardScope:
        """Read back ``as_json``."""
        since = data.get("since")
        return cls(
            kind=data.get("kind", "all"),
            household_ref=data.get("household_ref"),
            village=data.get("village"),
            since=date.fromisoformat(since) if since else None,
        )


@dataclass(frozen=True)
class PersonCard:
    """What one person's card shows."""

    member_no: str
    name: str
    household_ref: str
    date_of_birth: date
    sex: str
    product: str
    member_since: date
    photo: bytes | None = None


@dataclass(frozen=True)
class HouseholdMember:
    """One line of a household card."""

    member_no: str
    name: str
    date_of_birth: date
    sex: str


@dataclass(frozen=True)
class HouseholdCard:
    """What a household card shows; ``part``/``parts`` number the cards of a household too large for one."""

    household_ref: str
    head_name: str
    qr_member_no: str  # the head's number: the eligibility page reads a member number
    product: str
    member_since: date
    members: tuple[HouseholdMember, ...]
    part: int = 1
    parts: int = 1


def make_scope(
    kind: str, *, household_ref: str | None = None, village: str | None = None, since: date | None = None
) -> CardScope:
    """A checked scope: the household needs its reference, the village its name, "since" its date."""
    if kind not in SCOPE_KINDS:
        raise CardScopeError(
            N_("unknown scope %(kind)s (one of %(values)s)"), kind=repr(kind), values=", ".join(SCOPE_KINDS)
        )
    household_ref = (household_ref or "").strip() or None
    village = (village or "").strip() or None
    if kind == "household" and not household_ref:
        raise CardScopeError(N_("a household reference is needed"))
    if kind == "village" and not village:
        raise CardScopeError(N_("a village is needed"))
    if kind == "since" and since is None:
        raise CardScopeError(N_("an enrolment date is needed"))
    return CardScope(
        kind=kind,
        household_ref=household_ref if kind == "household" else None,
        village=village if kind == "village" else None,
        since=since if kind == "since" else None,
    )


def _active(on: date):
    """Persons still in, of households neither exited nor struck off on ``on`` (module docstring)."""
    return and_(
        or_(Person.exit_date.is_(None), Person.exit_date > on),
        or_(Household.exit_date.is_(None), Household.exit_date > on),
        or_(Household.strike_off_date.is_(None), Household.strike_off_date > on),
    )


def _head_first():
    """Order within a household: the head, then the others by member number."""
    return case((Person.relation == "head", 0), else_=1)


def _scope_filter(scope: CardScope):
    """The WHERE clause of a scope over Person joined to Household."""
    if scope.kind == "household":
        return Household.ref == scope.household_ref
    if scope.kind == "village":
        return Household.village == scope.village
    if scope.kind == "since":
        return Person.enrolment_date >= scope.since
    return True


def card_person_ids(session: Session, scheme: Scheme, scope: CardScope, *, on: date) -> list[int]:
    """Ids of the persons who get a card, in printing order (village, household, head first, member number)."""
    query = (
        select(Person.id)
        .join(Household, Person.household_id == Household.id)
        .where(Person.scheme_id == scheme.id, _active(on), _scope_filter(scope))
        .order_by(Household.village, Household.ref, _head_first(), Person.member_no)
    )
    return list(session.scalars(query))


def card_household_ids(session: Session, scheme: Scheme, scope: CardScope, *, on: date) -> list[tuple[int, int]]:
    """(household id, its active persons) of the households that get a card, in printing order.

    A household is in when one of its active persons matches the scope ("since": a newcomer means a new card
    listing everyone).
    """
    matching = (
        select(Person.household_id)
        .join(Household, Person.household_id == Household.id)
        .where(Person.scheme_id == scheme.id, _active(on), _scope_filter(scope))
    )
    query = (
        select(Household.id, func.count(Person.id))
        .join(Person, Person.household_id == Household.id)
        .where(Household.id.in_(matching), _active(on))
        .group_by(Household.id, Household.village, Household.ref)
        .order_by(Household.village, Household.ref)
    )
    return [(household_id, count) for household_id, count in session.execute(query)]


def printed_household_ids(session: Session, scheme: Scheme, scope: CardScope, *, on: date) -> list[int]:
    """The households that get a card of ``scope`` (one of their active persons matches it), whatever the layout:
    each is told once that its cards are ready (``run_card_job``)."""
    return list(
        session.scalars(
            select(Person.household_id)
            .join(Household, Person.household_id == Household.id)
            .where(Person.scheme_id == scheme.id, _active(on), _scope_filter(scope))
            .distinct()
        )
    )


def _chunks(items: Sequence, size: int) -> Iterator[Sequence]:
    """``items`` in slices of ``size``."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def iter_person_cards(session: Session, person_ids: Sequence[int]) -> Iterator[PersonCard]:
    """The cards of ``person_ids`` in that order, loaded ``CHUNK`` at a time with their photos."""
    for chunk in _chunks(person_ids, CHUNK):
        rows = session.execute(
            select(Person, Household.ref, Product.name)
            .join(Household, Person.household_id == Household.id)
            .join(Product, product_id_on(clock.today()) == Product.id)  # the product on the day printed
            .where(Person.id.in_(chunk))
            .options(undefer(Person.photo))
        ).all()
        by_id = {person.id: (person, ref, product) for person, ref, product in rows}
        for person_id in chunk:
            person, ref, product = by_id[person_id]
            yield PersonCard(
                member_no=person.member_no,
                name=person.full_name,
                household_ref=ref,
                date_of_birth=person.date_of_birth,
                sex=person.sex,
                product=product,
                member_since=person.enrolment_date,
                photo=person.photo or None,
            )


def household_card_count(member_count: int) -> int:
    """Cards needed for a household of ``member_count`` active members."""
    return max(1, -(-member_count // MEMBERS_PER_HOUSEHOLD_CARD))


def iter_household_cards(session: Session, household_ids: Sequence[int], *, on: date) -> Iterator[HouseholdCard]:
    """The cards of ``household_ids`` in that order, each listing the household's active members."""
    for chunk in _chunks(household_ids, CHUNK // 4):
        rows = session.execute(
            select(Person, Household, Product.name)
            .join(Household, Person.household_id == Household.id)
            .join(Product, product_id_on(on) == Product.id)  # the product on the day printed
            .where(Household.id.in_(chunk), _active(on))
            .order_by(Person.household_id, _head_first(), Person.member_no)
        ).all()
        grouped: dict[int, list] = {}
        for person, household, product in rows:
            grouped.setdefault(household.id, []).append((person, household, product))
        for household_id in chunk:
            yield from _household_cards(grouped.get(household_id, []))


def _household_cards(rows: list) -> list[HouseholdCard]:
    """One household's cards from its (person, household, product) rows, head first."""
    if not rows:
        return []
    head, household, product = rows[0]
    members = tuple(HouseholdMember(p.member_no, p.full_name, p.date_of_birth, p.sex) for p, _, _ in rows)
    parts = household_card_count(len(members))
    return [
        HouseholdCard(
            household_ref=household.ref,
            head_name=head.full_name,
            qr_member_no=head.member_no,
            product=product,
            member_since=household.enrolment_date,
            members=members[i * MEMBERS_PER_HOUSEHOLD_CARD : (i + 1) * MEMBERS_PER_HOUSEHOLD_CARD],
            part=i + 1,
            parts=parts,
        )
        for i in range(parts)
    ]


def cards_for_scope(session: Session, scheme: Scheme, scope: CardScope, *, on: date) -> tuple[int, Iterator]:
    """(number of cards, the cards in printing order) for ``scope``, in the scheme's card layout."""
    if card_layout(scheme) == "household":
        households = card_household_ids(session, scheme, scope, on=on)
        total = sum(household_card_count(count) for _, count in households)
        return total, iter_household_cards(session, [h for h, _ in households], on=on)
    person_ids = card_person_ids(session, scheme, scope, on=on)
    return len(person_ids), iter_person_cards(session, person_ids)


def print_cards(
    session: Session,
    scheme: Scheme,
    scope: CardScope,
    *,
    on: date,
    language: str,
    gettext: Callable[[str], str],
    progress: Callable[[int, int], None] | None = None,
) -> tuple[int, bytes]:
    """Build the PDF of ``scope``'s cards; returns (cards printed, PDF bytes). Raises CardScopeError when the
    scope holds nobody (an unknown household reference, a village without members)."""
    from mhi.cards.pdf import render_cards  # the drawing code is only loaded where cards are printed

    total, cards = cards_for_scope(session, scheme, scope, on=on)
    if total == 0:
        raise CardScopeError(N_("no card to print: nobody in this selection is a current member"))
    pdf = render_cards(
        cards,
        scheme_name=scheme.name,
        logo=scheme.logo,
        # Labels in ``language`` (``gettext`` translates into it), dates for that language in the scheme's country.
        locale=display_locale(language, scheme.country),
        gettext=gettext,
        progress=(lambda done: progress(done, total)) if progress else None,
    )
    return total, pdf


# -- the background job ------------------------------------------------------------------------------------

#: The job kind of a card batch (``mhi.core.jobs``).
CARD_JOB = "cards.print"
#: The job's error message id when the selection holds nobody by the time it runs.
NOBODY = "cards.nobody"


def create_card_job(session: Session, scheme: Scheme, scope: CardScope, *, actor, on: date) -> Job:
    """Record a print request (flushed, not committed; sent to the job queue on commit) after checking it
    selects somebody. Finished batches and their PDFs are deleted after ``jobs.KEEP_FINISHED``."""
    total, _ = cards_for_scope(session, scheme, scope, on=on)
    if total == 0:
        raise CardScopeError(N_("no card to print: nobody in this selection is a current member"))
    params = {"scope": scope.as_json(), "on": on.isoformat()}
    return jobs.create_job(session, CARD_JOB, scheme=scheme, actor=actor, params=params, total=total)


@jobs.handler(CARD_JOB)
def run_card_job(session: Session, job: jobs.JobInfo, progress: jobs.Progress) -> dict:
    """The job: draw the cards of the request in the scheme's language, keep the PDF as the job's file, and queue
    a "card ready" SMS to each household printed (in its own language; none to one that opted out). The SMS and
    the PDF commit together with the job's "done"."""
    from flask import current_app
    from flask_babel import force_locale
    from flask_babel import gettext as _

    scheme = session.get(Scheme, job.scheme_id)
    config = current_app.config
    language = card_language(scheme, config["LANGUAGES"], config["BABEL_DEFAULT_LOCALE"])
    scope = CardScope.from_json(job.params["scope"])
    on = date.fromisoformat(job.params["on"])
    with force_locale(language):
        try:
            total, pdf = print_cards(
                session,
                scheme,
                scope,
                on=on,
                language=language,
                gettext=_,
                progress=progress,
            )
        except CardScopeError as exc:
            raise jobs.JobFailed(NOBODY) from exc
    jobs.attach_file(session, job, pdf, name=f"cards-{scheme.code}-{job.id}.pdf")
    households = printed_household_ids(session, scheme, scope, on=on)
    sms = queue_card_ready_messages(session, scheme, households, run=job.id, now=clock.stored_now())
    return {"cards": total, "card_ready_sms": sms.queued}


def card_language(scheme: Scheme, languages, default: str) -> str:
    """A batch's language: the scheme's if the application has it, else the default (cards of many households
    are printed together, so not each household's own)."""
    language = (scheme.locale or "").replace("-", "_").split("_")[0].lower()
    return language if language in languages else default
