"""``federation load FILE`` and ``scheme load FILE`` (cli.md)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import click

from mhi.core import clock
from mhi.core.cli import Rejected, federation_group, import_group, info, scheme_group
from mhi.core.db import db
from mhi.core.validation import InputRejected
from mhi.schemes.services import load_federation, load_scheme


def read_json_file(path: str):
    """Parse a JSON file (BOM accepted) with exact decimals; a reading error is rejected input."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
        return json.loads(text, parse_float=Decimal)
    except (OSError, UnicodeDecodeError) as exc:
        raise Rejected(f"{path}: cannot read the file ({exc})") from exc
    except json.JSONDecodeError as exc:
        raise Rejected(f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from exc


def _run(loader, path: str, what: str, **options) -> None:
    data = read_json_file(path)
    try:
        summary = loader(db.session, data, today=clock.today(), file=Path(path).name, **options)
    except InputRejected as exc:
        db.session.rollback()
        for problem in exc.problems:
            info(str(problem))
        raise Rejected(f"{path}: {len(exc.problems)} problem(s), nothing loaded") from exc
    db.session.commit()
    info(f"{what} {data.get('code')}: {summary.describe()}")


@federation_group.command("load")
@click.argument("file", type=click.Path(dir_okay=False))
def federation_load(file):
    """Load or update a federation from federation.json."""
    _run(load_federation, file, "federation")


@scheme_group.command("load")
@click.option(
    "--effective-from",
    "effective_from",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="The day changed products and programmes take effect (YYYY-MM-DD; default: today).",
)
@click.argument("file", type=click.Path(dir_okay=False))
def scheme_load(effective_from, file):
    """Load or update a scheme from scheme.json; changed products and programmes take effect from a date."""
    _run(load_scheme, file, "scheme", effective_from=effective_from.date() if effective_from else None)


def init_app(app) -> None:
    """Commands are registered on the shared groups at import."""


@import_group.command("expenses")
@click.option("--scheme", "scheme_code", required=True, help="The scheme's code.")
@click.option("--dry-run", is_flag=True, help="Validate and report; write nothing.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
def import_expenses_command(scheme_code, dry_run, fmt, file):
    """Import expenses.csv (data-formats.md): the whole file or nothing."""
    from mhi.schemes.imports import import_expenses, run_import_command

    run_import_command("expenses", import_expenses, scheme_code, file, dry_run=dry_run, fmt=fmt)
