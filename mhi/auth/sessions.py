"""Server-side sessions (issue 18): a signed-in browser is a ``UserSession`` row, checked on every request.

The signed session cookie still carries who is signed in (Flask-Login's ``_user_id``) and the idle clock of
``mhi/core/security.py``; it also carries a random key (``SESSION_KEY``) whose hash names the row. A request
whose cookie names no row, an ended row, or another account's row is signed out before its view runs. So:

- sign-out ends this browser's row: a copy of the cookie taken before is dead;
- a password change ends every other session of the account (this one stays signed in);
- deactivation, and an administrator's password reset, end every session of the account;
- the account page lists the active sessions and ends any of them; an administrator ends all of a user's;
- a user whose password was chosen by someone else (``must_change_password``) is sent to the password change
  from every page but the change itself, sign-out and the language switch.

Everything is in the database, so any number of workers agree at once. Requests without the cookie's
``_user_id`` (the sign-in page, API tokens) are not touched. ``last_seen_at`` is written at most once a minute
per session, so a page view costs one indexed read and rarely a write.

Like ``services.py``, the functions flush and never commit, except ``check_session`` which runs before any view
and commits its own small write.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from flask import current_app, flash, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, logout_user
from sqlalchemy import select, update

from mhi.auth.models import User, UserSession
from mhi.core import clock, security
from mhi.core.audit import record
from mhi.core.db import db

#: The cookie's key naming the session row.
SESSION_KEY = "sid"
#: What a user who must change their password may still reach: the change itself, signing out, the language.
PASSWORD_CHANGE_OPEN = frozenset({"auth.password", "auth.logout", "auth.language", "static", "favicon"})
#: ``last_seen_at`` is refreshed when older than this (a write per minute, not per page).
TOUCH_EVERY = timedelta(seconds=60)


def utc_now() -> datetime:
    """Now in UTC, without a time zone (as the database columns store it)."""
    return clock.stored_now()


def key_hash(key: str) -> str:
    """What the table stores of a session key: its SHA-256, so a copy of the table opens no session."""
    return hashlib.sha256(key.encode()).hexdigest()


def open_session(
    dbs, user: User, *, address: str, user_agent: str, now: datetime | None = None
) -> tuple[UserSession, str]:
    """Record a new session of ``user``; return it and the key the cookie carries (shown nowhere else)."""
    now = now or utc_now()
    key = secrets.token_urlsafe(32)
    row = UserSession(
        key_hash=key_hash(key),
        user_id=user.id,
        created_at=now,
        last_seen_at=now,
        address=(address or "")[:45],
        user_agent=(user_agent or "")[:200],
    )
    dbs.add(row)
    dbs.flush()
    return row, key


def session_by_key(dbs, key: str | None) -> UserSession | None:
    """The session row a cookie's key names (ended or not), or None."""
    if not isinstance(key, str) or not key:
        return None
    return dbs.scalar(select(UserSession).where(UserSession.key_hash == key_hash(key)))


def end_session(dbs, row: UserSession, reason: str, *, now: datetime | None = None) -> None:
    """End one session (no effect on one already ended)."""
    dbs.execute(
        update(UserSession)
        .where(UserSession.id == row.id, UserSession.ended_at.is_(None))
        .values(ended_at=now or utc_now(), end_reason=reason)
        .execution_options(synchronize_session=False)
    )
    dbs.flush()
    dbs.expire(row)


def end_sessions(dbs, user: User, reason: str, *, keep: int | None = None, now: datetime | None = None) -> int:
    """End every open session of ``user`` except the one with id ``keep``; return how many were ended."""
    query = update(UserSession).where(UserSession.user_id == user.id, UserSession.ended_at.is_(None))
    if keep is not None:
        query = query.where(UserSession.id != keep)
    result = dbs.execute(
        query.values(ended_at=now or utc_now(), end_reason=reason).execution_options(synchronize_session=False)
    )
    dbs.flush()
    return result.rowcount or 0


