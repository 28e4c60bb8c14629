"""Account operations: create a user, change a password, an administrator's password reset, and the password
rules they all apply. Services flush; the caller commits.

New accounts (issue 16): the role is always an explicit choice (no default); the language, unless chosen, is
the scheme's (for a federation reviewer, the federation's schemes' when they share one), else the instance's;
and the first password, chosen by an administrator, must be changed at the first sign-in
(``must_change_password``, enforced on every page by ``mhi/auth/sessions.py``) — likewise after an
administrator resets a password.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from sqlalchemy import func, select

from mhi.auth.models import PROVIDER_ROLES, ROLES, SCHEME_ROLES, User
from mhi.auth.sessions import end_sessions
from mhi.core.audit import record
from mhi.core.errors import N_, UserError


class AccountError(UserError):
    """A request about an account that cannot be carried out; the message says why."""


# ----------------------------------------------------------------------------------------------- password rules
# The password rules (issue 18), the same on every path: the administrator's form, the password change, the
# forced change at first sign-in and ``flask user create``.
#
# A password is refused, in this order, when it is
#
# 1. shorter than ``MIN_PASSWORD_LENGTH`` (10) characters;
# 2. only letters or only digits;
# 3. a common password — one of the 10,000 most used (``common-passwords.txt``), also with digits and signs
#    added before or after it (``password12``, ``Soleil2026!``);
# 4. built on the e-mail's local part (``awa.diop`` → ``awa.diop2026``, ``Diop-2026-x``);
# 5. the account's current password.
#
# Each refusal is a ``PasswordRejected`` with a reason code and its parameters, said in the user's language where
# it is shown (``mhi/auth/forms.py``), in English on the command line.

MIN_PASSWORD_LENGTH = 10
#: Parts of an e-mail's local part shorter than this are not looked for (``a.b@…`` would refuse too much).
MIN_NAME_PART = 4
_EDGES = re.compile(r"^[\W\d_]+|[\W\d_]+$")
_PARTS = re.compile(r"[._+\-]+")


class PasswordRejected(AccountError):
    """A password the rules refuse: ``reason`` is too_short, one_kind, common, contains_email or unchanged."""

    ENGLISH = {
        "too_short": "the password must have at least {n} characters",
        "one_kind": "the password must mix letters with digits or other signs",
        "common": "this password is too common: it is among the first that an attacker tries",
        "contains_email": "the password must not contain the e-mail address",
        "unchanged": "the new password must differ from the current one",
    }

    def __init__(self, reason: str, **params):
        super().__init__(self.ENGLISH[reason].format(**params))
        self.reason = reason
        self.params = params


@cache
def common_passwords() -> frozenset[str]:
    """The shipped list of common passwords, lower case."""
    text = (Path(__file__).with_name("common-passwords.txt")).read_text(encoding="utf-8")
    return frozenset(line for line in text.splitlines() if line and not line.startswith("#"))


def is_common(password: str) -> bool:
    """True when ``password``, or its core without the digits and signs around it, is a common password."""
    lowered = password.strip().lower()
    common = common_passwords()
    core = _EDGES.sub("", lowered)
    return lowered in common or (len(core) >= 3 and core in common)


def contains_email(password: str, email: str) -> bool:
    """True when ``password`` contains the e-mail's local part, or one of its longer parts (a first or last name)."""
    local = (email or "").partition("@")[0].lower()
    if not local:
        return False
    lowered = password.lower()
    parts = [local] + [part for part in _PARTS.split(local) if len(part) >= MIN_NAME_PART]
    return any(len(part) >= 3 and part in lowered for part in parts)


