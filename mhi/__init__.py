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

    import_models()
    from mhi.core import web

    web.init_app(app)
    for module_name in (
        "auth",
        "schemes",
        "members",
        "contributions",
        "subsidies",
        "claims",
        "pooling",
        "reports",
        "cards",
        "feasibility",
        "audit",
        "home",
        "demo",
    ):
        _init_feature(app, module_name)
    return app


MODEL_MODULES = (
    "mhi.core.audit",
    "mhi.auth.models",
    "mhi.schemes.models",
    "mhi.members.models",
    "mhi.contributions.models",
    "mhi.subsidies.models",
    "mhi.claims.models",
    "mhi.pooling.models",
    "mhi.feasibility.models",
    "mhi.reports.models",
    "mhi.cards.models",
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
    key_file.parent.mkdir(parents=True, exist_ok=True)
    if not key_file.exists():
        key_file.write_text(secrets.token_hex(32))
        key_file.chmod(0o600)
    app.config["SECRET_KEY"] = key_file.read_text().strip()


def _init_feature(app: Flask, module_name: str) -> None:
    """Call ``mhi.<feature>.web.init_app`` and ``mhi.<feature>.cli.init_app`` where the feature has them."""
    import importlib

    for part in ("views", "cli"):
        try:
            module = importlib.import_module(f"mhi.{module_name}.{part}")
        except ModuleNotFoundError as exc:
            if exc.name != f"mhi.{module_name}.{part}" and exc.name != f"mhi.{module_name}":
                raise
            continue
        module.init_app(app)
