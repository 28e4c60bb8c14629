"""mhi — community health micro-insurance: the application factory.

``create_app`` loads the defaults, then ``instance/config.py``, then environment variables (``MHI_*``), then a
test's overrides; each feature wires itself in with its ``init_app``.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from flask import Flask

ROOT = Path(__file__).resolve().parent.parent


def create_app(test_config: dict | None = None) -> Flask:
    """Build the Flask application."""
    app = Flask(
        __name__,
        instance_path=str(ROOT / "instance"),
        instance_relative_config=True,
        template_folder=str(ROOT / "templates"),
        static_folder=str(Path(__file__).resolve().parent / "static"),
    )
    app.config.from_mapping(
        MHI_ENV=os.environ.get("MHI_ENV", "development"),
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{ROOT / 'instance' / 'mhi.sqlite'}",
        SQLALCHEMY_ENGINE_OPTIONS={"pool_pre_ping": True},
        BABEL_DEFAULT_LOCALE="en",
        BABEL_TRANSLATION_DIRECTORIES=str(Path(__file__).resolve().parent / "translations"),
        LANGUAGES=("en", "fr"),
        MAX_CONTENT_LENGTH=20 * 1024 * 1024,
        # Bill lines one claim may carry (the form and the JSON API); the claim page stays fast at this size.
        MHI_MAX_CLAIM_LINES=200,
        # The largest attachment of a claim (a scanned bill or referral letter), in bytes.
        MHI_MAX_ATTACHMENT_BYTES=5 * 1024 * 1024,
        WTF_CSRF_TIME_LIMIT=None,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=8 * 3600,
    )
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
    _apply_environment(app)
    if test_config is not None:
        app.config.update(test_config)
    _ensure_secret(app)
    work_mem = app.config.get("MHI_REPORT_WORK_MEM")
    if work_mem:
        from mhi.reports.queries import WORK_MEM_PATTERN

        if not WORK_MEM_PATTERN.fullmatch(str(work_mem)):
            raise RuntimeError(f"MHI_REPORT_WORK_MEM is a size such as 128MB or 1GB, not {work_mem!r}")
    if app.config.get("MHI_REPORTING_DATABASE_URL"):  # reports read from this replica (mhi/core/db.py)
        app.config["MHI_REPORTING_DATABASE_URL"] = normalise_database_url(app.config["MHI_REPORTING_DATABASE_URL"])

    import_models()
    from mhi.core import db as db_module
    from mhi.core import jobs, web

    web.init_app(app)
    db_module.init_reporting(app)
    jobs.init_app(app)
    for module in _feature_modules():
        module.init_app(app)
    return app


MODEL_MODULES = (
    "mhi.core.audit",
    "mhi.core.numbering",
    "mhi.core.jobs",
    "mhi.core.storage",
    "mhi.auth.models",
    "mhi.auth.tokens",
    "mhi.schemes.models",
    "mhi.governance.models",
    "mhi.members.models",
    "mhi.contributions.models",
    "mhi.contributions.period_totals",
    "mhi.contributions.coverage_totals",
    "mhi.payments.models",
    "mhi.messaging.models",
    "mhi.subsidies.models",
    "mhi.claims.models",
    "mhi.claims.totals",
    "mhi.pooling.models",
    "mhi.feasibility.models",
    "mhi.reports.models",
)


def import_models() -> None:
    """Import every feature's models so the metadata (and Alembic's autogenerate) sees all tables."""
    import importlib

    for name in MODEL_MODULES:
        importlib.import_module(name)


def _apply_environment(app: Flask) -> None:
    """Environment variables win over instance/config.py (twelve-factor deployments)."""
    url = os.environ.get("MHI_DATABASE_URL")
    if url:
        app.config["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(url)
    if os.environ.get("MHI_SECRET_KEY"):
        app.config["SECRET_KEY"] = os.environ["MHI_SECRET_KEY"]
    # The job queue (redis://… when several machines serve), the shared file directory (mhi/core/jobs.py) and
    # the reporting replica the report views read from (mhi/core/db.py).
    for variable, key in (
        ("MHI_QUEUE_URL", "QUEUE_URL"),
        ("MHI_STORAGE_DIR", "STORAGE_DIR"),
        ("MHI_REPORTING_DATABASE_URL", "MHI_REPORTING_DATABASE_URL"),
        ("MHI_REPORT_WORK_MEM", "MHI_REPORT_WORK_MEM"),
    ):
        if os.environ.get(variable):
            app.config[key] = os.environ[variable]
    if os.environ.get("MHI_MAX_ATTACHMENT_BYTES"):
        app.config["MHI_MAX_ATTACHMENT_BYTES"] = int(os.environ["MHI_MAX_ATTACHMENT_BYTES"])
    if app.config["MHI_ENV"] == "production":
        app.config["SESSION_COOKIE_SECURE"] = True
        app.config["REMEMBER_COOKIE_SECURE"] = True
    app.config["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(app.config["SQLALCHEMY_DATABASE_URI"])


def normalise_database_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL URLs written the usual way (postgresql:// or postgres://)."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _ensure_secret(app: Flask) -> None:
    """A production server without MHI_SECRET_KEY refuses to start; elsewhere a key is kept in instance/."""
    if app.config.get("SECRET_KEY"):
        return
    if app.config["MHI_ENV"] == "production":
        raise RuntimeError("MHI_SECRET_KEY is not set: a production server needs its own secret key")
    # Development and the command line: one key per installation, kept on disk so that several workers and
    # restarts share it (the application keeps no state in a process).
    key_file = Path(app.instance_path) / "secret_key"
    key_file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if not key_file.exists():
        key_file.write_text(secrets.token_hex(32))
        key_file.chmod(0o600)
    app.config["SECRET_KEY"] = key_file.read_text().strip()


def _feature_modules() -> list:
    """Every feature's blueprint (views) and commands (cli), in the import order of STYLE.md. Listed by hand:
    a feature that is not here is not part of the application."""
    from mhi.api import views as api_views
    from mhi.audit import views as audit_views
    from mhi.auth import cli as auth_cli
    from mhi.auth import views as auth_views
    from mhi.cards import cli as cards_cli
    from mhi.cards import views as cards_views
    from mhi.claims import cli as claims_cli
    from mhi.claims import views as claims_views
    from mhi.contributions import cli as contributions_cli
    from mhi.contributions import views as contributions_views
    from mhi.demo import cli as demo_cli
    from mhi.feasibility import cli as feasibility_cli
    from mhi.feasibility import views as feasibility_views
    from mhi.fhir import views as fhir_views
    from mhi.governance import views as governance_views
    from mhi.home import views as home_views
    from mhi.members import cli as members_cli
    from mhi.members import views as members_views
    from mhi.messaging import cli as messaging_cli
    from mhi.messaging import views as messaging_views
    from mhi.payments import cli as payments_cli
    from mhi.payments import views as payments_views
    from mhi.pooling import cli as pooling_cli
    from mhi.pooling import views as pooling_views
    from mhi.reports import cli as reports_cli
    from mhi.reports import views as reports_views
    from mhi.schemes import cli as schemes_cli
    from mhi.schemes import setup_views
    from mhi.schemes import views as schemes_views
    from mhi.subsidies import cli as subsidies_cli
    from mhi.subsidies import views as subsidies_views

    return [
        auth_views, auth_cli, schemes_views, setup_views, governance_views, schemes_cli, members_views, members_cli, contributions_views,
        contributions_cli, payments_views, payments_cli, subsidies_views, subsidies_cli, claims_views, claims_cli, messaging_views, messaging_cli, pooling_views, pooling_cli,
        reports_views, reports_cli, cards_views, cards_cli, feasibility_views, feasibility_cli, audit_views,
        home_views, demo_cli, api_views, fhir_views,
    ]  # fmt: skip
