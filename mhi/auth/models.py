"""User accounts. A user has one role and, for scheme roles, one scheme (federation reviewers: one federation; a
health facility's desk, ``facility``: one provider, and that provider's scheme)."""

from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint, false, func
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from mhi.core.db import db

ROLES = ("admin", "federation_reviewer", "scheme_manager", "clerk", "claims_officer", "auditor", "funder", "facility")
SCHEME_ROLES = ("scheme_manager", "clerk", "claims_officer", "auditor")
#: Roles bound to one provider (issue 13): the account works for that health facility, inside its scheme.
PROVIDER_ROLES = ("facility",)


class User(UserMixin, db.Model):
    """A login. ``scheme_id`` is set for scheme roles, ``federation_id`` for federation reviewers; a funder has
    neither and follows subsidy programmes (``mhi.subsidies.models.FunderProgramme``). A facility account has
    ``provider_id`` and that provider's ``scheme_id``."""

    __tablename__ = "user_account"
    __table_args__ = (
        CheckConstraint(
            "role IN ('admin','federation_reviewer','scheme_manager','clerk','claims_officer','auditor','funder',"
            "'facility')",
            name="role_known",
        ),
        # A facility account is bound to exactly one provider, and only a facility account is.
        CheckConstraint("(role = 'facility') = (provider_id IS NOT NULL)", name="provider_for_facility"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120), default="")
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(30))
    scheme_id: Mapped[int | None] = mapped_column(ForeignKey("scheme.id"), index=True)
    federation_id: Mapped[int | None] = mapped_column(ForeignKey("federation.id"), index=True)
    provider_id: Mapped[int | None] = mapped_column(ForeignKey("provider.id"), index=True)
    locale: Mapped[str] = mapped_column(String(10), default="en")
    active: Mapped[bool] = mapped_column(default=True)
    #: Set when someone else chose the password (a new account, an administrator's reset): every page sends the
    #: user to the password change until it is done (issue 16).
    must_change_password: Mapped[bool] = mapped_column(default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())

    scheme = relationship("Scheme", lazy="joined")
    federation = relationship("Federation", lazy="joined")
    provider = relationship("Provider", lazy="joined")

    @property
    def is_active(self) -> bool:  # Flask-Login: a deactivated account cannot log in
        return self.active

    def set_password(self, password: str) -> None:
        """Store a salted hash (werkzeug's scrypt), never the password."""
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        """True when ``password`` matches the stored hash."""
        return check_password_hash(self.password_hash, password)


class UserSession(db.Model):
    """One signed-in browser (issue 18: sessions that can be revoked). The session cookie carries a random key
    whose SHA-256 is ``key_hash``; every request with a signed-in cookie needs its row, not ended, so ending the
    row (sign-out, password change, deactivation, the account page, an administrator) signs that browser out at
    once, whichever worker answers and whoever holds a copy of the cookie. Rows are kept once ended: they show
    where and when the account was used, and a browser that held one is known at the next sign-in
    (``mhi/auth/throttle.py``)."""

    __tablename__ = "user_session"
    __table_args__ = (Index("ix_user_session_user_address", "user_id", "address"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    address: Mapped[str] = mapped_column(String(45), default="")
    user_agent: Mapped[str] = mapped_column(String(200), default="")
    ended_at: Mapped[datetime | None]
    #: Why it ended: logout, expired, password (changed elsewhere), revoked (by its user or an administrator),
    #: deactivated.
    end_reason: Mapped[str | None] = mapped_column(String(20))


class LoginThrottle(db.Model):
    """Failed sign-ins of one e-mail (as typed, known account or not) from one address (``mhi/auth/throttle.py``):
    how many in a row, and when the last one was. ``user_id`` names the account when the e-mail is one."""

    __tablename__ = "login_throttle"
    __table_args__ = (
        UniqueConstraint("email", "address"),
        Index("ix_login_throttle_address_last", "address", "last_failure_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    address: Mapped[str] = mapped_column(String(45))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    failures: Mapped[int]
    first_failure_at: Mapped[datetime]
    last_failure_at: Mapped[datetime]
