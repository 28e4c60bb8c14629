"""expenses.csv (data-formats.md): the scheme's running costs, validated as a whole, added in bulk; and
``run_import_command``, the body of every ``flask import <kind> --scheme`` (it finds the scheme, so it lives here).

``reference`` unique in the scheme; ``category`` one of staff, premises, transport, printing, training, other;
``amount`` > 0; ``description`` optional. "Import behaviour": a stored reference with identical values is
``unchanged``, with other values a ``conflict``; one bad row writes nothing.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import insert, select

from mhi.core import validation as v
from mhi.core.audit import record
from mhi.core.cli import Rejected, emit_json, info
from mhi.core.db import db
from mhi.core.errors import N_
from mhi.core.tabular import (
    PREVIEW_ROWS,
    ImportResult,
    import_event,
    lock_scheme_for_import,
    new_rows,
    read_import_rows,
    read_table,
    stored_rows,
)
from mhi.core.validation import FieldError, InputRejected
from mhi.schemes.models import Expense, Scheme

REQUIRED = ("reference", "date", "category", "amount")
OPTIONAL = ("description",)
CATEGORIES = ("staff", "premises", "transport", "printing", "training", "other")
COMPARED = ("date", "category", "amount", "description")


def _description(value) -> str:
    """Free text, at most 500 characters."""
    text = (value or "").strip()
    if len(text) > 500:
        raise FieldError(N_("is longer than 500 characters"))
    return text


def import_expenses(
    session, scheme, header, rows, *, dry_run: bool, actor=None, file: str | None = None
) -> ImportResult:
    """Import expenses.csv rows into ``scheme``; nothing is written when any row is bad or ``dry_run``."""
    result = ImportResult("expenses")
    readers = {
        "reference": lambda x: v.ref(x, "reference"),
        "date": v.day,
        "category": lambda x: v.choice(x, CATEGORIES, "expense category"),
        "amount": lambda x: v.amount(x, scheme.currency, positive=True),
        "description": _description,
    }
    parsed = read_import_rows(
        result, header, rows, readers, required=REQUIRED, optional=OPTIONAL, key="reference", file=file
    )
    if parsed is None:
        return result
    stored = {
        row.reference: row._asdict()
        for row in stored_rows(
            session,
            select(Expense.reference, Expense.date, Expense.category, Expense.amount, Expense.description).where(
                Expense.scheme_id == scheme.id
            ),
            Expense.reference,
            [values["reference"] for _, values in parsed],
        )
    }
    to_add = new_rows(result, parsed, stored, key="reference", compared=COMPARED, file=file)
    if result.problems:
        return result
    result.added = len(to_add)
    result.preview = to_add[:PREVIEW_ROWS]
    if dry_run or not to_add:
        return result
    session.execute(insert(Expense), [{"scheme_id": scheme.id, **values} for values in to_add])
    record(session, **import_event(scheme, result, actor=actor, action="expenses", file=file))
    result.written = True
    return result


def run_import_command(
    kind: str, importer, scheme_code: str, path: str, *, dry_run: bool, fmt: str, allow_duplicates: bool = True
) -> None:
    """The body of every ``flask import <kind>`` command (cli.md): read, import, commit or reject.

    Problems go to stderr, one per line, and the command exits 1 having written nothing; otherwise the summary
    goes to stderr and, with ``--format json``, ``{"added": N, "unchanged": M}`` to stdout. Likely duplicates
    (``ImportResult.duplicates``) are refused the same way unless ``allow_duplicates`` (``--allow-duplicates``).
    """
    session = db.session
    scheme = session.scalar(select(Scheme).where(Scheme.code == scheme_code))
    if scheme is None:
        raise Rejected(f"scheme {scheme_code} is not loaded (run `scheme load` first)")
    if not dry_run:
        lock_scheme_for_import(session, scheme)
    name = Path(path).name
    try:
        table = read_table(path)
    except InputRejected as exc:
        for problem in exc.problems:
            info(str(problem))
        raise Rejected(f"{name}: {len(exc.problems)} problem(s), nothing imported") from exc
    options = {} if allow_duplicates else {"allow_duplicates": False}
    result = importer(session, scheme, table.header, table.rows, dry_run=dry_run, actor=None, file=name, **options)
    if not result.ok:
        session.rollback()
        for problem in result.problems:
            info(str(problem))
        raise Rejected(f"{name}: {len(result.problems)} problem(s), nothing imported")
    if result.duplicates and not allow_duplicates:
        session.rollback()
        for duplicate in result.duplicates:
            info(f"{name}: {duplicate.describe()}")
        raise Rejected(
            f"{name}: {len(result.duplicates)} likely duplicate(s), nothing imported"
            " (check them; if they are different people, run again with --allow-duplicates)"
        )
    if dry_run:
        session.rollback()
        info(result.summary() + " (dry run: nothing written)")
    else:
        session.commit()
        info(result.summary())
    if fmt == "json":
        emit_json({"added": result.added, "unchanged": result.unchanged})
