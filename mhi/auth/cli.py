"""``flask --app mhi user create EMAIL --role ROLE [--scheme CODE | --federation CODE | --provider CODE]`` with ``--locale``
(default: the scheme's language) and ``--no-password-change`` (the account's holder typed the password: no change
is asked at the first sign-in); ``token create EMAIL [--expires D]`` / ``token revoke EMAIL`` (cli.md)."""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup
from sqlalchemy import func, select

from mhi.auth.models import ROLES, User
from mhi.auth.services import AccountError, account_language, create_user
from mhi.core.cli import Rejected, info, user_group
from mhi.core.db import db

token_group = AppGroup("token", help="API tokens (shown once, stored hashed).")


@user_group.command("create")
@click.argument("email")
@click.option("--role", required=True, type=click.Choice(ROLES))
@click.option("--scheme", "scheme_code", help="scheme code (scheme roles)")
@click.option("--federation", "federation_code", help="federation code (federation_reviewer)")
@click.option(
    "--provider",
    "provider_code",
    help="provider code (facility); with --scheme when several schemes have a provider of that code",
)
@click.option("--name", default="")
@click.option("--locale", type=click.Choice(["en", "fr"]), help="default: the scheme's language, else the instance's")
@click.option(
    "--password-change/--no-password-change",
    default=True,
    show_default=True,
    help="ask for a new password at the first sign-in (--no-password-change when the holder chose this one)",
)
def create_command(email, role, scheme_code, federation_code, provider_code, name, locale, password_change):
    """Create a login; the password is read from stdin (one line). The role is always given (no default)."""
    from flask import current_app

    from mhi.schemes.models import Federation, Provider, Scheme

    scheme = federation = provider = None
    if scheme_code:
        scheme = db.session.scalar(select(Scheme).where(Scheme.code == scheme_code))
        if scheme is None:
            raise Rejected(f"no scheme {scheme_code}")
    if federation_code:
        federation = db.session.scalar(select(Federation).where(Federation.code == federation_code))
        if federation is None:
            raise Rejected(f"no federation {federation_code}")
    if provider_code:
        query = select(Provider).where(Provider.code == provider_code)
        if scheme is not None:
            query = query.where(Provider.scheme_id == scheme.id)
        found = db.session.scalars(query).all()
        if not found:
            raise Rejected(f"no provider {provider_code}" + (f" in scheme {scheme.code}" if scheme else ""))
        if len(found) > 1:
            raise Rejected(f"several schemes have a provider {provider_code}: give --scheme too")
        provider = found[0]
    if sys.stdin.isatty():
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True, err=True)
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    locale = locale or account_language(
        db.session,
        scheme or (provider.scheme if provider else None),
        federation,
        current_app.config["LANGUAGES"],
        current_app.config["BABEL_DEFAULT_LOCALE"],
    )
    try:
        create_user(
            db.session,
            email,
            role,
            password,
            scheme=scheme,
            federation=federation,
            provider=provider,
            name=name,
            locale=locale,
            must_change_password=password_change,
        )
    except AccountError as exc:
        db.session.rollback()
        raise Rejected(str(exc)) from exc
    db.session.commit()
    info(f"user {email.strip().lower()} created ({role})")


def _account(email: str) -> User:
    """The account with ``email`` (as accounts store it), else a rejection."""
    user = db.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))
    if user is None:
        raise Rejected(f"no account {email.strip().lower()}")
    return user


TOKEN_REFUSALS = {
    "inactive": "the account is deactivated",
    "expiry_past": "the expiry day {day} is already past",
    "expiry_too_far": "a token lasts at most {days} days",
}


@token_group.command("create")
@click.argument("email")
@click.option("--expires", type=click.DateTime(formats=["%Y-%m-%d"]), help="last day the token is accepted")
def token_create_command(email, expires):
    """Print a new API token for the account (stdout; shown this once, only its hash is kept)."""
    from mhi.auth.tokens import TokenError, create_token

    user = _account(email)
    try:
        token, secret = create_token(db.session, user, expires_on=expires.date() if expires else None)
    except TokenError as exc:
        db.session.rollback()
        raise Rejected(TOKEN_REFUSALS[exc.message_id].format(**exc.params)) from exc
    db.session.commit()
    info(f"token for {user.email} ({user.role}), valid until {token.expires_on.isoformat()}; it is not shown again")
    click.echo(secret)


@token_group.command("revoke")
@click.argument("email")
def token_revoke_command(email):
    """Revoke every token of the account."""
    from mhi.auth.tokens import revoke_tokens

    user = _account(email)
    count = revoke_tokens(db.session, user)
    db.session.commit()
    info(f"{count} token(s) of {user.email} revoked")


def init_app(app) -> None:
    """``user`` commands are on the shared group (registered by core); the ``token`` group is added here."""
    app.cli.add_command(token_group)
