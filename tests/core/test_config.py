"""Configuration: defaults, then instance/config.py, then MHI_* environment variables (README "Configuration").

``create_app`` takes its instance folder from ``mhi.ROOT``; the tests point that at a temporary folder so the
real instance/ (the developer's database, key and settings) is neither read nor written.
"""

from __future__ import annotations

import pytest

import mhi
from mhi import create_app, normalise_database_url


@pytest.fixture
def instance_root(tmp_path, monkeypatch):
    """A project root whose instance/ folder is empty, and an environment with no MHI_* variable."""
    monkeypatch.setattr(mhi, "ROOT", tmp_path)
    (tmp_path / "instance").mkdir()
    for name in ("MHI_ENV", "MHI_SECRET_KEY", "MHI_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def test_production_without_secret_key_refuses_to_start(instance_root, monkeypatch):
    monkeypatch.setenv("MHI_ENV", "production")

    with pytest.raises(RuntimeError, match="MHI_SECRET_KEY"):
        create_app()

    assert not (instance_root / "instance" / "secret_key").exists()


def test_production_with_secret_key_starts_with_secure_cookies(instance_root, monkeypatch):
    monkeypatch.setenv("MHI_ENV", "production")
    monkeypatch.setenv("MHI_SECRET_KEY", "a-long-random-production-key")

    app = create_app()

    assert app.config["SECRET_KEY"] == "a-long-random-production-key"
    assert app.config["SESSION_COOKIE_SECURE"] is True


def test_development_keeps_one_generated_key_in_the_instance_folder(instance_root):
    first = create_app().config["SECRET_KEY"]
    second = create_app().config["SECRET_KEY"]

    key_file = instance_root / "instance" / "secret_key"
    assert first == second == key_file.read_text().strip()
    assert len(first) >= 32
    assert key_file.stat().st_mode & 0o077 == 0


@pytest.mark.parametrize(
    ("given", "used"),
    [
        ("postgres://mhi:pw@db.example:5432/mhi", "postgresql+psycopg://mhi:pw@db.example:5432/mhi"),
        ("postgresql://mhi@localhost/mhi", "postgresql+psycopg://mhi@localhost/mhi"),
        ("postgresql+psycopg://mhi@localhost/mhi", "postgresql+psycopg://mhi@localhost/mhi"),
        ("sqlite:////var/lib/mhi/mhi.sqlite", "sqlite:////var/lib/mhi/mhi.sqlite"),
    ],
)
def test_database_urls_are_normalised_to_psycopg(given, used):
    assert normalise_database_url(given) == used


def test_database_url_from_the_environment(instance_root, monkeypatch):
    monkeypatch.setenv("MHI_DATABASE_URL", "postgres://mhi@db.example/mhi")

    app = create_app()

    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://mhi@db.example/mhi"


def test_instance_config_is_read_and_the_environment_wins(instance_root, monkeypatch):
    database = instance_root / "from-config.sqlite"
    (instance_root / "instance" / "config.py").write_text(
        f'SQLALCHEMY_DATABASE_URI = "sqlite:///{database}"\n'
        'SECRET_KEY = "key-from-instance-config"\n'
        'BABEL_DEFAULT_LOCALE = "fr"\n'
    )

    app = create_app()

    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{database}"
    assert app.config["SECRET_KEY"] == "key-from-instance-config"
    assert app.config["BABEL_DEFAULT_LOCALE"] == "fr"
    assert not (instance_root / "instance" / "secret_key").exists()

    monkeypatch.setenv("MHI_SECRET_KEY", "key-from-environment")
    monkeypatch.setenv("MHI_DATABASE_URL", "postgres://mhi@db.example/mhi")
    app = create_app()

    assert app.config["SECRET_KEY"] == "key-from-environment"
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://mhi@db.example/mhi"
    assert app.config["BABEL_DEFAULT_LOCALE"] == "fr"


def test_default_database_is_in_the_instance_folder(instance_root):
    app = create_app()

    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{instance_root / 'instance' / 'mhi.sqlite'}"
    assert app.instance_path == str(instance_root / "instance")


def test_the_attachment_limit_is_5_mb_unless_the_environment_says_otherwise(instance_root, monkeypatch):
    monkeypatch.delenv("MHI_MAX_ATTACHMENT_BYTES", raising=False)
    assert create_app().config["MHI_MAX_ATTACHMENT_BYTES"] == 5 * 1024 * 1024

    monkeypatch.setenv("MHI_MAX_ATTACHMENT_BYTES", "1000000")
    assert create_app().config["MHI_MAX_ATTACHMENT_BYTES"] == 1_000_000
