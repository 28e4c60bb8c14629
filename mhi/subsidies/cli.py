"""``import subsidy-receipts --scheme CODE FILE [--dry-run] [--format json]`` (cli.md): subsidy_receipts.csv, CSV or XLSX."""

from __future__ import annotations

import click

from mhi.core.cli import import_group
from mhi.core.tabular import run_import_command
from mhi.subsidies.imports import import_subsidy_receipts


@import_group.command("subsidy-receipts")
@click.option("--scheme", "scheme_code", required=True, help="The scheme's code.")
@click.option("--dry-run", is_flag=True, help="Validate and report; write nothing.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
def subsidy_receipts_command(scheme_code, dry_run, fmt, file):
    """Import subsidy_receipts.csv (data-formats.md): the whole file or nothing."""
    run_import_command("subsidy-receipts", import_subsidy_receipts, scheme_code, file, dry_run=dry_run, fmt=fmt)


def init_app(app) -> None:
    """The command is registered on the shared ``import`` group at import."""
