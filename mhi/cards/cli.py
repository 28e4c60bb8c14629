"""``cards``, ``statement`` and ``statements`` (cli.md): member cards, a household's statement and a statement
run (many households' statements in one PDF, the same function as the web's background job), written to a PDF.

``cards`` prints everyone by default, or one household (``--household``), a village (``--village``) or everyone
enrolled since a date (``--since``); at most one of the three. Exit codes as in conventions.md: 1 when the
scheme, the household or the selection is unknown or empty (no file written), 2 for a usage error.
"""

from __future__ import annotations

import os
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select

from mhi.cards.services import CardScopeError, card_language, make_scope, print_cards
from mhi.cards.statement import document_language, statement_pdf
from mhi.cards.statements import StatementRunError, make_run, write_statement_run
from mhi.core import clock
from mhi.core.cli import Rejected, info
from mhi.core.dates import DateError, parse_date
from mhi.core.db import db
from mhi.members.models import Household
from mhi.schemes.models import Scheme


def _date_option(ctx, param, value):
    """Click callback: an ISO date, or a usage error (exit 2) naming the option."""
    if value is None:
        return None
    try:
        return parse_date(value)
    except DateError as exc:
        raise click.BadParameter(str(exc), ctx=ctx, param=param) from exc


def _scheme(code: str) -> Scheme:
    """The scheme with ``code``, or rejected input."""
    scheme = db.session.scalar(select(Scheme).where(Scheme.code == code))
    if scheme is None:
        raise Rejected(f"scheme {code} is not loaded (run `scheme load` first)")
    return scheme


def _write(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file, so a failure never leaves half a PDF."""
    target = Path(path)
    temporary = target.with_name(f".{target.name}.tmp")
    try:
        temporary.write_bytes(data)
        os.replace(temporary, target)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise Rejected(f"{path}: cannot write the file ({exc.strerror or exc})") from exc


@click.command("cards")
@click.option("--scheme", "scheme_code", required=True, help="The scheme's code.")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False), help="The PDF file to write.")
@click.option("--household", "household_ref", help="Only this household's cards.")
@click.option("--village", help="Only the households of this village.")
@click.option("--since", callback=_date_option, help="Only persons enrolled on or after this date (YYYY-MM-DD).")
@with_appcontext
def cards_command(scheme_code, out, household_ref, village, since):
    """Print member cards, ten to an A4 page, one per person or per household as the scheme's settings say."""
    chosen = [
        name for name, value in (("--household", household_ref), ("--village", village), ("--since", since)) if value
    ]
    if len(chosen) > 1:
        raise click.UsageError(f"choose at most one of {', '.join(chosen)}")
    kind = {"--household": "household", "--village": "village", "--since": "since"}.get(
        chosen[0] if chosen else "", "all"
    )
    scheme = _scheme(scheme_code)
    if (
        household_ref
        and db.session.scalar(
            select(Household.id).where(Household.scheme_id == scheme.id, Household.ref == household_ref)
        )
        is None
    ):
        raise Rejected(f"household {household_ref} is not in scheme {scheme_code}")
    try:
        scope = make_scope(kind, household_ref=household_ref, village=village, since=since)
        config = current_app.config
        language = card_language(scheme, config["LANGUAGES"], config["BABEL_DEFAULT_LOCALE"])
        with force_locale(language):
            count, pdf = print_cards(db.session, scheme, scope, on=clock.today(), language=language, gettext=_)
    except CardScopeError as exc:
        raise Rejected(str(exc)) from exc
    _write(out, pdf)
    info(f"cards: {count} printed on {-(-count // 10)} page(s) to {out}")


@click.command("statement")
@click.option("--scheme", "scheme_code", required=True, help="The scheme's code.")
@click.option("--household", "household_ref", required=True, help="The household's reference.")
@click.option("--from", "date_from", required=True, callback=_date_option, help="First day (YYYY-MM-DD).")
@click.option("--to", "date_to", required=True, callback=_date_option, help="Last day (YYYY-MM-DD).")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False), help="The PDF file to write.")
@with_appcontext
def statement_command(scheme_code, household_ref, date_from, date_to, out):
    """Print a household's statement for a period, in the household's language."""
    if date_from > date_to:
        raise click.UsageError("--from is after --to")
    scheme = _scheme(scheme_code)
    household = db.session.scalar(
        select(Household).where(Household.scheme_id == scheme.id, Household.ref == household_ref)
    )
    if household is None:
        raise Rejected(f"household {household_ref} is not in scheme {scheme_code}")
    config = current_app.config
    language = document_language(household, scheme, config["LANGUAGES"], config["BABEL_DEFAULT_LOCALE"])
    with force_locale(language):
        # The command line is run by the scheme's staff on their own server: the statement is printed whole.
        pdf = statement_pdf(
            db.session, household, date_from, date_to, language=language, gettext=_, include_claims=True
        )
    db.session.rollback()  # only read
    _write(out, pdf)
    info(f"statement of {household_ref} ({date_from} to {date_to}) written to {out}")


@click.command("statements")
@click.option("--scheme", "scheme_code", required=True, help="The scheme's code.")
@click.option("--from", "date_from", required=True, callback=_date_option, help="First day (YYYY-MM-DD).")
@click.option("--to", "date_to", required=True, callback=_date_option, help="Last day (YYYY-MM-DD).")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False), help="The PDF file to write.")
@click.option("--village", help="Only the households of this village.")
@click.option("--arrears", is_flag=True, help="Only the households in arrears on the last day (the arrears list).")
@click.option("--no-decisions", "no_decisions", is_flag=True, help="Leave out the general assembly's decisions.")
@with_appcontext
def statements_command(scheme_code, date_from, date_to, out, village, arrears, no_decisions):
    """Print the statements of many households for a period in one PDF, each in its household's language."""
    if date_from > date_to:
        raise click.UsageError("--from is after --to")
    scheme = _scheme(scheme_code)
    # The command line is run by the scheme's staff on their own server: the statements are printed whole.
    run = make_run(
        date_from, date_to, village=village, arrears=arrears, decisions=not no_decisions, include_claims=True
    )
    config = current_app.config
    try:
        count, pdf = write_statement_run(
            db.session,
            scheme,
            run,
            languages=config["LANGUAGES"],
            default_language=config["BABEL_DEFAULT_LOCALE"],
            today=clock.today(),
        )
    except StatementRunError as exc:
        raise Rejected(str(exc)) from exc
    finally:
        db.session.rollback()  # only read
    _write(out, pdf)
    info(f"statements: {count} household(s) ({date_from} to {date_to}) written to {out}")


def init_app(app) -> None:
    """``cards``, ``statement`` and ``statements`` are top-level commands (cli.md)."""
    app.cli.add_command(cards_command)
    app.cli.add_command(statement_command)
    app.cli.add_command(statements_command)
