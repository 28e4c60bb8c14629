"""Reading the audit trail: the auditor's list for a period (filtered, paged, exported as CSV) and one
record's history for its page. Read side only: rows are written by ``mhi.core.audit.record``.

Scope (core/access.py): an administrator reads every row; a scheme user reads the rows of their own scheme,
never those of another scheme nor the rows that belong to no scheme (accounts, federations).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Select, func, or_, select

from mhi.auth.models import User
from mhi.core.audit import AuditEvent
from mhi.schemes.access import visible_scheme_ids
from mhi.schemes.models import Scheme

#: Rows on one page of the list.
PAGE_SIZE = 100


@dataclass(frozen=True)
class TrailFilter:
    """What the auditor asked for: a period (both days included), and optionally a scheme, a kind of record,
    an action and who acted (part of an e-mail)."""

    date_from: date
    date_to: date
    scheme_id: int | None = None
    entity: str | None = None
    action: str | None = None
    actor: str | None = None


@dataclass(frozen=True)
class TrailRow:
    """One audit row as shown or exported: who (e-mail, or None for the system), when, what, before/after."""

    id: int
    at: datetime
    actor: str | None
    scheme: str | None
    entity: str
    entity_id: int | None
    action: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


@dataclass(frozen=True)
class TrailPage:
    """A page of the list and whether more follow."""

    rows: list[TrailRow]
    page: int
    total: int

    @property
    def has_next(self) -> bool:
        """More rows after this page."""
        return self.page * PAGE_SIZE < self.total


def _select_rows() -> Select:
    """Audit rows with the actor's e-mail and the scheme's code (outer joins: both may be absent)."""
    return (
        select(
            AuditEvent.id,
            AuditEvent.at,
            User.email,
            Scheme.code,
            AuditEvent.entity,
            AuditEvent.entity_id,
            AuditEvent.action,
            AuditEvent.before,
            AuditEvent.after,
        )
        .outerjoin(User, User.id == AuditEvent.actor_id)
        .outerjoin(Scheme, Scheme.id == AuditEvent.scheme_id)
    )


def _where(statement: Select, user, wanted: TrailFilter) -> Select:
    """The user's scope and the filter's conditions."""
    ids = visible_scheme_ids(user)
    if ids is not None:
        statement = statement.where(AuditEvent.scheme_id.in_(ids))
    start = datetime.combine(wanted.date_from, time.min)
    end = datetime.combine(wanted.date_to + timedelta(days=1), time.min)
    statement = statement.where(AuditEvent.at >= start, AuditEvent.at < end)
    if wanted.scheme_id is not None:
        statement = statement.where(AuditEvent.scheme_id == wanted.scheme_id)
    if wanted.entity:
        statement = statement.where(AuditEvent.entity == wanted.entity)
    if wanted.action:
        statement = statement.where(AuditEvent.action == wanted.action)
    if wanted.actor:
        needle = wanted.actor.strip().lower()
        if needle in ("system", "système"):
            statement = statement.where(AuditEvent.actor_id.is_(None))
        else:
            statement = statement.where(func.lower(User.email).contains(needle, autoescape=True))
    return statement


def _row(values) -> TrailRow:
    """A result row as a TrailRow."""
    return TrailRow(*values)


def trail_page(session, user, wanted: TrailFilter, page: int = 1) -> TrailPage:
    """One page of the trail, newest first."""
    page = max(1, page)
    total = session.scalar(select(func.count()).select_from(_where(_select_rows(), user, wanted).subquery()))
    statement = (
        _where(_select_rows(), user, wanted)
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        .limit(PAGE_SIZE)
        .offset((page - 1) * PAGE_SIZE)
    )
    return TrailPage([_row(values) for values in session.execute(statement)], page, total or 0)


def trail_rows(session, user, wanted: TrailFilter):
    """Every row of the trail for the filter, oldest first (the CSV export), read in batches."""
    statement = _where(_select_rows(), user, wanted).order_by(AuditEvent.at, AuditEvent.id)
    for values in session.execute(statement.execution_options(yield_per=2000)):
        yield _row(values)


def known_values(session, user) -> tuple[list[str], list[str]]:
    """The kinds of record and the actions present in the user's part of the trail (the filter's choices)."""
    ids = visible_scheme_ids(user)
    entities = select(AuditEvent.entity).distinct().order_by(AuditEvent.entity)
    actions = select(AuditEvent.action).distinct().order_by(AuditEvent.action)
    if ids is not None:
        entities = entities.where(AuditEvent.scheme_id.in_(ids))
        actions = actions.where(AuditEvent.scheme_id.in_(ids))
    return list(session.scalars(entities)), list(session.scalars(actions))


def history(session, entity: str, entity_id: int) -> list[TrailRow]:
    """Everything the trail says about one record, oldest first.

    A household's history also holds the events of its members and of its receipts: on the household page a
    manager reads the whole story of the family (enrolment, a newborn added, an exit, a payment reversed).
    """
    conditions = [(AuditEvent.entity == entity) & (AuditEvent.entity_id == entity_id)]
    if entity == "household":
        from mhi.contributions.models import Receipt
        from mhi.members.models import Person

        persons = select(Person.id).where(Person.household_id == entity_id).scalar_subquery()
        receipts = select(Receipt.id).where(Receipt.household_id == entity_id).scalar_subquery()
        conditions.append((AuditEvent.entity == "person") & AuditEvent.entity_id.in_(persons))
        conditions.append((AuditEvent.entity == "receipt") & AuditEvent.entity_id.in_(receipts))
    statement = _select_rows().where(or_(*conditions)).order_by(AuditEvent.at, AuditEvent.id)
    return [_row(values) for values in session.execute(statement)]


def changes(row: TrailRow) -> list[tuple[str, Any, Any]]:
    """(field, before, after) for every field the row mentions, in a stable order."""
    before, after = row.before or {}, row.after or {}
    keys = list(before) + [k for k in after if k not in before]
    return [(key, before.get(key), after.get(key)) for key in keys]
