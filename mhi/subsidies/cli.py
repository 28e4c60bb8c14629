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


@funder_group.command("follow")
@click.argument("email")
@click.option("--scheme", "scheme_code", required=True, help="The scheme's code.")
@click.option("--programme", "programme_code", required=True, help="The programme's code in that scheme.")
def follow_command(email, scheme_code, programme_code):
    """Let the funder account EMAIL follow a programme of a scheme (run once per scheme)."""
    from sqlalchemy import select

    from mhi.auth.models import User
    from mhi.core.cli import Rejected, info
    from mhi.core.db import db
    from mhi.schemes.models import Scheme, SubsidyProgramme
    from mhi.subsidies.claims import ClaimError
    from mhi.subsidies.funders import bind_programme

    session = db.session
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    programme = session.scalar(
        select(SubsidyProgramme)
        .join(Scheme, Scheme.id == SubsidyProgramme.scheme_id)
        .where(Scheme.code == scheme_code, SubsidyProgramme.code == programme_code)
    )
    if user is None:
        raise Rejected(f"no account {email}")
    if programme is None:
        raise Rejected(f"scheme {scheme_code} has no programme {programme_code}")
    try:
        bind_programme(session, user, programme)
    except ClaimError as exc:
        raise Rejected(str(exc)) from exc
    session.commit()
    info(f"{user.email} follows {programme_code} of {scheme_code}")


def init_app(app) -> None:
    """The import command is registered on the shared ``import`` group at import; ``funder`` is added here."""
    app.cli.add_command(funder_group)
