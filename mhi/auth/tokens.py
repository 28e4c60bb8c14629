"""API tokens: how another system (a health facility's billing software, the CMU's information system, a
federation's warehouse) acts as one account without a browser session.

A token belongs to one account and carries exactly that account's role and scheme scope (``mhi/core/access.py``
reads the account, never the token). Only the SHA-256 of the secret is stored: the secret has 256 bits of
randomness, so a plain hash cannot be reversed, and a lookup is one indexed equality. The secret is shown once,
when it is made. A token ends on its expiry day or when it is revoked; a deactivated account's tokens stop with
it. Nothing is deleted: revoking stamps ``revoked_at`` and writes an audit row.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import ForeignKey, String, func, select, update
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mhi.core import clock
from mhi.core.audit import record
from mhi.core.db import db

#: Secrets start with this, so a leaked one is recognisable in logs and by secret scanners.
PREFIX = "mhi_"
#: A token made without ``--expires`` lasts this long (docs/decisions.md).
DEFAULT_DAYS = 90
#: The longest a token may last: a forgotten integration should not hold access for ever.
MAX_DAYS = 366


class ApiToken(db.Model):
    """One token of one account. ``expires_on`` is the last day it is accepted (UTC)."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The first characters of the secret, to tell one's tokens apart on the account page.
    hint: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    expires_on: Mapped[date]
    revoked_at: Mapped[datetime | None]

    user = relationship("User", lazy="joined")


class TokenError(ValueError):
    """A token cannot be made; ``message_id`` names the reason (``expiry_past``, ``expiry_too_far``,
    ``inactive``)."""

    def __init__(self, message_id: str, **params):
        super().__init__(message_id)
        self.message_id = message_id
        self.params = params


def digest(secret: str) -> str:
    """The stored form of a secret."""
    return hashlib.sha256(secret.encode()).hexdigest()


def today_utc() -> date:
    """Expiry is counted in UTC days, the same on every server."""
    return clock.now().date()


def create_token(session, user, *, expires_on: date | None = None, actor=None) -> tuple[ApiToken, str]:
    """Make a token for ``user``; returns it with its secret (the only time the secret exists in clear)."""
    today = today_utc()
    expires_on = expires_on or today + timedelta(days=DEFAULT_DAYS)
    if not user.active:
        raise TokenError("inactive")
    if expires_on < today:
        raise TokenError("expiry_past", day=expires_on)
    if expires_on > today + timedelta(days=MAX_DAYS):
        raise TokenError("expiry_too_far", days=MAX_DAYS)
    secret = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user_id=user.id, token_hash=digest(secret), hint=secret[: len(PREFIX) + 6], expires_on=expires_on)
    session.add(token)
    session.flush()
    record(
        session,
        actor=actor or user,
        entity="api_token",
        entity_id=token.id,
        action="create",
        after={"user": user.email, "expires_on": expires_on},
    )
    return token, secret


def revoke_tokens(session, user, *, actor=None) -> int:
    """Revoke every live token of ``user``; returns how many were live."""
    ids = list(session.scalars(select(ApiToken.id).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))))
    if ids:
        session.execute(update(ApiToken).where(ApiToken.id.in_(ids)).values(revoked_at=clock.now()))
        session.flush()
    record(
        session,
        actor=actor or user,
        entity="api_token",
        entity_id=None,
        action="revoke",
        after={"user": user.email, "tokens": ids},
    )
    return len(ids)


def tokens_of(session, user) -> list[ApiToken]:
    """The account's tokens, newest first (revoked and expired ones too: the page says which)."""
    return list(session.scalars(select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id.desc())))


@dataclass(frozen=True)
class Checked:
    """The result of checking a presented secret: the token when accepted, else why not."""

    token: ApiToken | None
    refusal: str | None  # "unknown", "revoked", "expired", "inactive"


def check_secret(session, secret: str) -> Checked:
    """Is ``secret`` a live token of an active account? A read only: checking never writes."""
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == digest(secret))) if secret else None
    if token is None:
        return Checked(None, "unknown")
    if token.revoked_at is not None:
        return Checked(None, "revoked")
    if token.expires_on < today_utc():
        return Checked(None, "expired")
    if not token.user.active:
        return Checked(None, "inactive")
    return Checked(token, None)
