"""``import claims --scheme CODE FILE`` and ``claims export --scheme CODE [--from D --to D]`` (cli.md)."""

from __future__ import annotations

import click
from sqlalchemy import select

from mhi.claims.imports import import_claims
from mhi.claims.queries import export_csv
from mhi.core.cli import Rejected, claims_group, import_group
from mhi.core.dates import DateError, parse_date
from mhi.core.db import db
from mhi.schemes.imports import run_import_command
from mhi.schemes.models import Scheme


@import_group.command("claims")
@click.option("--scheme", "scheme_code", required=True, help="The scheme's code.")
@click.option("--dry-run", is_flag=True, help="Validate and decide, report, write nothing.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@click.argument("file", type=click.Path(dir_okay=False))
def import_claims_command(scheme_code, dry_run, fmt, file):
    """Import claims.csv, each new claim decided as it is imported (adjudication.md)."""
    run_import_command("claims", import_claims, scheme_code, file, dry_run=dry_run, fmt=fmt)


def _day_option(ctx, param, value):
    """A --from/--to date; a bad one is a usage error (exit 2)."""
    if value is None:
        return None
    try:
        return parse_date(value)
    except DateError as exc:
        raise click.BadParameter(str(exc)) from exc


@claims_group.command("export")
@click.option("--scheme", "scheme_code", required=True, help="The scheme's code.")
@click.option("--from", "date_from", callback=_day_option, help="First date of service (YYYY-MM-DD).")
@click.option("--to", "date_to", callback=_day_option, help="Last date of service (YYYY-MM-DD).")
def export_command(scheme_code, date_from, date_to):
    """Print the claims and their decisions as CSV on stdout (cli.md)."""
    scheme = db.session.scalar(select(Scheme).where(Scheme.code == scheme_code))
    if scheme is None:
        raise Rejected(f"scheme {scheme_code} is not loaded (run `scheme load` first)")
    click.echo(export_csv(db.session, scheme, date_from, date_to), nl=False)


def init_app(app) -> None:
    """Commands are registered on the shared groups at import."""
