"""Accounts hardening (issue "Trust"): the sign-in lockout kept on the account, the rate limits on failed
sign-ins (per account and per address, in memory or in Redis), the idle and absolute expiry of a session, the
password rules on every path, the security headers and the production cookies. Each test fails when its
protection is removed."""

from __future__ import annotations

import socket
import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from mhi import create_app
from mhi.auth.models import User
from mhi.auth.operations import LOCK_AFTER, LOCK_MINUTES, utc_now
from mhi.core.audit import AuditEvent
from mhi.core.db import db
from mhi.core.security import LAST_SEEN, SIGNED_IN_AT, login_limiter
from tests.factories import PASSWORD, login, make_scheme, make_user, records

WRONG = "Wrong e-mail or password."
TOO_MANY = "Too many failed sign-ins."


@pytest.fixture(autouse=True)
def fresh_limits(app):
    """The limits on, with no failed sign-in counted; afterwards off again and empty for the rest of the suite."""
    limiter = login_limiter(app)
    limiter.reset()
    limiter.enabled = True  # off by default in a TESTING app (MHI_RATELIMIT_ENABLED)
    saved = {k: app.config[k] for k in ("MHI_LOGIN_LIMIT_PER_ACCOUNT", "MHI_LOGIN_LIMIT_PER_ADDRESS")}
    yield
    app.config.update(saved)
    limiter.reset()
    limiter.enabled = False


@pytest.fixture
def clerk(app):
    """A clerk of one scheme."""
    with records(app) as session:
        return make_user(session, "clerk", scheme=make_scheme(session, "MUT-A"), email="clerk@example.org")


def sign_in(client, email: str, password: str, **kwargs):
    """One sign-in attempt."""
    return client.post("/login", data={"email": email, "password": password}, **kwargs)


def account(app, user: User) -> User:
    """The account as the database has it now."""
    with records(app) as session:
        return session.get(User, user.id)


# ---------------------------------------------------------------------------------------------------------------
# Lockout kept on the account


def test_five_failures_in_a_row_lock_the_account_with_the_same_message(app, client, clerk):
    for _ in range(LOCK_AFTER):
        assert WRONG in sign_in(client, clerk.email, "wrong password 1").get_data(as_text=True)

    locked = sign_in(client, clerk.email, PASSWORD)

    assert locked.status_code == 200 and WRONG in locked.get_data(as_text=True)  # nothing says "locked"
    assert "lock" not in locked.get_data(as_text=True).lower()
    assert client.get("/").status_code == 302
    stored = account(app, clerk)
    assert stored.locked_until is not None
    assert timedelta(minutes=LOCK_MINUTES - 1) < stored.locked_until - utc_now() <= timedelta(minutes=LOCK_MINUTES)
    with records(app) as session:
        assert session.scalar(select(AuditEvent).where(AuditEvent.action == "lock", AuditEvent.entity_id == clerk.id))


def test_the_lock_ends_after_its_time(app, client, clerk):
    for _ in range(LOCK_AFTER):
        sign_in(client, clerk.email, "wrong password 1")
    with records(app) as session:
        session.get(User, clerk.id).locked_until = utc_now() - timedelta(seconds=1)
        session.commit()

    assert sign_in(client, clerk.email, PASSWORD).status_code == 302
    stored = account(app, clerk)
    assert stored.failed_logins == 0 and stored.locked_until is None


def test_a_success_resets_the_count(app, client, clerk):
    for _ in range(LOCK_AFTER - 1):
        sign_in(client, clerk.email, "wrong password 1")
    assert account(app, clerk).failed_logins == LOCK_AFTER - 1
    login(client, clerk)
    client.post("/logout")

    sign_in(client, clerk.email, "wrong password 1")

    assert account(app, clerk).failed_logins == 1
    assert sign_in(client, clerk.email, PASSWORD).status_code == 302


def test_the_lockout_holds_across_workers(app, clerk):
    # Two clients stand for two workers: the count is in the database, not in a process.
    first, second = app.test_client(), app.test_client()
    for attempt in range(LOCK_AFTER):
        sign_in(first if attempt % 2 else second, clerk.email, "wrong password 1")

    assert sign_in(first, clerk.email, PASSWORD).status_code == 200
    assert sign_in(second, clerk.email, PASSWORD).status_code == 200


# ---------------------------------------------------------------------------------------------------------------
# Rate limits (Flask-Limiter)