def active_sessions(dbs, user: User, *, now: datetime | None = None) -> list[UserSession]:
    """The sessions of ``user`` still signed in: not ended, used within the idle limit, younger than a working
    day (the limits of ``mhi/core/security.py``), newest first."""
    now = now or utc_now()
    idle = timedelta(seconds=current_app.config["MHI_IDLE_TIMEOUT"]) + TOUCH_EVERY
    lifetime = current_app.permanent_session_lifetime
    return list(
        dbs.scalars(
            select(UserSession)
            .where(
                UserSession.user_id == user.id,
                UserSession.ended_at.is_(None),
                UserSession.last_seen_at > now - idle,
                UserSession.created_at > now - lifetime,
            )
            .order_by(UserSession.last_seen_at.desc(), UserSession.id.desc())
        )
    )


def revoke_session(dbs, user: User, session_id: int, *, actor: User) -> bool:
    """End one of ``user``'s sessions from the account page; False when it is not theirs or already ended."""
    row = dbs.get(UserSession, session_id)
    if row is None or row.user_id != user.id or row.ended_at is not None:
        return False
    end_session(dbs, row, "revoked")
    record(dbs, actor=actor, entity="user", entity_id=user.id, action="session_end", after={"session": row.id})
    return True


def revoke_all_sessions(dbs, user: User, *, actor: User, keep: int | None = None) -> int:
    """End every session of ``user`` (but ``keep``): the account page's "sign out everywhere else", or an
    administrator's "end sessions". Audited with the count."""
    count = end_sessions(dbs, user, "revoked", keep=keep)
    record(dbs, actor=actor, entity="user", entity_id=user.id, action="sessions_end", after={"count": count})
    return count


# ------------------------------------------------------------------------------------------------ per request


def sign_in(user: User) -> int:
    """After the password was checked: open a session row, bind this browser's cookie to it, return its id."""
    from flask_login import login_user

    row, key = open_session(
        db.session, user, address=request.remote_addr or "", user_agent=request.headers.get("User-Agent", "")
    )
    login_user(user)
    session.permanent = True
    session[SESSION_KEY] = key
    security.start_session()  # idle and absolute expiry
    return row.id


def sign_out(reason: str = "logout") -> None:
    """End this browser's session row (the caller commits) and clear the cookie's sign-in."""
    row = session_by_key(db.session, session.get(SESSION_KEY))
    if row is not None:
        end_session(db.session, row, reason)
    _forget()


def current_session_id() -> int | None:
    """The id of this browser's session row, or None."""
    row = session_by_key(db.session, session.get(SESSION_KEY))
    return row.id if row is not None else None


def _forget() -> None:
    logout_user()
    for key in (SESSION_KEY, security.SIGNED_IN_AT, security.LAST_SEEN):
        session.pop(key, None)


def check_session():
    """Before every request: a signed-in cookie must name an open session row of its own account, within the idle
    and absolute limits; otherwise the browser is signed out and the page's own guard sends it to sign in."""
    if request.endpoint == "static" or "_user_id" not in session:
        return None
    row = session_by_key(db.session, session.get(SESSION_KEY))
    if row is None or row.ended_at is not None or str(row.user_id) != str(session.get("_user_id")):
        _forget()
        flash(_("You were signed out: please sign in again."), "info")
        return None
    now = utc_now()
    if security.session_expired():
        end_session(db.session, row, "expired", now=now)
        db.session.commit()
        _forget()
        flash(_("Your session has expired: please sign in again."), "info")
        return None
    security.mark_seen()
    if now - row.last_seen_at >= TOUCH_EVERY:
        db.session.execute(
            update(UserSession)
            .where(UserSession.id == row.id)
            .values(last_seen_at=now)
            .execution_options(synchronize_session=False)
        )
        db.session.commit()
    if getattr(current_user, "must_change_password", False) and request.endpoint not in PASSWORD_CHANGE_OPEN:
        # Someone else chose this password (issue 16): nothing else until the user has chosen their own.
        return redirect(url_for("auth.password"))
    return None
