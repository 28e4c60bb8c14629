"""Protections of the session: the idle and absolute expiry of a signed-in session, and the client address
behind a reverse proxy. The sign-in throttle is ``mhi/auth/throttle.py``; the session rows
``mhi/auth/sessions.py``.

- A signed-in session ends after ``MHI_IDLE_TIMEOUT`` seconds without a request (30 minutes) and, whatever the
  activity, ``PERMANENT_SESSION_LIFETIME`` after signing in (a working day): a cookie forgotten on a shared
  computer does not stay signed in.
- ``MHI_TRUSTED_PROXIES`` (default 0): how many reverse proxies stand in front of the application. With one
  (nginx, Caddy) the client's address is read from ``X-Forwarded-For``; without it every request would come
  from the proxy's address, and the sign-in throttle, kept per address, would treat everyone as one.
- The sign-in throttle's settings (``MHI_LOGIN_*``, README "Security") are read here from the environment too.
"""

from __future__ import annotations

import os
import time

from flask import Flask, current_app, session

#: Session keys: when the account signed in, and when the session was last used (seconds since the epoch).
SIGNED_IN_AT = "signed_in_at"
LAST_SEEN = "last_seen"

DEFAULTS = {
    "MHI_IDLE_TIMEOUT": 30 * 60,
    "MHI_TRUSTED_PROXIES": 0,
    "MHI_LOGIN_FREE_FAILURES": 5,
    "MHI_LOGIN_KNOWN_FREE_FAILURES": 50,
    "MHI_LOGIN_FIRST_DELAY": 30,
    "MHI_LOGIN_MAX_DELAY": 30 * 60,
    "MHI_LOGIN_ADDRESS_ACCOUNTS": 30,
}


def init_app(app: Flask) -> None:
    """Read the settings (the environment wins, README "Configuration") and trust the proxies in front."""
    for name, default in DEFAULTS.items():
        if os.environ.get(name):
            app.config[name] = int(os.environ[name])
        else:
            app.config[name] = int(app.config.get(name, default))
    proxies = app.config["MHI_TRUSTED_PROXIES"]
    if proxies:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)


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


def mark_seen() -> None:
    """The session was used now (its idle clock restarts)."""
    session[LAST_SEEN] = int(time.time())