def test_failed_sign_ins_are_limited_per_account(app, client):
    app.config["MHI_LOGIN_LIMIT_PER_ACCOUNT"] = "3 per minute"
    for _ in range(3):
        assert sign_in(client, "nobody@example.org", "wrong password 1").status_code == 200

    refused = sign_in(client, "Nobody@Example.org ", "wrong password 1")

    assert refused.status_code == 429 and TOO_MANY in refused.get_data(as_text=True)
    assert int(refused.headers["Retry-After"]) > 0
    assert sign_in(client, "somebody.else@example.org", "wrong password 1").status_code == 200


def test_failed_sign_ins_are_limited_per_address(app, client):
    app.config["MHI_LOGIN_LIMIT_PER_ADDRESS"] = "4 per minute"
    for number in range(4):
        assert sign_in(client, f"nobody{number}@example.org", "wrong password 1").status_code == 200

    assert sign_in(client, "another@example.org", "wrong password 1").status_code == 429
    elsewhere = sign_in(client, "another@example.org", "wrong password 1", environ_base={"REMOTE_ADDR": "10.9.8.7"})
    assert elsewhere.status_code == 200


def test_a_refused_attempt_does_not_check_the_password(app, client, clerk):
    app.config["MHI_LOGIN_LIMIT_PER_ADDRESS"] = "2 per minute"
    sign_in(client, "x@example.org", "wrong password 1")
    sign_in(client, "y@example.org", "wrong password 1")

    assert sign_in(client, clerk.email, PASSWORD).status_code == 429
    assert client.get("/").status_code == 302


def test_successful_sign_ins_do_not_count(app, clerk):
    app.config["MHI_LOGIN_LIMIT_PER_ADDRESS"] = "2 per minute"
    app.config["MHI_LOGIN_LIMIT_PER_ACCOUNT"] = "2 per minute"
    for _ in range(4):
        client = app.test_client()
        assert sign_in(client, clerk.email, PASSWORD).status_code == 302


def test_the_limits_are_on_in_a_real_server(app):
    server = create_app({"SECRET_KEY": "k", "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"]})
    try:
        assert login_limiter(server).enabled is True
        assert server.config["MHI_RATELIMIT_STORAGE_URI"] == "memory://"
    finally:
        with server.app_context():
            db.engine.dispose()


def _redis_reachable() -> bool:
    """True when a Redis server answers on 127.0.0.1:6379."""
    try:
        import redis  # noqa: F401
    except ImportError:
        return False
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5):
            return True
    except OSError:
        return False


@pytest.mark.skipif(not _redis_reachable(), reason="no Redis on 127.0.0.1:6379")
def test_several_workers_share_their_counts_through_redis(app):
    # Two applications stand for two gunicorn workers with the documented MHI_RATELIMIT_STORAGE_URI.
    settings = {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "WTF_CSRF_ENABLED": False,
        "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
        "MHI_RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379",
        "MHI_RATELIMIT_ENABLED": True,
        "MHI_LOGIN_LIMIT_PER_ACCOUNT": "3 per minute",
    }
    workers = [create_app(dict(settings)), create_app(dict(settings))]
    email = f"redis-{time.time_ns()}@example.org"  # a key of its own: nothing else in Redis is touched
    try:
        statuses = [sign_in(workers[n % 2].test_client(), email, "wrong password 1").status_code for n in range(4)]
    finally:
        for worker in workers:
            with worker.app_context():
                db.engine.dispose()

    assert statuses == [200, 200, 200, 429]


# ---------------------------------------------------------------------------------------------------------------
# Session expiry


def test_a_session_idle_for_more_than_30_minutes_is_signed_out(app, client, clerk):
    login(client, clerk)
    assert client.get("/").status_code == 200
    with client.session_transaction() as browser:
        browser[LAST_SEEN] = int(time.time()) - 31 * 60

    response = client.get("/")

    assert response.status_code == 302 and "/login" in response.headers["Location"]
    with client.session_transaction() as browser:
        assert "_user_id" not in browser


def test_a_session_used_within_30_minutes_stays_and_is_renewed(app, client, clerk):
    login(client, clerk)
    with client.session_transaction() as browser:
        browser[LAST_SEEN] = int(time.time()) - 29 * 60

    assert client.get("/").status_code == 200
    with client.session_transaction() as browser:
        assert browser[LAST_SEEN] >= int(time.time()) - 5


def test_a_session_ends_a_working_day_after_signing_in_whatever_the_activity(app, client, clerk):
    login(client, clerk)
    with client.session_transaction() as browser:
        browser[SIGNED_IN_AT] = int(time.time()) - int(app.permanent_session_lifetime.total_seconds()) - 60
        browser[LAST_SEEN] = int(time.time())

    assert client.get("/").status_code == 302


