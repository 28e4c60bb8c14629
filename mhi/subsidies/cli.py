"""``import subsidy-receipts --scheme CODE FILE [--dry-run] [--format json]`` (cli.md): subsidy_receipts.csv, CSV or XLSX."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from mhi.core.cli import import_group
from mhi.schemes.imports import run_import_command
from mhi.subsidies.imports import import_subsidy_receipts


@import_group.command("subsidy-receipts")
@click.option("--scheme", "scheme_code", required=True, help="The scheme's code.")
@click.option("--dry-run", is_flag=True, help="Validate and report; write nothing.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
def subsidy_receipts_command(scheme_code, dry_run, fmt, file):
    """Import subsidy_receipts.csv (data-formats.md): the whole file or nothing."""
    run_import_command("subsidy-receipts", import_subsidy_receipts, scheme_code, file, dry_run=dry_run, fmt=fmt)


funder_group = AppGroup("funder", help="Funders' accounts and the programmes they follow.")


def _account_and_programme(email: str, scheme_code: str, programme_code: str):
    """The account and the programme the command names; Rejected when either is unknown."""
    from mhi.core.cli import Rejected
    from mhi.core.db import db
    from mhi.subsidies.funders import find_account, find_programme

    user = find_account(db.session, email)
    if user is None:
        raise Rejected(f"no account {email}")
    programme = find_programme(db.session, scheme_code, programme_code)
    if programme is None:
        raise Rejected(f"scheme {scheme_code} has no programme {programme_code}")
    return user, programme


@funder_group.command("follow")
@click.argument("email")
@click.option("--scheme", "scheme_code", required=True, help="The scheme's code.")
@click.option("--programme", "programme_code", required=True, help="The programme's code in that scheme.")
def follow_command(email, scheme_code, programme_code):
    """Let the funder account EMAIL follow a programme of a scheme (run once per scheme)."""
    from mhi.core.cli import Rejected, info
    from mhi.core.db import db
    from mhi.subsidies.claims import ClaimError
    from mhi.subsidies.funders import bind_programme

    user, programme = _account_and_programme(email, scheme_code, programme_code)
    try:
        bind_programme(db.session, user, programme)
    except ClaimError as exc:
        raise Rejected(str(exc)) from exc
    db.session.commit()
    info(f"{user.email} follows {programme_code} of {scheme_code}")


@funder_group.command("unfollow")
@click.argument("email")
@click.option("--scheme", "scheme_code", required=True, help="The scheme's code.")
@click.option("--programme", "programme_code", required=True, help="The programme's code in that scheme.")
def unfollow_command(email, scheme_code, programme_code):
    """The funder account EMAIL stops following a programme of a scheme."""
    from mhi.core.cli import Rejected, info
    from mhi.core.db import db
    from mhi.subsidies.claims import ClaimError
    from mhi.subsidies.funders import unbind_programme

    user, programme = _account_and_programme(email, scheme_code, programme_code)
    try:
        unbind_programme(db.session, user, programme)
    except ClaimError as exc:
        raise Rejected(str(exc)) from exc
    db.session.commit()
    info(f"{user.email} no longer follows {programme_code} of {scheme_code}")


def init_app(app) -> None:
    """The import command is registered on the shared ``import`` group at import; ``funder`` is added here."""
    app.cli.add_command(funder_group)
