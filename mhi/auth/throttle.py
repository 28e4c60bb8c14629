"""Failed sign-ins slow down the one who fails, never the account for everyone (issue 18).

The old rule — five wrong passwords lock the account for all — let anyone lock anyone out without signing in.
Instead, failures are counted per (e-mail typed, client address) in ``login_throttle``:

- the first ``MHI_LOGIN_FREE_FAILURES`` (5) cost nothing; each later one makes that pair wait longer before its
  next try: 30 s, 1 min, 2 min, … up to ``MHI_LOGIN_MAX_DELAY`` (30 min). A success, or a day without failure,
  starts the count again. Other addresses are not touched: the account holder elsewhere signs in as usual.
- a **known browser** — one holding the cookie of a session of that account opened in the last 30 days and not
  ended by a password change, a deactivation or an administrator — is never slowed down;
- a **known address** — one this account signed in from successfully in the last 90 days — waits only after
  ``MHI_LOGIN_KNOWN_FREE_FAILURES`` (50) failures: nobody mistypes that often, but an attacker inside the same
  office cannot guess without end;
- per address, only failures against many accounts count: an address that failed on more than
  ``MHI_LOGIN_ADDRESS_ACCOUNTS`` (30) different e-mails within the hour (someone trying a list of accounts) is
  refused for the hour, except for accounts it is known for — so one bad actor behind an office's shared
  address does not lock out the clerks who work there.

When a pair starts waiting, the account holder is told: an audit row on the account (``sign_in_throttled``,
with the address) that their account page shows. An administrator sees the current throttles at
``/admin/sign-ins`` and lifts them. Everything is in the database: any number of workers agree.

Unknown e-mails are counted exactly like known ones and the answers are the same, so nothing tells which
accounts exist. Like ``services.py``, the functions flush and never commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import case, delete, func, select
from werkzeug.security import check_password_hash, generate_password_hash

from mhi.auth.models import LoginThrottle, User, UserSession
from mhi.auth.sessions import utc_now
from mhi.core.audit import record

#: A day without failure and a pair starts from nothing again.
FORGET_AFTER = timedelta(days=1)
#: The window of the per-address count of accounts.
ADDRESS_WINDOW = timedelta(hours=1)
#: How recent a session must be for its browser, and a sign-in for its address, to be known.
KNOWN_BROWSER_DAYS = 30
KNOWN_ADDRESS_DAYS = 90
#: Session ends that take the trust away from the browser that held it.
DISTRUSTED_ENDS = ("password", "revoked", "deactivated")
#: The browser's cookie listing its recent sessions (ids, signed with the application's key).
KNOWN_COOKIE = "mhi_known"
KNOWN_COOKIE_SIZE = 5


@dataclass(frozen=True)
class Attempt:
    """The outcome of a sign-in: the user when it succeeded, else ``wait`` seconds when refused unchecked."""

    user: User | None = None
    wait: int = 0


def settings(name: str) -> int:
    """One of the limits (``mhi/core/security.py`` reads them, with their defaults)."""
    return current_app.config[name]


def delay_after(failures: int, free: int) -> int:
    """Seconds to wait after ``failures`` in a row when ``free`` cost nothing: doubling, capped."""
    if failures < free:
        return 0
    return min(settings("MHI_LOGIN_MAX_DELAY"), settings("MHI_LOGIN_FIRST_DELAY") * 2 ** (failures - free))


@cache
def _decoy_hash() -> str:
    """A hash to check unknown e-mails against, so they take as long as a wrong password."""
    return generate_password_hash("not a password of anyone")


def known_browser(dbs, user: User, session_ids: list[int], now: datetime) -> bool:
    """True when one of the browser's remembered sessions is a recent, trusted one of ``user``."""
    if not session_ids:
        return False
    found = dbs.scalar(
        select(func.count())
        .select_from(UserSession)
        .where(
            UserSession.id.in_(session_ids),
            UserSession.user_id == user.id,
            UserSession.created_at > now - timedelta(days=KNOWN_BROWSER_DAYS),
            _trusted(),
        )
    )
    return bool(found)


def _trusted():
    """Sessions still trusted: open, or ended by sign-out or expiry."""
    return UserSession.end_reason.is_(None) | UserSession.end_reason.notin_(DISTRUSTED_ENDS)


