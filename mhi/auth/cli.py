"""``flask --app mhi user create EMAIL --role ROLE [--scheme CODE | --federation CODE]`` (cli.md)."""

from __future__ import annotations

import sys

import click
from sqlalchemy import select

from mhi.auth.models import ROLES
from mhi.auth.services import AccountError, create_user
from mhi.core.cli import Rejected, info, user_group
from mhi.core.db import db


@user_group.command("create")
@click.argument("email")
@click.option("--role", required=True, type=click.Choice(ROLES))
@click.option("--scheme", "scheme_code", help="scheme code (scheme roles)")
@click.option("--federation", "federation_code", help="federation code (federation_reviewer)")
@click.option("--name", default="")
@click.option("--locale", default="en", type=click.Choice(["en", "fr"]))
def create_command(email, role, scheme_code, federation_code, name, locale):
    """Create a login; the password is read from stdin (one line)."""
    from mhi.schemes.models import Federation, Scheme

    scheme = federation = None
    if scheme_code:
        scheme = db.session.scalar(select(Scheme).where(Scheme.code == scheme_code))
        if scheme is None:
            raise Rejected(f"no scheme {scheme_code}")
    if federation_code:
        federation = db.session.scalar(select(Federation).where(Federation.code == federation_code))
        if federation is None:
            raise Rejected(f"no federation {federation_code}")
    if sys.stdin.isatty():
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True, err=True)
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    try:
        create_user(db.session, email, role, password, scheme=scheme, federation=federation, name=name, locale=locale)
    except AccountError as exc:
        db.session.rollback()
        raise Rejected(str(exc)) from exc
    db.session.commit()
    info(f"user {email.strip().lower()} created ({role})")


def init_app(app) -> None:
    """Commands are registered on the shared ``user`` group at import; nothing else to do."""
