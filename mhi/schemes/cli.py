"""``federation load FILE`` and ``scheme load FILE`` (cli.md)."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import click

from mhi.core.cli import Rejected, federation_group, info, scheme_group
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


def _run(loader, path: str, what: str) -> None:
    data = read_json_file(path)
    try:
        summary = loader(db.session, data, today=date.today(), file=Path(path).name)
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
@click.argument("file", type=click.Path(dir_okay=False))
def scheme_load(file):
    """Load or update a scheme from scheme.json."""
    _run(load_scheme, file, "scheme")


def init_app(app) -> None:
    """Commands are registered on the shared groups at import."""
