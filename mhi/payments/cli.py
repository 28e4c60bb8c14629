"""``import statement --scheme CODE FILE [--dry-run] [--format json]`` (cli.md): an operator's statement."""

from __future__ import annotations

from pathlib import Path

import click
from sqlalchemy import select

from mhi.core.cli import Rejected, emit_json, import_group, info
from mhi.core.db import db
from mhi.core.tabular import lock_scheme_for_import
from mhi.core.validation import InputRejected
from mhi.payments.statements import import_statement, read_statement
from mhi.schemes.models import Scheme


@import_group.command("statement")
@click.option("--scheme", "scheme_code", required=True, help="The scheme's code.")
@click.option("--dry-run", is_flag=True, help="Validate and report; write nothing.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
def statement_command(scheme_code, dry_run, fmt, file):
    """Import an operator's statement (statement.csv, or the operator's own export through its saved columns):
    each line matched to a household becomes a receipt once; the others wait for a clerk."""
    session = db.session
    scheme = session.scalar(select(Scheme).where(Scheme.code == scheme_code))
    if scheme is None:
        raise Rejected(f"scheme {scheme_code} is not loaded (run `scheme load` first)")
    if not dry_run:
        lock_scheme_for_import(session, scheme)
    name = Path(file).name
    try:
        table = read_statement(Path(file).read_bytes(), name)
    except InputRejected as exc:
        for problem in exc.problems:
            info(str(problem))
        raise Rejected(f"{name}: {len(exc.problems)} problem(s), nothing imported") from exc
    result = import_statement(session, scheme, table.header, table.rows, dry_run=dry_run, file=name)
    if not result.ok:
        session.rollback()
        for problem in result.problems:
            info(str(problem))
        raise Rejected(f"{name}: {len(result.problems)} problem(s), nothing imported")
    if dry_run:
        session.rollback()
        info(result.summary() + " (dry run: nothing written)")
    else:
        session.commit()
        info(result.summary())
    if fmt == "json":
        emit_json(result.counts())


def init_app(app) -> None:
    """The command is registered on the shared ``import`` group at import."""
