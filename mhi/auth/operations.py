"""Account operations of the web screens: sign-in check, deactivating and reactivating an account, the
remembered language. Like ``services.py``, they flush and never commit."""

from __future__ import annotations

from functools import cache

from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from mhi.auth.models import User
from mhi.core.audit import record


@cache
def _decoy_hash() -> str:
    """A hash to check unknown e-mails against, so they take as long as a wrong password."""
    return generate_password_hash("not a password of anyone")


def authenticate(session, email: str, password: str) -> User | None:
    """The active user with this e-mail and password, else None — whichever part was wrong."""
    user = session.scalar(select(User).where(User.email == (email or "").strip().lower()))
    if user is None:
        # Same work as for a known account: the answer time must not tell which e-mails exist.
        check_password_hash(_decoy_hash(), password or "")
        return None
    if not user.check_password(password or "") or not user.active:
        return None
    return user


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
