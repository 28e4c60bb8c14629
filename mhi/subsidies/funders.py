"""The funder's side (issue 14): a ``funder`` account follows subsidy programmes, possibly of several schemes
(the State's "indigents" programme in every mutuelle of a union). It sees those programmes' signed-off claims and
their due / received / outstanding over time, nothing else: no scheme page, no household's file, no claim
(``mhi/core/access.py``: the role holds only "account" and "funder.read"). Services flush, never commit.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select

from mhi.auth.models import User
from mhi.contributions.services import N_
from mhi.core.audit import record
from mhi.schemes.models import Scheme, SubsidyProgramme
from mhi.subsidies.claims import ClaimDocument, ClaimError, stored_claim
from mhi.subsidies.models import FunderProgramme, SubsidyClaim
from mhi.subsidies.queries import ProgrammeStatement, programme_statement


def _must_be_funder(user) -> None:
    """Only a funder's account follows programmes (an officer's access comes from its scheme)."""
    if user.role != "funder":
        raise ClaimError(N_("Only a funder's account follows programmes."))


def find_account(session, email: str):
    """The account of ``email`` (as the sign-in reads it: trimmed, lower case), or None."""
    return session.scalar(select(User).where(User.email == (email or "").strip().lower()))


def find_programme(session, scheme_code: str, programme_code: str) -> SubsidyProgramme | None:
    """The programme ``programme_code`` of the scheme ``scheme_code``, or None."""
    return session.scalar(
        select(SubsidyProgramme)
        .join(Scheme, Scheme.id == SubsidyProgramme.scheme_id)
        .where(Scheme.code == scheme_code, SubsidyProgramme.code == programme_code)
    )


def all_programmes(session) -> list[tuple[SubsidyProgramme, Scheme]]:
    """Every subsidy programme of every scheme, with its scheme (what an administrator binds a funder to), by
    programme code then scheme code."""
    rows = session.execute(
        select(SubsidyProgramme, Scheme)
        .join(Scheme, Scheme.id == SubsidyProgramme.scheme_id)
        .order_by(SubsidyProgramme.code, Scheme.code)
    ).all()
    return [(programme, scheme) for programme, scheme in rows]


def bind_programme(session, user, programme: SubsidyProgramme, *, actor=None) -> bool:
    """Let the funder ``user`` follow ``programme`` (audited); False (nothing written) when it already does."""
    _must_be_funder(user)
    exists = session.scalar(
        select(FunderProgramme.id).where(
            FunderProgramme.user_id == user.id, FunderProgramme.programme_id == programme.id
        )
    )
    if exists is not None:
        return False
    session.add(FunderProgramme(user_id=user.id, programme_id=programme.id))
    session.flush()
    record(
        session,
        actor=actor,
        entity="user",
        entity_id=user.id,
        scheme_id=programme.scheme_id,
        action="follow_programme",
        after={"programme": programme.code},
    )
    return True


def unbind_programme(session, user, programme: SubsidyProgramme, *, actor=None) -> bool:
    """The funder ``user`` stops following ``programme`` (audited: the binding row goes, the audit row keeps who
    followed what and when); False (nothing written) when it did not follow it."""
    _must_be_funder(user)
    binding = session.scalar(
        select(FunderProgramme).where(FunderProgramme.user_id == user.id, FunderProgramme.programme_id == programme.id)
    )
    if binding is None:
        return False
    session.delete(binding)
    session.flush()
    record(
        session,
        actor=actor,
        entity="user",
        entity_id=user.id,
        scheme_id=programme.scheme_id,
        action="unfollow_programme",
        before={"programme": programme.code},
    )
    return True


def funder_programmes(session, user) -> list[tuple[SubsidyProgramme, Scheme]]:
    """The programmes the funder follows, with their scheme, by programme code then scheme code."""
    rows = session.execute(
        select(SubsidyProgramme, Scheme)
        .join(FunderProgramme, FunderProgramme.programme_id == SubsidyProgramme.id)
        .join(Scheme, Scheme.id == SubsidyProgramme.scheme_id)
        .where(FunderProgramme.user_id == user.id)
        .order_by(SubsidyProgramme.code, Scheme.code)
    ).all()
    return [(programme, scheme) for programme, scheme in rows]


@dataclass(frozen=True)
class SentClaim:
    """A claim sent to the funder: one programme code and period, over the schemes that signed it off."""

    programme_code: str
    date_from: date
    date_to: date
    schemes: tuple[str, ...]


def sent_claims(session, user) -> list[SentClaim]:
    """The signed-off claims of the funder's programmes, newest period first, grouped by code and period."""
    rows = session.execute(
        select(SubsidyProgramme.code, SubsidyClaim.date_from, SubsidyClaim.date_to, Scheme.code)
        .join(SubsidyProgramme, SubsidyProgramme.id == SubsidyClaim.programme_id)
        .join(FunderProgramme, FunderProgramme.programme_id == SubsidyProgramme.id)
        .join(Scheme, Scheme.id == SubsidyClaim.scheme_id)
        .where(FunderProgramme.user_id == user.id)
        .order_by(SubsidyClaim.date_from.desc(), SubsidyProgramme.code, Scheme.code)
    ).all()
    grouped: dict[tuple, list[str]] = defaultdict(list)
    for code, start, end, scheme in rows:
        grouped[(code, start, end)].append(scheme)
    return [SentClaim(code, start, end, tuple(schemes)) for (code, start, end), schemes in grouped.items()]


def funder_documents(session, user, programme_code: str, date_from: date, date_to: date) -> list[ClaimDocument]:
    """The signed-off claims of ``programme_code`` for [F, T] in the funder's schemes (empty: nothing sent)."""
    documents = []
    for programme, _scheme in funder_programmes(session, user):
        if programme.code == programme_code:
            document = stored_claim(session, programme, date_from, date_to)
            if document is not None:
                documents.append(document)
    return documents


def funder_over_time(
    session, user, date_from: date, date_to: date, period: str = "quarter"
) -> list[tuple[Scheme, ProgrammeStatement]]:
    """Due, received and outstanding per period for each programme the funder follows (subsidies/queries.py)."""
    result = []
    for programme, scheme in funder_programmes(session, user):
        for statement in programme_statement(session, scheme, date_from, date_to, period=period):
            if statement.code == programme.code:
                result.append((scheme, statement))
    return result