def known_address(dbs, user: User, address: str, now: datetime) -> bool:
    """True when ``user`` signed in successfully from ``address`` in the last ``KNOWN_ADDRESS_DAYS`` days, in a
    session not ended as untrusted (a password change, a deactivation, an administrator: a thief's address is
    not known)."""
    found = dbs.scalar(
        select(UserSession.id)
        .where(
            UserSession.user_id == user.id,
            UserSession.address == address,
            UserSession.created_at > now - timedelta(days=KNOWN_ADDRESS_DAYS),
            _trusted(),
        )
        .limit(1)
    )
    return found is not None


def _pair(dbs, email: str, address: str, now: datetime) -> LoginThrottle | None:
    """The pair's row while its count is current (a day without failure forgets it)."""
    row = dbs.scalar(select(LoginThrottle).where(LoginThrottle.email == email, LoginThrottle.address == address))
    if row is None or row.last_failure_at <= now - FORGET_AFTER:
        return None
    return row


def address_accounts(dbs, address: str, now: datetime) -> int:
    """How many different e-mails failed from ``address`` within the hour."""
    return dbs.scalar(
        select(func.count())
        .select_from(LoginThrottle)
        .where(LoginThrottle.address == address, LoginThrottle.last_failure_at > now - ADDRESS_WINDOW)
    )


def _wait(dbs, email: str, address: str, user: User | None, now: datetime) -> int:
    """Seconds this (e-mail, address) must still wait before its password is checked, 0 when it may try."""
    if user is not None and known_address(dbs, user, address, now):
        free = settings("MHI_LOGIN_KNOWN_FREE_FAILURES")
    else:
        free = settings("MHI_LOGIN_FREE_FAILURES")
        if address_accounts(dbs, address, now) > settings("MHI_LOGIN_ADDRESS_ACCOUNTS"):
            last = dbs.scalar(select(func.max(LoginThrottle.last_failure_at)).where(LoginThrottle.address == address))
            return max(1, int((last + ADDRESS_WINDOW - now).total_seconds()))
    row = _pair(dbs, email, address, now)
    if row is None:
        return 0
    until = row.last_failure_at + timedelta(seconds=delay_after(row.failures, free))
    return max(0, int((until - now).total_seconds()) + (1 if until > now else 0))


def authenticate(
    dbs, email: str, password: str, *, address: str, browser_sessions: list[int] = (), now: datetime | None = None
) -> Attempt:
    """Check a sign-in. Refused unchecked (``wait`` > 0) while the (e-mail, address) pair or the address must
    wait; else the active user with this e-mail and password, or nobody — the same answer for an unknown e-mail,
    a wrong password and a deactivated account. A failure is counted; a success clears the pair."""
    now = now or utc_now()
    email = (email or "").strip().lower()[:254]
    address = (address or "")[:45]
    user = dbs.scalar(select(User).where(User.email == email))
    trusted = user is not None and known_browser(dbs, user, list(browser_sessions), now)
    if not trusted:
        wait = _wait(dbs, email, address, user, now)
        if wait:
            return Attempt(wait=wait)
    if user is None:
        # Same work as for a known account: the answer time must not tell which e-mails exist.
        check_password_hash(_decoy_hash(), password or "")
        _count_failure(dbs, email, address, None, now)
        return Attempt()
    if not user.check_password(password or ""):
        _count_failure(dbs, email, address, user, now)
        return Attempt()
    dbs.execute(delete(LoginThrottle).where(LoginThrottle.email == email, LoginThrottle.address == address))
    dbs.flush()
    return Attempt(user=user if user.active else None)


def _count_failure(dbs, email: str, address: str, user: User | None, now: datetime) -> None:
    """One more failure of the pair, raised in the database (two workers counting at once both count); when the
    pair starts waiting, the account's holder is told through the audit trail."""
    values = {"failures": 1, "first_failure_at": now, "last_failure_at": now, "user_id": user.id if user else None}
    if dbs.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    statement = insert(LoginThrottle).values(email=email, address=address, **values)
    stale = LoginThrottle.last_failure_at <= now - FORGET_AFTER
    statement = statement.on_conflict_do_update(
        index_elements=["email", "address"],
        set_={
            "failures": case((stale, 1), else_=LoginThrottle.failures + 1),
            "first_failure_at": case((stale, now), else_=LoginThrottle.first_failure_at),
            "last_failure_at": now,
        },
    ).returning(LoginThrottle.failures)
    failures = dbs.execute(statement).scalar_one()
    dbs.flush()
    if user is not None and failures == settings("MHI_LOGIN_FREE_FAILURES"):
        record(
            dbs,
            actor=None,
            entity="user",
            entity_id=user.id,
            action="sign_in_throttled",
            scheme_id=user.scheme_id,
            after={"address": address, "failures": failures},
        )


