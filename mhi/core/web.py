"""Wiring shared by every page: database, migrations, sign-in, CSRF, languages, template filters, errors and
security headers."""

from __future__ import annotations

import os
from pathlib import Path

from flask import Flask, abort, g, render_template, request, session
from flask_babel import Babel, get_locale
from flask_login import LoginManager, current_user
from flask_migrate import Migrate
from flask_wtf.csrf import CSRFProtect
from werkzeug.exceptions import HTTPException

from mhi.core import cli as core_cli
from mhi.core import formatting, limits, tabular
from mhi.core.access import public
from mhi.core.db import db
from mhi.core.files import make_private, private_folder
from mhi.core.problems import API_PREFIXES, is_api_request, problem

ROOT = Path(__file__).resolve().parents[2]

migrate = Migrate(directory=str(ROOT / "migrations"))
csrf = CSRFProtect()
babel = Babel()
login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.session_protection = "strong"


def select_locale() -> str:
    """The signed-in user's language, else the one chosen on the login page, else the browser's."""
    from flask import current_app

    languages = current_app.config["LANGUAGES"]
    if "Authorization" in request.headers and request.headers.get("Accept-Language"):
        # A program acting with a token asks for its language explicitly; else the account's applies.
        return request.accept_languages.best_match(languages) or current_app.config["BABEL_DEFAULT_LOCALE"]
    if getattr(current_user, "is_authenticated", False) and current_user.locale in languages:
        return current_user.locale
    if session.get("lang") in languages:
        return session["lang"]
    return request.accept_languages.best_match(languages) or current_app.config["BABEL_DEFAULT_LOCALE"]


def current_scheme_locale(country: str | None = None) -> str:
    """Babel locale for amounts and dates: the user's language with the scheme's country (fr + SN = fr_SN)."""
    return formatting.display_locale(str(get_locale() or "en"), country)


def init_app(app: Flask) -> None:
    """Attach the extensions and the template helpers to ``app``."""
    limits.init_app(app)  # before any route is added: the bounded id converter
    db.init_app(app)
    migrate.init_app(app, db)
    # CSRF is checked by ``csrf_unless_token`` below rather than by Flask-WTF's own hook, so that a request
    # carrying an API token (in a header no other site can make a browser send) is not asked for one.
    app.config["WTF_CSRF_CHECK_DEFAULT"] = False
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    login_manager.init_app(app)
    core_cli.init_app(app)
    tabular.init_app(app)
    if os.environ.get("MHI_MAX_REQUEST_BYTES"):
        app.config["MAX_CONTENT_LENGTH"] = int(os.environ["MHI_MAX_REQUEST_BYTES"])  # the environment wins

    if Path(app.instance_path).is_dir():
        private_folder(Path(app.instance_path))  # the database, the secret key, uploads: this user's only
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        _sqlite_pragmas(app)

    @app.template_filter("money")
    def money_filter(amount, currency, country=None):
        return formatting.money(amount, currency, current_scheme_locale(country))

    @app.template_filter("day")
    def day_filter(value, country=None):
        return formatting.day(value, current_scheme_locale(country))

    @app.template_filter("number")
    def number_filter(value, places=0):
        return formatting.number(value, current_scheme_locale(), places)

    @app.template_filter("percent")
    def percent_filter(value):
        return formatting.percent(value, current_scheme_locale())

    @app.context_processor
    def layout_context():
        from mhi.core.access import has_permission

        return {
            "can": lambda permission: has_permission(current_user, permission),
            "current_language": str(get_locale() or "en"),
        }

    @app.after_request
    def security_headers(response):
        # CSP without inline scripts: every script and style is a file served by the app itself.
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
            "object-src 'none'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'",
        )
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if request.endpoint != "static":
            # Pages carry personal data: do not keep them in shared caches or the browser's history cache.
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    @app.before_request
    def csrf_unless_token():
        if not app.config["WTF_CSRF_ENABLED"] or "Authorization" in request.headers:
            return  # a token request is judged by its token (mhi/auth/bearer.py)
        if request.path.startswith(API_PREFIXES) and not current_user.is_authenticated:
            return  # answered 401 by mhi/auth/bearer.py, never asked for a CSRF token first
        csrf.protect(apply_exemptions=True)

    @app.before_request
    def refuse_nul_bytes():
        # No one types a NUL byte; a request carrying one is forged, and PostgreSQL refuses it in any text
        # column — a 400 here rather than a 500 at the write (tests/trust walks every form with them).
        values = [value for source in (request.args, request.form) for _, many in source.lists() for value in many]
        if "\x00" in request.path or any("\x00" in value for value in values):
            abort(400)
        if request.is_json and "\\u0000" in request.get_data(as_text=True):
            abort(400)

    @app.teardown_request
    def forget_request_state(error=None):
        # Per-request caches live on ``g``. A request normally gets a fresh app context, but one pushed around
        # it (a test, a CLI command calling views) is shared: forget who was signed in and the chosen language.
        g.pop("_login_user", None)
        g.pop("_flask_babel", None)

    @app.get("/favicon.ico")
    @public
    def favicon():
        # Browsers ask for it on their own (a PDF viewer too); pages carry an inline icon, so nothing is sent.
        return "", 204

    for code in (400, 403, 404, 405, 413):
        app.register_error_handler(code, _error_page)

    @app.errorhandler(500)
    def server_error(error):
        db.session.rollback()
        return _error_page(error)


def _error_page(error):
    """A short page in the user's language; the status code is kept. The API and FHIR answer in their own
    shape (``mhi/core/problems.py``), and so does any request that sent or asked for JSON and was too large. A
    message given to ``abort`` (already translated, e.g. by ``limits.bad_request``) is shown under the title."""
    from flask import current_app
    from flask_babel import gettext

    code = getattr(error, "code", 500) or 500
    limit = tabular.size_text(current_app.config["MAX_CONTENT_LENGTH"] or 0)
    if code == 413 and (is_api_request() or _wants_json()):
        return problem(
            413, gettext("The request is too large: the limit is %(limit)s (MHI_MAX_REQUEST_BYTES).", limit=limit)
        )
    # A description given with abort() says more than the status; werkzeug's own defaults are English.
    description = getattr(error, "description", None)
    own = isinstance(error, HTTPException) and description != type(error).description and code != 500
    if is_api_request():
        return problem(code, description if own else None)
    g.error_code = code
    return render_template("errors.html", code=code, limit=limit, detail=description if own else None), code


def _wants_json() -> bool:
    """The request was sent as JSON, or prefers JSON to a page."""
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return request.mimetype == "application/json" or best == "application/json"


def _sqlite_pragmas(app: Flask) -> None:
    """Foreign keys on (SQLite leaves them off) and WAL so readers do not block the writer; the database file
    readable by this user only (SQLite gives its -wal and -shm files the same mode)."""
    from sqlalchemy import event
    from sqlalchemy.engine import make_url

    with app.app_context():
        engine = db.engine
    database = make_url(app.config["SQLALCHEMY_DATABASE_URI"]).database
    path = Path(database) if database and database != ":memory:" and not database.startswith("file:") else None

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, connection_record):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()
        if path is not None:
            make_private(path)