def check_password_rules(password: str, *, email: str = "", current_hash_check=None) -> None:
    """Raise ``PasswordRejected`` for the first rule ``password`` breaks. ``current_hash_check`` is the account's
    ``check_password`` when it has one (a new password must not be the current one)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise PasswordRejected("too_short", n=MIN_PASSWORD_LENGTH)
    if password.isalpha() or password.isdigit():
        raise PasswordRejected("one_kind")
    if is_common(password):
        raise PasswordRejected("common")
    if email and contains_email(password, email):
        raise PasswordRejected("contains_email")
    if current_hash_check is not None and current_hash_check(password):
        raise PasswordRejected("unchanged")


def create_user(
    session,
    email: str,
    role: str,
    password: str,
    *,
    scheme=None,
    federation=None,
    provider=None,
    name: str = "",
    locale: str = "en",
    actor=None,
    must_change_password: bool = True,
) -> User:
    """Create a login; scheme roles need a scheme, federation reviewers a federation, a facility account its
    provider (whose scheme it then works in; a scheme given too must be that one). The password was chosen by
    someone else (an administrator), so it must be changed at the first sign-in unless ``must_change_password``
    is False (the demo's accounts, an operator creating their own account)."""
    email = email.strip().lower()
    if "@" not in email or len(email) > 254:
        raise AccountError(N_("%(email)s is not an e-mail address"), email=repr(email))
    if role not in ROLES:
        raise AccountError(N_("unknown role %(role)s (one of %(values)s)"), role=repr(role), values=", ".join(ROLES))
    if role in SCHEME_ROLES and scheme is None:
        raise AccountError(N_("a %(role)s needs a scheme"), role=role)
    if role == "federation_reviewer" and federation is None:
        raise AccountError(N_("a federation_reviewer needs a federation"))
    if role in PROVIDER_ROLES:
        if provider is None:
            raise AccountError(N_("a %(role)s account needs a provider"), role=role)
        if scheme is not None and scheme.id != provider.scheme_id:
            raise AccountError(
                N_("provider %(provider)s is not a provider of scheme %(scheme)s"),
                provider=provider.code,
                scheme=scheme.code,
            )
        scheme = provider.scheme
    if session.scalar(select(func.count()).select_from(User).where(User.email == email)):
        raise AccountError(N_("%(email)s already has an account"), email=email)
    check_password_rules(password, email=email)
    user = User(
        email=email,
        name=name or email.split("@")[0],
        role=role,
        locale=locale,
        must_change_password=must_change_password,
        scheme_id=scheme.id if scheme is not None and role in SCHEME_ROLES + PROVIDER_ROLES else None,
        federation_id=federation.id if federation is not None and role == "federation_reviewer" else None,
        provider_id=provider.id if role in PROVIDER_ROLES else None,
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
        after={"email": email, "role": role, "must_change_password": must_change_password}
        | ({"provider": provider.code} if role in PROVIDER_ROLES else {}),
    )
    return user


def account_language(session, scheme, federation, languages, default: str) -> str:
    """The language of a new account when none is chosen: the scheme's (``fr_SN`` → ``fr``); for a federation
    reviewer, the one its schemes share; else ``default`` (the instance's)."""
    if scheme is not None:
        candidates = {scheme.locale}
    elif federation is not None:
        # Through the federation's own relationship: accounts come before schemes in the feature order (STYLE).
        candidates = {scheme.locale for scheme in federation.schemes}
    else:
        candidates = set()
    spoken = {locale.split("_")[0] for locale in candidates}
    if len(spoken) == 1 and (language := spoken.pop()) in languages:
        return language
    return default


def change_password(session, user: User, current: str, new: str, *, keep_session: int | None = None) -> None:
    """Change ``user``'s password after checking the current one, and end every other session of the account
    (a browser someone else signed in with the old password is signed out at once); ``keep_session`` is the id
    of the session making the change, which stays signed in."""
    if not user.check_password(current):
        raise AccountError(N_("the current password is wrong"))
    check_password_rules(new, email=user.email, current_hash_check=user.check_password)
    user.set_password(new)
    user.must_change_password = False
    session.flush()
    ended = end_sessions(session, user, "password", keep=keep_session)
    record(
        session, actor=user, entity="user", entity_id=user.id, action="password_change", after={"sessions_ended": ended}
    )


def reset_password(session, user: User, password: str, *, actor: User) -> None:
    """An administrator gives ``user`` a new password (a forgotten one): every session of the account ends, the
    waits after failed sign-ins are forgotten, and the password must be changed at the next sign-in."""
    from mhi.auth.throttle import forget_account

    check_password_rules(password, email=user.email, current_hash_check=user.check_password)
    user.set_password(password)
    user.must_change_password = True
    session.flush()
    ended = end_sessions(session, user, "password")
    forget_account(session, user)
    record(
        session, actor=actor, entity="user", entity_id=user.id, action="password_reset", after={"sessions_ended": ended}
    )