def test_a_session_without_its_sign_in_time_is_not_trusted(app, client, clerk):
    login(client, clerk)
    with client.session_transaction() as browser:
        del browser[SIGNED_IN_AT]

    assert client.get("/").status_code == 302


# ---------------------------------------------------------------------------------------------------------------
# Password rules on every path


@pytest.mark.parametrize("weak", ["short1", "onlyletterspassword", "12345678901234"])
def test_weak_passwords_are_refused_by_the_command_line(runner, weak):
    result = runner.invoke(args=["user", "create", "weak@example.org", "--role", "admin"], input=weak + "\n")

    assert result.exit_code == 1
    with records(runner.app) as session:
        assert session.scalar(select(User).where(User.email == "weak@example.org")) is None


@pytest.mark.parametrize("weak", ["short1", "onlyletterspassword", "12345678901234"])
def test_weak_passwords_are_refused_on_the_admin_form(app, weak):
    with records(app) as session:
        admin = make_user(session, "admin")
    client = app.test_client()
    login(client, admin)

    response = client.post(
        "/admin/users/new",
        data={
            "email": "weak@example.org",
            "role": "admin",
            "scheme": 0,
            "federation": 0,
            "locale": "en",
            "password": weak,
            "confirm": weak,
        },
    )

    assert response.status_code == 200
    with records(app) as session:
        assert session.scalar(select(User).where(User.email == "weak@example.org")) is None


@pytest.mark.parametrize("weak", ["short1", "onlyletterspassword", "12345678901234"])
def test_weak_passwords_are_refused_on_password_change(app, client, clerk, weak):
    login(client, clerk)

    response = client.post("/account/password", data={"current": PASSWORD, "new": weak, "confirm": weak})

    assert response.status_code == 200
    assert account(app, clerk).password_hash == clerk.password_hash


def test_the_services_refuse_weak_passwords_whatever_calls_them(session):
    from mhi.auth.services import AccountError, change_password, create_user

    with pytest.raises(AccountError):
        create_user(session, "weak@example.org", "admin", "short1")
    user = create_user(session, "ok@example.org", "admin", "a good one 12")
    with pytest.raises(AccountError):
        change_password(session, user, "a good one 12", "onlyletterspassword")


# ---------------------------------------------------------------------------------------------------------------
# Headers and cookies


def test_security_headers_on_every_page(client):
    for response in (client.get("/login"), client.get("/no-such-page")):
        csp = response.headers["Content-Security-Policy"]
        directives = {part.split()[0]: part.split()[1:] for part in csp.split(";") if part.strip()}
        assert directives["script-src"] == ["'self'"]  # no inline script, no eval, no other site
        assert directives["default-src"] == ["'self'"]
        assert directives["frame-ancestors"] == ["'none'"]
        assert directives["object-src"] == ["'none'"]
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Cache-Control"] == "no-store"


def test_no_template_has_an_inline_script_the_policy_would_block():
    import re
    from pathlib import Path

    templates = Path(__file__).resolve().parents[2] / "templates"
    inline = re.compile(r"<script(?![^>]*\bsrc=)|\son[a-z]+\s*=\s*[\"']|javascript:", re.IGNORECASE)
    offenders = [str(p.relative_to(templates)) for p in templates.rglob("*.html") if inline.search(p.read_text())]

    assert not offenders, f"inline scripts or handlers (blocked by the CSP): {offenders}"


@pytest.fixture
def production(app, monkeypatch):
    """The application as a production server builds it (MHI_ENV=production), on the suite's database."""
    monkeypatch.setenv("MHI_ENV", "production")
    monkeypatch.setenv("MHI_SECRET_KEY", "a-long-random-production-key")
    server = create_app(
        {"TESTING": True, "WTF_CSRF_ENABLED": False, "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"]}
    )
    yield server
    with server.app_context():
        db.engine.dispose()


def session_cookie(response) -> str:
    """The Set-Cookie header of the session cookie."""
    cookies = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("session=")]
    assert cookies, "no session cookie was set"
    return cookies[0]


def test_production_cookies_are_secure_httponly_and_samesite(production, clerk):
    client = production.test_client()

    cookie = session_cookie(sign_in(client, clerk.email, PASSWORD, base_url="https://mhi.example.org"))

    attributes = {part.strip().split("=")[0].lower(): part for part in cookie.split(";")}
    assert "secure" in attributes
    assert "httponly" in attributes
    assert attributes["samesite"].strip().lower() == "samesite=lax"


def test_development_cookies_are_httponly_and_samesite_too(client, clerk):
    cookie = session_cookie(sign_in(client, clerk.email, PASSWORD)).lower()

    assert "httponly" in cookie and "samesite=lax" in cookie
