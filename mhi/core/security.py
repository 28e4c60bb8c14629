"""Protections of the sign-in and of the session: rate limits on failed sign-ins (Flask-Limiter), the idle and
absolute expiry of a signed-in session, and the client address behind a reverse proxy.

- Failed sign-ins are limited per client address and per account e-mail (``MHI_LOGIN_LIMIT_PER_ADDRESS``,
  ``MHI_LOGIN_LIMIT_PER_ACCOUNT``). Only failures count (a sign-in that succeeds costs nothing), so an office
  whose clerks share one address is not locked out by their normal use. The counters live in
  ``MHI_RATELIMIT_STORAGE_URI``: ``memory://`` (the default) is right for one process; several workers share
  ``redis://127.0.0.1:6379``. The lockout kept on the account row (``mhi/auth/operations.py``) needs no shared
  storage at all.
- A signed-in session ends after ``MHI_IDLE_TIMEOUT`` seconds without a request (30 minutes) and, whatever the
  activity, ``PERMANENT_SESSION_LIFETIME`` after signing in (a working day): a cookie forgotten on a shared
  computer does not stay signed in.
- ``MHI_RATELIMIT_ENABLED``: the limits are on, except in a TESTING application (the suite signs in thousands of
  times from one address; the tests of the limits switch them on).
- ``MHI_TRUSTED_PROXIES`` (default 0): how many reverse proxies stand in front of the application. With one
  (nginx, Caddy) the client's address is read from ``X-Forwarded-For``; without it every request would come
  from the proxy's address and the per-address limit would apply to everyone at once.
"""

from __future__ import annotations

import os
import time

from flask import Flask, current_app, flash, make_response, render_template, request, session
from flask_babel import gettext as _
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import logout_user

#: Session keys: when the account signed in, and when the session was last used (seconds since the epoch).
SIGNED_IN_AT = "signed_in_at"
LAST_SEEN = "last_seen"

DEFAULTS = {
    "MHI_RATELIMIT_STORAGE_URI": "memory://",
    "MHI_LOGIN_LIMIT_PER_ADDRESS": "20 per minute; 200 per day",
    "MHI_LOGIN_LIMIT_PER_ACCOUNT": "10 per hour",
    "MHI_IDLE_TIMEOUT": 30 * 60,
    "MHI_TRUSTED_PROXIES": 0,
}


def init_app(app: Flask) -> None:
    """Configure the limits, wrap the sign-in view with them, and check the session's age on every request.

    Called by ``mhi.auth.views.init_app`` once the ``auth.login`` view is registered. Each application gets
    its own ``Limiter`` (its storage is the limiter's own state, and a test may build several applications).
    """
    for name, default in DEFAULTS.items():
        if os.environ.get(name):
            app.config[name] = os.environ[name]  # the environment wins (README "Configuration")
        else:
            app.config.setdefault(name, default)
    app.config["MHI_IDLE_TIMEOUT"] = int(app.config["MHI_IDLE_TIMEOUT"])
    proxies = int(app.config["MHI_TRUSTED_PROXIES"])
    if proxies:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)

    limiter = Limiter(
        get_remote_address,
        storage_uri=app.config["MHI_RATELIMIT_STORAGE_URI"],
        strategy="moving-window",
        headers_enabled=False,
        key_prefix="mhi",
        # Redis down must not stop every sign-in: count in memory meanwhile (the account lockout still holds).
        in_memory_fallback_enabled=True,
        swallow_errors=True,
    )
    limiter.init_app(app)
    # The test suite signs in thousands of times from one address: its own tests of the limits switch them on.
    if os.environ.get("MHI_RATELIMIT_ENABLED"):
        app.config["MHI_RATELIMIT_ENABLED"] = os.environ["MHI_RATELIMIT_ENABLED"].lower() not in (
            "0",
            "false",
            "no",
            "off",
        )
    limiter.enabled = bool(app.config.setdefault("MHI_RATELIMIT_ENABLED", not app.testing))
    app.extensions["mhi_limiter"] = limiter
    login_view = app.view_functions["auth.login"]
    per_account = limiter.limit(
        lambda: current_app.config["MHI_LOGIN_LIMIT_PER_ACCOUNT"],
        key_func=account_key,
        scope="login-account",
        methods=["POST"],
        deduct_when=failed_sign_in,
        on_breach=too_many_attempts,
    )
    per_address = limiter.limit(
        lambda: current_app.config["MHI_LOGIN_LIMIT_PER_ADDRESS"],
        key_func=get_remote_address,
        scope="login-address",
        methods=["POST"],
        deduct_when=failed_sign_in,
        on_breach=too_many_attempts,
    )
    app.view_functions["auth.login"] = per_address(per_account(login_view))
    app.before_request(expire_old_sessions)


def login_limiter(app: Flask | None = None) -> Limiter:
    """The application's limiter (tests reset its counters)."""
    return (app or current_app).extensions["mhi_limiter"]


def account_key() -> str:
    """The per-account key: the e-mail typed, as the accounts store it (lower case, no spaces)."""
    return "account:" + ((request.form.get("email") or "").strip().lower() or "-")


def failed_sign_in(response) -> bool:
    """A sign-in POST failed when it did not redirect (the form comes back with its message)."""
    return response.status_code != 302


def too_many_attempts(limit) -> object:
    """The sign-in page again, with a message and 429: no password is checked until the window has passed."""
    from mhi.auth.forms import LoginForm

    form = LoginForm()
    form.password.data = ""
    error = _("Too many failed sign-ins. Wait a few minutes, then try again.")
    response = make_response(render_template("auth/login.html", form=form, error=error), 429)
    response.headers["Retry-After"] = str(max(1, int(limit.reset_at - time.time())))
    return response


def start_session() -> None:
    """Called at sign-in: the session's age is counted from now."""
    now = int(time.time())
    session[SIGNED_IN_AT] = now
    session[LAST_SEEN] = now


def session_expired(now: float | None = None) -> bool:
    """True when the signed-in session has been idle too long, or is older than a working day (or carries no
    sign-in time at all: a cookie from before these rules)."""
    now = int(now if now is not None else time.time())
    signed_in_at, last_seen = session.get(SIGNED_IN_AT), session.get(LAST_SEEN)
    if not isinstance(signed_in_at, int) or not isinstance(last_seen, int):
        return True
    lifetime = current_app.permanent_session_lifetime.total_seconds()
    return now - last_seen > current_app.config["MHI_IDLE_TIMEOUT"] or now - signed_in_at > lifetime


def expire_old_sessions():
    """Before every request: sign out a session past its idle or absolute limit, else note it was used now."""
    if request.endpoint == "static" or "_user_id" not in session:
        return None
    if session_expired():
        logout_user()
        session.pop(SIGNED_IN_AT, None)
        session.pop(LAST_SEEN, None)
        flash(_("Your session has expired: please sign in again."), "info")
        return None  # the page's own guard now sends the visitor to the sign-in page
    session[LAST_SEEN] = int(time.time())
    return None
