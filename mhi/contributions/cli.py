"""``import contributions --scheme CODE FILE [--dry-run] [--format json]`` (cli.md): contributions.csv, CSV or XLSX."""

from __future__ import annotations

import click

from mhi.contributions.imports import import_contributions
from mhi.core.cli import import_group
from mhi.schemes.imports import run_import_command


@import_group.command("contributions")
@click.option("--scheme", "scheme_code", required=True, help="The scheme's code.")
@click.option("--dry-run", is_flag=True, help="Validate and report; write nothing.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
def contributions_command(scheme_code, dry_run, fmt, file):
    """Import contributions.csv (data-formats.md): the whole file or nothing."""
    run_import_command("contributions", import_contributions, scheme_code, file, dry_run=dry_run, fmt=fmt)


def init_app(app) -> None:
    """The command is registered on the shared ``import`` group at import."""
