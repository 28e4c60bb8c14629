"""Recording meetings and resolutions, and the rules that read them.

- **Quorum**: reached when the attendance is at least the scheme's quorum share (``governance.quorum_share``
  in the scheme's settings, default one half) of the members entitled to attend.
- **Adopted**: a resolution is adopted when the votes for outnumber the votes against (a simple majority of the
  votes cast; abstentions are not votes cast) at a meeting that reached its quorum. No more votes than attendees.
- **Supporting a decision**: a product version (or a change of contributions) is activated on a resolution
  that was adopted at a meeting with quorum held on or before the activation day (``resolution_problems``).

Services flush, never commit; each recording is audited. Errors carry a message id and parameters, translated
where they are shown.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import select

from mhi.core.audit import record
from mhi.core.errors import N_, UserError
from mhi.governance.models import MEETING_KINDS, Meeting, Resolution
from mhi.schemes import versions

DEFAULT_QUORUM_SHARE = Decimal("0.5")


class GovernanceError(UserError):
    """A meeting that cannot be recorded, or a resolution that cannot support a decision (a message id marked
    ``N_`` and its parameters, translated where it is shown)."""

    def __init__(self, message: str, **params) -> None:
        super().__init__(message, None, **params)


@dataclass(frozen=True)
class Vote:
    """One resolution as typed: its text and the votes."""

    text: str
    votes_for: int
    votes_against: int
    votes_abstain: int


def quorum_share(scheme) -> Decimal:
    """The share of the members entitled who must attend (scheme setting, default one half)."""
    value = ((scheme.settings or {}).get("governance") or {}).get("quorum_share")
    return Decimal(value) if value is not None else DEFAULT_QUORUM_SHARE


def quorum_reached(attendance: int, entitled: int, share: Decimal) -> bool:
    """True when ``attendance`` is at least ``share`` of ``entitled`` (exact: no rounding of half a person)."""
    return Decimal(attendance) >= share * entitled


def record_meeting(
    session,
    scheme,
    *,
    kind: str,
    held_on: date,
    members_entitled: int,
    attendance: int,
    votes: list[Vote],
    place: str = "",
    notes: str = "",
    today: date,
    actor,
) -> Meeting:
    """Record a meeting and its resolutions; quorum and adoption are decided here and kept."""
    if kind not in MEETING_KINDS:
        raise GovernanceError(N_("Choose a general assembly or a board meeting."))
    if held_on > today:
        raise GovernanceError(N_("A meeting is recorded once it has been held: its date cannot be after today."))
    if members_entitled <= 0:
        raise GovernanceError(N_("At least one member must be entitled to attend."))
    if attendance < 0 or attendance > members_entitled:
        raise GovernanceError(
            N_("The attendance must be between 0 and the %(num)s members entitled."), num=members_entitled
        )
    share = quorum_share(scheme)
    reached = quorum_reached(attendance, members_entitled, share)
    meeting = Meeting(
        scheme_id=scheme.id,
        kind=kind,
        held_on=held_on,
        place=place,
        members_entitled=members_entitled,
        attendance=attendance,
        quorum_share=share,
        quorum_reached=reached,
        notes=notes,
        created_by_id=getattr(actor, "id", None),
    )
    for position, vote in enumerate(votes, start=1):
        cast = vote.votes_for + vote.votes_against + vote.votes_abstain
        if min(vote.votes_for, vote.votes_against, vote.votes_abstain) < 0:
            raise GovernanceError(N_("Resolution %(num)s: votes cannot be negative."), num=position)
        if cast > attendance:
            raise GovernanceError(
                N_("Resolution %(num)s: %(votes)s votes for %(attendance)s members present."),
                num=position,
                votes=cast,
                attendance=attendance,
            )
        if not vote.text.strip():
            raise GovernanceError(N_("Resolution %(num)s has no text."), num=position)
        meeting.resolutions.append(
            Resolution(
                position=position,
                text=vote.text.strip(),
                votes_for=vote.votes_for,
                votes_against=vote.votes_against,
                votes_abstain=vote.votes_abstain,
                adopted=reached and vote.votes_for > vote.votes_against,
            )
        )
    session.add(meeting)
    session.flush()
    record(
        session,
        actor=actor,
        entity="meeting",
        entity_id=meeting.id,
        scheme_id=scheme.id,
        action="record_meeting",
        after={
            "kind": kind,
            "held_on": held_on,
            "members_entitled": members_entitled,
            "attendance": attendance,
            "quorum_reached": reached,
            "resolutions": " | ".join(
                f"{r.position}: {r.votes_for}/{r.votes_against}/{r.votes_abstain} "
                f"{'adopted' if r.adopted else 'not adopted'}"
                for r in meeting.resolutions
            ),
        },
    )
    return meeting


def meetings_of(session, scheme_id: int) -> list[Meeting]:
    """The scheme's meetings, the latest first."""
    query = select(Meeting).where(Meeting.scheme_id == scheme_id).order_by(Meeting.held_on.desc(), Meeting.id.desc())
    return list(session.scalars(query))


def supporting_resolutions(session, scheme_id: int, day: date) -> list[Resolution]:
    """The resolutions that can support a decision on ``day``: adopted, at a meeting of the scheme with quorum
    held on or before that day; the latest first."""
    query = (
        select(Resolution)
        .join(Meeting, Resolution.meeting_id == Meeting.id)
        .where(
            Meeting.scheme_id == scheme_id,
            Meeting.quorum_reached.is_(True),
            Meeting.held_on <= day,
            Resolution.adopted.is_(True),
        )
        .order_by(Meeting.held_on.desc(), Meeting.id.desc(), Resolution.position)
    )
    return list(session.scalars(query))


def resolution_problem(resolution: Resolution | None, scheme_id: int, day: date):
    """Why ``resolution`` cannot support a decision of the scheme on ``day`` (a GovernanceError), or None."""
    if resolution is None:
        return GovernanceError(
            N_("choose the resolution of the general assembly or the board that adopted this version")
        )
    meeting = resolution.meeting
    if meeting.scheme_id != scheme_id:
        return GovernanceError(N_("choose a resolution of this scheme"))
    if not meeting.quorum_reached:
        return GovernanceError(
            N_("the meeting of %(day)s did not reach its quorum: its resolutions decide nothing"),
            day=meeting.held_on.isoformat(),
        )
    if not resolution.adopted:
        return GovernanceError(N_("this resolution was not adopted"))
    if meeting.held_on > day:
        return GovernanceError(N_("the meeting of %(day)s is after the activation"), day=meeting.held_on.isoformat())
    return None


def last_assembly_decisions(session, scheme_id: int, day: date) -> tuple[Meeting, list[Resolution]] | None:
    """The last general assembly of the scheme with quorum held on or before ``day`` and its adopted
    resolutions, or None when there is none."""
    query = (
        select(Meeting)
        .where(
            Meeting.scheme_id == scheme_id,
            Meeting.kind == "general_assembly",
            Meeting.quorum_reached.is_(True),
            Meeting.held_on <= day,
        )
        .order_by(Meeting.held_on.desc(), Meeting.id.desc())
        .limit(1)
    )
    meeting = session.scalar(query)
    if meeting is None:
        return None
    return meeting, [r for r in meeting.resolutions if r.adopted]


# The version activation (schemes) applies this rule through its hook: schemes comes before governance.
versions.on_resolution_check(resolution_problem)
