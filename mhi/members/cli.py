"""``import members`` and ``import categories --scheme CODE FILE [--dry-run] [--format json]`` (cli.md):
members.csv and categories.csv, CSV or XLSX; ``import product-changes`` likewise (product_changes.csv); ``import members`` also takes ``--allow-duplicates`` (issue 12)."""

from __future__ import annotations

import click

from mhi.claims.product_changes import import_product_changes
from mhi.contributions.imports import import_category_changes, import_register
from mhi.core.cli import import_group
from mhi.schemes.imports import run_import_command


@import_group.command("members")
@click.option("--scheme", "scheme_code", required=True, help="The scheme's code.")
@click.option("--dry-run", is_flag=True, help="Validate and report; write nothing.")
@click.option(
    "--allow-duplicates",
    is_flag=True,
    help="Import even though some persons look like people already in the register or in the file.",
)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
def members_command(scheme_code, dry_run, allow_duplicates, fmt, file):
    """Import members.csv (data-formats.md): the whole file or nothing. Likely duplicates (same national id,
    phone, names and date of birth, or a similar name in the same village) refuse the file, listed, unless
    --allow-duplicates."""
    run_import_command(
        "members", import_register, scheme_code, file, dry_run=dry_run, fmt=fmt, allow_duplicates=allow_duplicates
    )


@import_group.command("categories")
@click.option("--scheme", "scheme_code", required=True, help="The scheme's code.")
@click.option("--dry-run", is_flag=True, help="Validate and report; write nothing.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
def categories_command(scheme_code, dry_run, fmt, file):
    """Import categories.csv (data-formats.md): households' categories from a date on; the whole file or nothing."""
    run_import_command("categories", import_category_changes, scheme_code, file, dry_run=dry_run, fmt=fmt)


@import_group.command("product-changes")
@click.option("--scheme", "scheme_code", required=True, help="The scheme's code.")
@click.option("--dry-run", is_flag=True, help="Validate and report; write nothing.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
def product_changes_command(scheme_code, dry_run, fmt, file):
    """Import product_changes.csv (docs/decisions.md): households moved to another product from a date on; the
    whole file or nothing."""
    run_import_command("product-changes", import_product_changes, scheme_code, file, dry_run=dry_run, fmt=fmt)


def init_app(app) -> None:
    """The command is registered on the shared ``import`` group at import."""
