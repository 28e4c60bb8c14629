"""Read side of the account screens: what happened to one's own account."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from mhi.auth.models import User
from mhi.auth.sessions import utc_now
from mhi.core.audit import AuditEvent

#: How far back the account page shows the account's events.
EVENTS_DAYS = 90


def account_events(dbs, user: User, *, limit: int = 30) -> list[AuditEvent]:
    """The audit rows about ``user``'s account in the last ``EVENTS_DAYS`` days, newest first: password changes,
    sessions ended, sign-ins slowed down after failed attempts (issue 18: the holder is told of an attack)."""
    since = utc_now() - timedelta(days=EVENTS_DAYS)
    return list(
        dbs.scalars(
            select(AuditEvent)
            .where(AuditEvent.entity == "user", AuditEvent.entity_id == user.id, AuditEvent.at >= since)
            .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
            .limit(limit)
        )
    )
