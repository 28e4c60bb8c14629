"""Account operations of the web screens: sign-in check with its lockout, deactivating and reactivating an
account, the remembered language. Like ``services.py``, they flush and never commit.

Lockout: after ``LOCK_AFTER`` wrong passwords in a row an account refuses every sign-in for ``LOCK_MINUTES``,
with the same answer as a wrong password (nothing tells an attacker the account exists or is locked). The count
lives on the account row, so it holds across any number of workers; the per-address and per-account rate limits
of ``mhi/core/security.py`` come on top.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import cache

from sqlalchemy import select, update
from werkzeug.security import check_password_hash, generate_password_hash

from mhi.auth.models import User
from mhi.core.audit import record


@cache
def _decoy_hash() -> str:
    """A hash to check unknown e-mails against, so they take as long as a wrong password."""
    return generate_password_hash("not a password of anyone")


#: Wrong passwords in a row that lock an account, and for how long.
LOCK_AFTER = 5
LOCK_MINUTES = 15


def utc_now() -> datetime:
    """Now in UTC, without a time zone (as the database columns store it)."""
    return datetime.now(UTC).replace(tzinfo=None)


def authenticate(session, email: str, password: str, *, now: datetime | None = None) -> User | None:
    """The active user with this e-mail and password, else None — whichever part was wrong, and also while the
    account is locked. A wrong password counts towards the lockout; a right one (unlocked) resets the count.
    The caller commits in both cases, so that the count is kept."""
    now = now or utc_now()
    user = session.scalar(select(User).where(User.email == (email or "").strip().lower()))
    if user is None:
        # Same work as for a known account: the answer time must not tell which e-mails exist.
        check_password_hash(_decoy_hash(), password or "")
        return None
    right = user.check_password(password or "")  # checked even when locked: the same time either way
    if user.locked_until is not None and user.locked_until > now:
        return None
    if not right:
        _count_failure(session, user, now)
        return None
    if user.failed_logins or user.locked_until is not None:
        user.failed_logins = 0
        user.locked_until = None
        session.flush()
    return user if user.active else None


def _count_failure(session, user: User, now: datetime) -> None:
    """One more wrong password; the ``LOCK_AFTER``-th in a row locks the account for ``LOCK_MINUTES``.

    The count is raised in the database (``failed_logins + 1``), not in Python, so that two workers answering
    two attempts at the same moment both count.
    """
    count = session.scalar(
        update(User)
        .where(User.id == user.id)
        .values(failed_logins=User.failed_logins + 1)
        .returning(User.failed_logins)
        .execution_options(synchronize_session=False)
    )
    if count >= LOCK_AFTER:
        until = now + timedelta(minutes=LOCK_MINUTES)
        session.execute(
            update(User)
            .where(User.id == user.id)
            .values(failed_logins=0, locked_until=until)
            .execution_options(synchronize_session=False)
        )
        record(
            session,
            actor=None,
            entity="user",
            entity_id=user.id,
            action="lock",
            scheme_id=user.scheme_id,
            after={"failed_logins": count, "locked_until": until.isoformat(timespec="seconds")},
        )
    session.flush()
    session.expire(user, ["failed_logins", "locked_until"])


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
