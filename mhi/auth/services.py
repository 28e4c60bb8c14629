"""Account operations: create a user, change a password. Services flush; the caller commits."""

from __future__ import annotations

from sqlalchemy import func, select

from mhi.auth.models import ROLES, SCHEME_ROLES, User
from mhi.core.audit import record

MIN_PASSWORD_LENGTH = 10


class AccountError(ValueError):
    """A request about an account that cannot be carried out; the message says why."""


def check_password_rules(password: str) -> None:
    """At least 10 characters, not all of one kind (letters only, digits only)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    if password.isalpha() or password.isdigit():
        raise AccountError("the password must mix letters with digits or other signs")


def create_user(
    session,
    email: str,
    role: str,
    password: str,
    *,
    scheme=None,
    federation=None,
    name: str = "",
    locale: str = "en",
    actor=None,
) -> User:
    """Create a login; scheme roles need a scheme, federation reviewers a federation."""
    email = email.strip().lower()
    if "@" not in email or len(email) > 254:
        raise AccountError(f"{email!r} is not an e-mail address")
    if role not in ROLES:
        raise AccountError(f"unknown role {role!r} (one of {', '.join(ROLES)})")
    if role in SCHEME_ROLES and scheme is None:
        raise AccountError(f"a {role} needs a scheme")
    if role == "federation_reviewer" and federation is None:
        raise AccountError("a federation_reviewer needs a federation")
    if session.scalar(select(func.count()).select_from(User).where(User.email == email)):
        raise AccountError(f"{email} already has an account")
    check_password_rules(password)
    user = User(
        email=email,
        name=name or email.split("@")[0],
        role=role,
        locale=locale,
        scheme_id=scheme.id if scheme is not None and role in SCHEME_ROLES else None,
        federation_id=federation.id if federation is not None and role == "federation_reviewer" else None,
    )
    user.set_password(password)
    session.add(user)
    session.flush()
    record(
        session,
        actor=actor,
        entity="user",
        entity_id=user.id,
        action="create",
        after={"email": email, "role": role},
    )
    return user


def change_password(session, user: User, current: str, new: str) -> None:
    """Change ``user``'s password after checking the current one."""
    if not user.check_password(current):
        raise AccountError("the current password is wrong")
    check_password_rules(new)
    user.set_password(new)
    session.flush()
    record(session, actor=user, entity="user", entity_id=user.id, action="password_change")
