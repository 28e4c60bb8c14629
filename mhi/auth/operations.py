"""Account operations of the web screens: deactivating and reactivating an account, the remembered language.
Like ``services.py``, they flush and never commit. The sign-in check is ``mhi/auth/throttle.py``."""

from __future__ import annotations

from sqlalchemy import select

from mhi.auth.models import User
from mhi.auth.sessions import end_sessions
from mhi.core.audit import record


class DeactivationRefused(ValueError):
    """An account that must stay active: ``reason`` is ``self`` (one's own) or ``last_admin``."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def set_user_active(session, user: User, active: bool, *, actor) -> None:
    """Deactivate or reactivate an account (nothing is deleted: its audit trail keeps pointing at it)."""
    if user.active == active:
        return
    if not active and actor is not None and actor.id == user.id:
        raise DeactivationRefused("self")  # an administrator cannot lock themselves out by mistake
    if not active and user.role == "admin":
        others = session.scalars(
            select(User.id).where(User.role == "admin", User.active.is_(True), User.id != user.id)
        ).first()
        if others is None:
            raise DeactivationRefused("last_admin")
    user.active = active
    session.flush()
    if not active:
        end_sessions(session, user, "deactivated")  # signed out everywhere at their next request
    record(
        session,
        actor=actor,
        entity="user",
        entity_id=user.id,
        action="reactivate" if active else "deactivate",
        scheme_id=user.scheme_id,
    )


def set_user_locale(session, user: User, locale: str) -> None:
    """Remember the language a user chose, for every later visit."""
    user.locale = locale
    session.flush()
