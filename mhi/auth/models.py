"""User accounts. A user has one role and, for scheme roles, one scheme (federation reviewers: one federation)."""

from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import CheckConstraint, ForeignKey, String, func
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from mhi.core.db import db

ROLES = ("admin", "federation_reviewer", "scheme_manager", "clerk", "claims_officer", "auditor")
SCHEME_ROLES = ("scheme_manager", "clerk", "claims_officer", "auditor")


class User(UserMixin, db.Model):
    """A login. ``scheme_id`` is set for scheme roles, ``federation_id`` for federation reviewers."""

    __tablename__ = "user_account"
    __table_args__ = (
        CheckConstraint(
            "role IN ('admin','federation_reviewer','scheme_manager','clerk','claims_officer','auditor')",
            name="role_known",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120), default="")
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(30))
    scheme_id: Mapped[int | None] = mapped_column(ForeignKey("scheme.id"), index=True)
    federation_id: Mapped[int | None] = mapped_column(ForeignKey("federation.id"), index=True)
    locale: Mapped[str] = mapped_column(String(10), default="en")
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    # Sign-in lockout (mhi/auth/operations.py): failures in a row, and until when (UTC) the account refuses
    # every sign-in. Kept in the database so that it holds across any number of workers, without Redis.
    failed_logins: Mapped[int] = mapped_column(default=0, server_default="0")
    locked_until: Mapped[datetime | None]

    scheme = relationship("Scheme", lazy="joined")
    federation = relationship("Federation", lazy="joined")

    @property
    def is_active(self) -> bool:  # Flask-Login: a deactivated account cannot log in
        return self.active

    def set_password(self, password: str) -> None:
        """Store a salted hash (werkzeug's scrypt), never the password."""
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        """True when ``password`` matches the stored hash."""
        return check_password_hash(self.password_hash, password)