# -------------------------------------------------------------------------------------- the administrator's view


@dataclass(frozen=True)
class PairThrottle:
    """A (e-mail, address) pair that must wait now."""

    id: int
    email: str
    address: str
    failures: int
    last_failure_at: datetime
    until: datetime


@dataclass(frozen=True)
class AddressBlock:
    """An address refused for failing on many accounts."""

    address: str
    accounts: int
    until: datetime


def current_throttles(dbs, *, now: datetime | None = None) -> tuple[list[PairThrottle], list[AddressBlock]]:
    """The pairs that must wait now, and the addresses refused now (the administrator's screen)."""
    now = now or utc_now()
    free = settings("MHI_LOGIN_FREE_FAILURES")
    rows = dbs.scalars(
        select(LoginThrottle)
        .where(LoginThrottle.failures >= free, LoginThrottle.last_failure_at > now - FORGET_AFTER)
        .order_by(LoginThrottle.last_failure_at.desc())
    )
    pairs = []
    for row in rows:
        until = row.last_failure_at + timedelta(seconds=delay_after(row.failures, free))
        pairs.append(PairThrottle(row.id, row.email, row.address, row.failures, row.last_failure_at, until))
    counts = dbs.execute(
        select(LoginThrottle.address, func.count(), func.max(LoginThrottle.last_failure_at))
        .where(LoginThrottle.last_failure_at > now - ADDRESS_WINDOW)
        .group_by(LoginThrottle.address)
        .having(func.count() > settings("MHI_LOGIN_ADDRESS_ACCOUNTS"))
        .order_by(LoginThrottle.address)
    )
    blocks = [AddressBlock(address, accounts, last + ADDRESS_WINDOW) for address, accounts, last in counts]
    return pairs, blocks


def lift_throttle(dbs, throttle_id: int, *, actor: User) -> LoginThrottle | None:
    """Forget a pair's failures (it may try at once); audited on the account when it is one. None if unknown."""
    row = dbs.get(LoginThrottle, throttle_id)
    if row is None:
        return None
    if row.user_id is not None:
        record(
            dbs,
            actor=actor,
            entity="user",
            entity_id=row.user_id,
            action="throttle_lift",
            after={"address": row.address, "failures": row.failures},
        )
    dbs.delete(row)
    dbs.flush()
    return row


def lift_address(dbs, address: str, *, actor: User) -> int:
    """Forget every failure from ``address`` (it may try again at once); return how many pairs were forgotten."""
    result = dbs.execute(delete(LoginThrottle).where(LoginThrottle.address == address))
    record(dbs, actor=actor, entity="login_throttle", entity_id=None, action="address_lift", after={"address": address})
    dbs.flush()
    return result.rowcount or 0


def forget_account(dbs, user: User) -> None:
    """Forget every failure on ``user``'s e-mail (an administrator reset its password)."""
    dbs.execute(delete(LoginThrottle).where(LoginThrottle.user_id == user.id))
    dbs.flush()


# ------------------------------------------------------------------------------------------- the known browser


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.secret_key, salt="mhi-known-browser")


def browser_sessions(cookie: str | None) -> list[int]:
    """The session ids a browser's cookie remembers (nothing when the cookie is absent or forged)."""
    if not cookie:
        return []
    try:
        ids = _serializer().loads(cookie)
    except BadSignature:
        return []
    return [i for i in ids if isinstance(i, int)][:KNOWN_COOKIE_SIZE] if isinstance(ids, list) else []


def remember_browser(response, cookie: str | None, session_id: int) -> None:
    """Add a new session to the browser's cookie (the most recent few), kept 30 days."""
    ids = [session_id] + [i for i in browser_sessions(cookie) if i != session_id]
    response.set_cookie(
        KNOWN_COOKIE,
        _serializer().dumps(ids[:KNOWN_COOKIE_SIZE]),
        max_age=KNOWN_BROWSER_DAYS * 24 * 3600,
        httponly=True,
        samesite="Lax",
        secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")),
    )
