"""The command-line groups of cli.md; each feature adds its commands to them in its own ``cli.py``.

Exit codes (conventions.md): 0 success, 1 rejected input (nothing written), 2 usage error (click's own).
Messages go to stderr; with ``--format json`` stdout carries one JSON document and nothing else.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click
from flask.cli import AppGroup, with_appcontext

import_group = AppGroup("import", help="Import a scheme's CSV files (data-formats.md).")
claims_group = AppGroup("claims", help="Claims: export decisions.")
report_group = AppGroup("report", help="Monitoring reports (indicators.md).")
pool_group = AppGroup("pool", help="Federation guarantee pool (pooling.md).")
feasibility_group = AppGroup("feasibility", help="Feasibility studies (feasibility.md).")
user_group = AppGroup("user", help="User accounts.")
federation_group = AppGroup("federation", help="Federations.")
scheme_group = AppGroup("scheme", help="Schemes.")
export_group = AppGroup("export", help="Export a whole scheme as files (data-formats.md).")

GROUPS = (
    import_group,
    claims_group,
    report_group,
    pool_group,
    feasibility_group,
    user_group,
    federation_group,
    scheme_group,
    export_group,
)


class Rejected(click.ClickException):
    """Rejected input: the message goes to stderr and the command exits 1 having written nothing."""

    exit_code = 1

    def show(self, file=None) -> None:
        click.echo(f"Error: {self.format_message()}", err=True)


def info(message: str) -> None:
    """A message for the person at the terminal (stderr, so stdout stays clean for data)."""
    click.echo(message, err=True)


def emit_json(document: Any) -> None:
    """Write one JSON document on stdout (no floats for money: callers pass amounts as strings)."""
    sys.stdout.write(json.dumps(document, ensure_ascii=False, indent=2) + "\n")


@click.command("backup")
@click.argument("file", type=click.Path(dir_okay=False))
@with_appcontext
def backup_command(file):
    """Back up the SQLite database to FILE while the application runs (PostgreSQL: use pg_dump)."""
    from flask import current_app

    from mhi.core import backup

    try:
        result = backup.backup(current_app.config["SQLALCHEMY_DATABASE_URI"], Path(file))
    except backup.BackupRefused as exc:
        raise Rejected(str(exc)) from exc
    info(f"backup written to {result.path} ({result.size} bytes, migration revision {result.revision})")


@click.command("restore")
@click.argument("file", type=click.Path(dir_okay=False))
@with_appcontext
def restore_command(file):
    """Replace the SQLite database with the backup FILE (PostgreSQL: use pg_restore).

    The backup must be an mhi database at this version's migration revision. The database's content before
    the restore is kept beside it (<database>.before-restore-<time>).
    """
    from flask import current_app

    from mhi.core import backup
    from mhi.core.db import db

    try:
        result = backup.restore(current_app.config["SQLALCHEMY_DATABASE_URI"], Path(file))
    except backup.BackupRefused as exc:
        raise Rejected(str(exc)) from exc
    db.engine.dispose()  # connections of this process opened before the restore must not be reused
    info(f"database {result.path} restored from {file} (migration revision {result.revision})")
    if result.safety_copy is not None:
        info(f"its previous content is kept in {result.safety_copy}")


def init_app(app) -> None:
    """Register the groups and the backup commands on the app's CLI."""
    for group in GROUPS:
        app.cli.add_command(group)
    app.cli.add_command(backup_command)
    app.cli.add_command(restore_command)
