"""Accounts hardening (issue "Trust"): the idle and absolute expiry of a session, the password rules on every
path, the security headers and the production cookies. Each test fails when its protection is removed. The
sign-in throttle is tested in tests/auth/test_throttle.py, the session rows in tests/auth/test_sessions.py."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from mhi import create_app
from mhi.auth.models import User
from mhi.core.db import db
from mhi.core.security import LAST_SEEN, SIGNED_IN_AT
from tests.factories import PASSWORD, login, make_scheme, make_user, records


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
