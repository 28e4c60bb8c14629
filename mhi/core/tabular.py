"""Tables in and out: reading an uploaded CSV or XLSX into a header and rows, checking its columns, the result of
an import, the import commands' shared plumbing, and formula-safe CSV writing.

data-formats.md: files are UTF-8 (a BOM is accepted), comma-separated with a header row, columns in any order;
an unknown column is an error (usually a typo); blank optional cells mean "none". conventions.md "Errors": every
problem names the file, the row (1 = first data row after the header), the column and the reason, and a file
with any problem writes nothing.
"""

from __future__ import annotations

import csv
import gc
import io
import math
import re
from collections.abc import Iterable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from mhi.core.db import lock_scheme_totals
from mhi.core.errors import Term
from mhi.core.validation import InputRejected, Problem

#: A cell is a stripped string, or None when blank.
Cell = str | None

# OWASP "CSV injection": a spreadsheet runs a cell starting with one of these as a formula.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# …except a plain number or phone number ("+221 76 352 37 08", "-500"): nothing in it can call a function.
_PLAIN_NUMBER = re.compile(r"^[+-]?[0-9][0-9 ().-]*$")


def N_(message: str) -> str:  # noqa: N802 - the conventional name of a translation marker
    """Mark ``message`` for extraction; ``Problem.translated`` translates it where it is shown."""
    return message


MB = 1024 * 1024


@dataclass(frozen=True)
class ReadLimits:
    """How much of one file an import reads before refusing it, whatever the file claims about itself.

    Set by ``MHI_IMPORT_MAX_*`` (README "Configuration"). A spreadsheet is a zip of XML files: a small file can
    declare a sheet a million cells wide or unzip to gigabytes (issue 18: 1.5 KB took 75 s and 2.6 GB), so
    its sizes are checked before any XML is parsed and its rows and cells are counted while they are streamed.
    """

    max_bytes: int = 50 * MB  # the file as sent (CSV, or the XLSX zip)
    max_rows: int = 500_000  # data rows
    max_columns: int = 100  # columns up to the last filled cell of any row
    max_cells: int = 10_000_000  # rows × columns of the table, and XML cells of a sheet (empty or not)
    max_field: int = 10_000  # characters in one cell
    max_unzipped: int = 100 * MB  # an XLSX's members once unzipped, declared and actual
    max_zip_members: int = 200  # files inside an XLSX (a workbook has about ten)
    max_shared_strings: int = 32 * MB  # an XLSX's table of texts (read whole by the spreadsheet reader)


#: Configuration name → ReadLimits field; each name is also an environment variable, which wins.
LIMIT_SETTINGS = {
    "MHI_IMPORT_MAX_BYTES": "max_bytes",
    "MHI_IMPORT_MAX_ROWS": "max_rows",
    "MHI_IMPORT_MAX_COLUMNS": "max_columns",
    "MHI_IMPORT_MAX_CELLS": "max_cells",
    "MHI_IMPORT_MAX_FIELD": "max_field",
    "MHI_IMPORT_MAX_UNZIPPED": "max_unzipped",
    "MHI_IMPORT_MAX_ZIP_MEMBERS": "max_zip_members",
    "MHI_IMPORT_MAX_SHARED_STRINGS": "max_shared_strings",
}

# Each refusal names the limit and its setting; English here, French in the catalog (Problem.translated).
LIMIT_BYTES = N_("is too large: %(size)s, the limit is %(limit)s (MHI_IMPORT_MAX_BYTES); split it into smaller files")
LIMIT_ROWS = N_("has more than %(limit)s data rows, the limit (MHI_IMPORT_MAX_ROWS); split it into smaller files")
LIMIT_COLUMNS = N_("has more than %(limit)s columns, the limit (MHI_IMPORT_MAX_COLUMNS)")
LIMIT_CELLS = N_("has more than %(limit)s cells, the limit (MHI_IMPORT_MAX_CELLS); split it into smaller files")
LIMIT_FIELD = N_("a cell is longer than %(limit)s characters, the limit (MHI_IMPORT_MAX_FIELD)")
LIMIT_UNZIPPED = N_(
    "unzips to %(size)s, more than the limit of %(limit)s (MHI_IMPORT_MAX_UNZIPPED): it is not an ordinary workbook"
)
LIMIT_ZIP_MEMBERS = N_(
    "holds %(count)s files, more than the %(limit)s an ordinary workbook may have (MHI_IMPORT_MAX_ZIP_MEMBERS)"
)
LIMIT_SHARED_STRINGS = N_(
    "its table of texts is %(size)s, more than the limit of %(limit)s (MHI_IMPORT_MAX_SHARED_STRINGS)"
)
SEPARATOR_HINT = N_(
    "has one column whose name contains %(separator)s: the file is separated by %(separator)s, not by commas. "
    'Save it again as "CSV UTF-8 (comma delimited)", or send the .xlsx workbook'
)
SEPARATORS = {";": N_("semicolons (;)"), "\t": N_("tabs")}


def init_app(app) -> None:
    """Every ``MHI_IMPORT_MAX_*`` setting: the environment, else instance/config.py, else the default."""
    import os

    defaults = ReadLimits()
    for name, attribute in LIMIT_SETTINGS.items():
        value = os.environ.get(name) or app.config.get(name) or getattr(defaults, attribute)
        app.config[name] = int(value)


def read_limits() -> ReadLimits:
    """The application's limits (defaults outside an application, e.g. a script reading a file)."""
    from flask import current_app, has_app_context

    if not has_app_context():
        return ReadLimits()
    config = current_app.config
    return ReadLimits(**{attribute: int(config[name]) for name, attribute in LIMIT_SETTINGS.items() if name in config})


def size_text(size: int) -> str:
    """A size for a message: ``20 MB``, ``1.5 MB``, ``870 KB``, ``12 bytes``."""
    if size >= MB:
        return f"{size / MB:.1f}".removesuffix(".0") + " MB"
    if size >= 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size} bytes"


def refused(message: str, filename: str | None, *, row: int | None = None, **params) -> InputRejected:
    """The refusal of a whole file for one limit (``message`` one of the LIMIT_ templates)."""
    return InputRejected([Problem(message, row=row, file=filename, params=params)])


@contextmanager
def without_cycle_collection():
    """Python's cycle collector paused for a bulk import (restored after, as it was). An import makes millions of
    small acyclic objects — rows, keys, hash buckets — that reference counting frees; the collector's full passes
    over them (and over everything the process holds) took a third of a members file's Python time, more with
    each file of a national register (issue 17). ``read_table`` pauses it too: the rows of a file read are
    hundreds of thousands of small lists, and the collector's passes over them were most of a national file's read."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _check_size(size: int, limits: ReadLimits, filename: str | None) -> None:
    """Refuse a file larger than ``max_bytes`` before reading a byte of it."""
    if size > limits.max_bytes:
        raise refused(LIMIT_BYTES, filename, size=size_text(size), limit=size_text(limits.max_bytes))


def _bounded_rows(numbered: Iterable[tuple[int, list[str]]], filename: str, limits: ReadLimits) -> list[list[str]]:
    """The raw rows of a file, within ``limits``; ``numbered`` gives (position, cells), 1 = the header row.

    Trailing blank cells and blank rows are dropped as they come (a spreadsheet may carry thousands), blank rows
    between filled ones are kept so row numbers stay those of the file. Refused at the first row past a limit:
    nothing after it is read.
    """
    rows: list[list[str]] = []
    width = 0
    max_columns, max_rows = limits.max_columns, limits.max_rows
    max_field, max_cells = limits.max_field, limits.max_cells
    # Once per row of a national file (issue 17): the limits read once, a row copied only when it ends in blanks.
    for position, raw in numbered:
        end = len(raw)
        while end and not raw[end - 1].strip():
            end -= 1
        if not end:
            continue
        cells = raw if end == len(raw) else raw[:end]
        row = position - 1 or None  # data rows are numbered from 1; the header has no number
        if end > max_columns:
            raise refused(LIMIT_COLUMNS, filename, row=row, limit=max_columns)
        if position - 1 > max_rows:
            raise refused(LIMIT_ROWS, filename, limit=max_rows)
        if max(map(len, cells)) > max_field:
            raise refused(LIMIT_FIELD, filename, row=row, limit=max_field)
        if not rows:
            width = end
        if (position - 1) * width > max_cells:
            raise refused(LIMIT_CELLS, filename, limit=max_cells)
        if position - 1 > len(rows):
            rows.extend([] for _ in range(position - 1 - len(rows)))
        rows.append(cells)
    return rows


def _separator_hint(table: Table, filename: str) -> None:
    """A CSV saved with semicolons (French Excel's default) or tabs reads as one column: say so plainly."""
    if len(table.header) != 1:
        return
    for separator, label in SEPARATORS.items():
        if separator in table.header[0]:
            from flask import has_request_context
            from flask_babel import gettext

            shown = gettext(label) if has_request_context() else label
            raise refused(SEPARATOR_HINT, filename, separator=shown)


@dataclass
class Table:
    """A file read into its column names and its data rows (cells aligned on the header)."""

    header: list[str]
    rows: list[list[Cell]]


@dataclass
class ImportResult:
    """What an import found and did. ``problems`` non-empty means the file was rejected and nothing written.

    ``preview`` holds the rows that will be (or were) added, as plain dicts, for the web upload's preview.
    """

    kind: str
    added: int = 0
    unchanged: int = 0
    problems: list[Problem] = field(default_factory=list)
    preview: list[dict[str, Any]] = field(default_factory=list)
    written: bool = False
    # Ids of the households the import wrote to: its caller refreshes their derived rows in the same transaction.
    touched: list[int] = field(default_factory=list)
    # Warnings that need the user's confirmation before the file is written (likely duplicate persons: each has
    # ``describe()``); an importer given no confirmation writes nothing when there are some.
    duplicates: list[Any] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when the file has no problem."""
        return not self.problems

    def summary(self) -> str:
        """cli.md's summary line, e.g. ``members: 1200 added, 0 unchanged``."""
        return f"{self.kind}: {self.added} added, {self.unchanged} unchanged"


def read_table(source: str | Path | bytes, filename: str | None = None, limits: ReadLimits | None = None) -> Table:
    """Read a CSV or XLSX file (by its name's extension, else by content) into a ``Table``.

    ``source`` is a path or the file's bytes (a web upload). Raises ``InputRejected`` when the file cannot be
    read at all (not UTF-8, not a spreadsheet, no header row) or goes past one of ``limits`` (the application's
    ``MHI_IMPORT_MAX_*`` settings by default): every upload and every command-line import is read through here,
    so none can make a worker read more than the limits allow.
    """
    limits = limits or read_limits()
    if isinstance(source, (str, Path)):
        path = Path(source)
        filename = filename or path.name
        try:
            size = path.stat().st_size
            _check_size(size, limits, filename)
            data = path.read_bytes()
        except OSError as exc:
            raise InputRejected(
                [Problem(N_("cannot read the file (%(strerror)s)"), file=filename, params={"strerror": exc.strerror})]
            ) from exc
    else:
        data = source
    name = filename or "file"
    _check_size(len(data), limits, name)
    # An .xlsx file is a zip archive: its first bytes say so whatever the name claims.
    with without_cycle_collection():
        if name.lower().endswith(".xlsx") or data[:4] == b"PK\x03\x04":
            return read_xlsx(data, name, limits)
        return read_csv(data, name, limits)


def read_csv(data: bytes, filename: str = "file.csv", limits: ReadLimits | None = None) -> Table:
    """Parse UTF-8 CSV bytes (BOM accepted); short rows are padded with blanks, long ones refused."""
    limits = limits or read_limits()
    _check_size(len(data), limits, filename)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputRejected(
            [
                Problem(
                    N_("is not UTF-8 text (byte %(start)s); save it as CSV UTF-8"),
                    file=filename,
                    params={"start": exc.start},
                )
            ]
        ) from exc
    if "\x00" in text:
        # Never in a text file (a binary saved as .csv), and PostgreSQL refuses it in any text column.
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise InputRejected(
            [
                Problem(
                    N_("contains a NUL byte (line %(line)s): it is not a text file"),
                    file=filename,
                    params={"line": line},
                )
            ]
        )
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        raw_rows = _bounded_rows(enumerate(reader, start=1), filename, limits)
    except csv.Error as exc:
        if "field larger than field limit" in str(exc):
            # csv's own hard limit (131072 characters) when MHI_IMPORT_MAX_FIELD is set above it.
            row = max(reader.line_num - 1, 1)
            limit = min(limits.max_field, csv.field_size_limit())
            raise refused(LIMIT_FIELD, filename, row=row, limit=limit) from exc
        raise InputRejected([Problem(N_("is not valid CSV (%(exc)s)"), file=filename, params={"exc": exc})]) from exc
    table = _to_table(raw_rows, filename)
    _separator_hint(table, filename)
    return table


def read_xlsx(data: bytes, filename: str = "file.xlsx", limits: ReadLimits | None = None) -> Table:
    """Read the first sheet of an XLSX workbook, streaming (``spreadsheet.sheet_rows``), within ``limits``."""
    from mhi.core.spreadsheet import sheet_rows

    limits = limits or read_limits()
    _check_size(len(data), limits, filename)
    rows = ((index, [_xlsx_cell(value) for value in values]) for index, values in sheet_rows(data, filename, limits))
    return _to_table(_bounded_rows(rows, filename, limits), filename)


def _xlsx_cell(value: Any) -> str:
    """A spreadsheet value as the text a CSV would carry (dates ISO, whole numbers without ``.0``)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if not math.isfinite(value):
            return repr(value)  # "inf", "nan": the column's reader says it is not an amount
        # repr gives the shortest text that reads back as this float: 1500.0 → "1500", 12.5 → "12.5".
        number = Decimal(repr(value))
        if number == number.to_integral_value():
            return format(number.to_integral_value(), "f")  # "1500"; also past Decimal's precision (1e300)
        return str(number)
    return str(value)


def _to_table(raw_rows: list[list[str]], filename: str) -> Table:
    """Header and rows with cells stripped, blanks as None; trailing empty rows dropped."""
    while raw_rows and not any(str(c).strip() for c in raw_rows[-1]):
        raw_rows.pop()
    if not raw_rows:
        raise InputRejected([Problem(N_("is empty (a header row is expected)"), file=filename)])
    header = [str(c).strip() for c in raw_rows[0]]
    while header and not header[-1]:
        header.pop()  # spreadsheets often carry empty trailing header cells
    width = len(header)
    problems: list[Problem] = []
    rows: list[list[Cell]] = []
    for number, raw in enumerate(raw_rows[1:], start=1):
        cells = [c.strip() or None for c in raw]  # CSV and XLSX cells both arrive as text
        if len(cells) > width:
            if any(cells[width:]):
                problems.append(
                    Problem(
                        N_("has %(count)s cells but the header has %(width)s columns"),
                        row=number,
                        params={"count": len(cells), "width": width},
                    )
                )
            cells = cells[:width]
        cells.extend([None] * (width - len(cells)))
        rows.append(cells)
    if problems:
        raise InputRejected([Problem(p.message, row=p.row, file=filename, params=p.params) for p in problems])
    return Table(header, rows)


def check_columns(
    header: Sequence[str], required: Sequence[str], optional: Sequence[str] = (), file: str | None = None
) -> list[Problem]:
    """data-formats.md: every required column present, no unknown column, none twice. Problems, or []."""
    problems: list[Problem] = []
    known = set(required) | set(optional)
    seen: set[str] = set()
    for name in header:
        if not name:
            problems.append(Problem(N_("a column has no name in the header row"), file=file))
        elif name not in known:
            problems.append(
                Problem(
                    N_("unknown column (a typo?); expected %(values)s"),
                    column=name,
                    file=file,
                    params={"values": ", ".join([*required, *optional])},
                )
            )
        elif name in seen:
            problems.append(Problem(N_("appears twice in the header row"), column=name, file=file))
        seen.add(name)
    for name in required:
        if name not in seen:
            problems.append(Problem(N_("required column is missing"), column=name, file=file))
    return problems


def records(header: Sequence[str], rows: Iterable[Sequence[Cell]]) -> Iterable[tuple[int, dict[str, Cell]]]:
    """(row number, {column: cell}) for each non-blank data row; numbering counts blank rows too."""
    for number, row in enumerate(rows, start=1):
        if not any(row):
            continue
        yield number, dict(zip(header, row, strict=False))


def safe_cell(value: Any) -> str:
    """A value for an exported CSV cell: text that a spreadsheet would run as a formula gets a leading quote.

    Numbers (int, Decimal) and texts that are plainly a number or a phone number are written as they are:
    ``-500`` is an amount and ``+221 76 352 37 08`` a phone, not formulas.
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, Decimal)):
        return str(value)
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    text = str(value)
    if text.startswith(_FORMULA_STARTS) and not _PLAIN_NUMBER.match(text):
        return "'" + text
    return text


def write_csv(rows: Iterable[Sequence[Any]], header: Sequence[str]) -> str:
    """A CSV document (UTF-8 text, LF line ends, quotes only where needed), safe to open in a spreadsheet."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([safe_cell(h) for h in header])
    for row in rows:
        writer.writerow([safe_cell(value) for value in row])
    return buffer.getvalue()


def lock_scheme_for_import(session, scheme) -> None:
    """On PostgreSQL, hold the scheme's import lock until the transaction ends: two imports into one scheme (the
    same file sent twice, from the command line or the web) run one after the other, and the second reads what
    the first wrote — its rows come out ``unchanged`` instead of failing on a duplicate key half-way.

    FOR NO KEY UPDATE on the scheme row: imports wait for each other, while a clerk's receipt or a claim (which
    only reference the scheme) go on. SQLite has a single writer, which serialises imports already.
    """
    from sqlalchemy import select

    if session.get_bind().dialect.name != "postgresql":
        return
    table = type(scheme).__table__
    session.execute(select(table.c.id).where(table.c.id == scheme.id).with_for_update(key_share=True)).all()
    # Then the scheme's totals lock, before the import writes anything (core/db.py ``lock_scheme_totals``): an
    # import that locked a household or a total row first could wait on a clerk who holds it.
    lock_scheme_totals(session, scheme.id)


#: How many rows an import keeps for the web preview (the counts cover every row).
PREVIEW_ROWS = 1000
#: Above this many keys, an import reads the scheme's stored keys in one scan instead of IN lists.
SCAN_ABOVE = 20000


def chunked(items: Sequence, size: int = 5000) -> Iterable[Sequence]:
    """``items`` in slices of ``size`` (IN lists stay under every database's parameter limit)."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def stored_rows(session, statement, key_column, keys: Sequence) -> list:
    """The rows of ``statement`` whose ``key_column`` is one of ``keys``: IN lists for a few keys, one scan of
    the statement (already restricted to the scheme) for many — a fixed number of queries either way."""
    if not keys:
        return []
    if len(keys) > SCAN_ABOVE:
        wanted = set(keys)
        return [row for row in session.execute(statement) if row[0] in wanted]
    rows: list = []
    for chunk in chunked(list(keys)):
        rows.extend(session.execute(statement.where(key_column.in_(chunk))))
    return rows


def parse_rows(
    header: Sequence[str],
    rows: Iterable[Sequence[Cell]],
    readers: dict,
    *,
    required: Sequence[str],
    key: str,
    problems: list[Problem],
    file: str | None = None,
) -> list[tuple[int, dict]]:
    """(row number, typed values) of every readable row; each unreadable cell, missing required cell or
    repeated natural ``key`` adds a Problem naming its row and column (conventions.md "Errors").

    ``readers`` maps a column to a function of the cell (None when blank) raising FieldError.
    """
    from mhi.core.validation import FieldError

    parsed: list[tuple[int, dict]] = []
    first_row: dict[str, int] = {}
    for number, cells in records(header, rows):
        values: dict = {}
        ok = True
        for column, reader in readers.items():
            raw = cells.get(column)
            if raw is None and column in required:
                problems.append(Problem(N_("is required"), row=number, column=column, file=file))
                ok = False
                continue
            try:
                values[column] = reader(raw)
            except FieldError as exc:
                problems.append(Problem.of(exc, row=number, column=column, file=file))
                ok = False
        natural = cells.get(key)
        if natural is not None:
            if natural in first_row:
                problems.append(
                    Problem(
                        N_("%(natural)s already appears in row %(value)s (%(key)s is unique)"),
                        row=number,
                        column=key,
                        file=file,
                        params={"natural": natural, "value": first_row[natural], "key": key},
                    )
                )
                ok = False
            else:
                first_row[natural] = number
        if ok:
            parsed.append((number, values))
    return parsed


def read_import_rows(
    result: ImportResult,
    header: Sequence[str],
    rows: Iterable[Sequence[Cell]],
    readers: dict,
    *,
    required: Sequence[str],
    optional: Sequence[str] = (),
    key: str,
    file: str | None = None,
) -> list[tuple[int, dict]] | None:
    """The first step of a simple import: check the columns, then ``parse_rows``; problems go to ``result``.

    None when the columns are wrong (data-formats.md: nothing else is worth reading then), else the parsed rows.
    """
    result.problems = check_columns(header, required, optional, file)
    if result.problems:
        return None
    return parse_rows(header, rows, readers, required=required, key=key, problems=result.problems, file=file)


def new_rows(
    result: ImportResult,
    parsed: list[tuple[int, dict]],
    stored: dict[str, dict],
    *,
    key: str,
    compared: Sequence[str],
    file: str | None = None,
    known: tuple[str, Any, str] | None = None,
) -> list[dict]:
    """The parsed rows to add, sorting out the ones already stored (data-formats.md "Import behaviour").

    A row whose ``key`` is in ``stored`` with the same ``compared`` values counts as unchanged, with other
    values it is a conflict problem. ``known`` = (column, known values, message): a new row whose column value
    is not among the known values is a problem, ``message`` a msgid with that value as ``%(value)s`` (a reference to a
    household or programme that does not exist).
    """
    to_add: list[dict] = []
    for number, values in parsed:
        existing = stored.get(values[key])
        if existing is not None:
            difference = conflict(values[key], existing, values, compared)
            if difference is None:
                result.unchanged += 1
            else:
                result.problems.append(
                    Problem(difference[1], row=number, column=difference[0], file=file, params=difference[2])
                )
            continue
        if known is not None and values[known[0]] not in known[1]:
            column, _, message = known
            result.problems.append(
                Problem(message, row=number, column=column, file=file, params={"value": values[column]})
            )
            continue
        to_add.append(values)
    return to_add


def import_event(scheme, result: ImportResult, *, actor, action: str, file: str | None, **extra) -> dict:
    """The arguments of a written import's audit row, ``record(session, **import_event(…))`` (STYLE.md: every
    financial action writes one): the file and the counts, with ``extra`` figures."""
    return {
        "actor": actor,
        "entity": "import",
        "entity_id": None,
        "scheme_id": scheme.id,
        "action": action,
        "after": {"file": file, "added": result.added, "unchanged": result.unchanged, **extra},
    }


def conflict(key_value: str, stored: dict, values: dict, columns: Sequence[str]) -> tuple[str, str, dict] | None:
    """None when ``values`` say what is ``stored``; else (column, "conflict: …" msgid, its parameters) for the
    first difference."""
    for column in columns:
        mine, theirs = values.get(column), stored.get(column)
        if (mine if mine not in ("", None) else None) != (theirs if theirs not in ("", None) else None):
            return (
                column,
                N_("conflict: %(key)s is stored with %(column)s %(stored)s, the file says %(given)s"),
                {"key": key_value, "column": column, "stored": _shown(theirs), "given": _shown(mine)},
            )
    return None


def _shown(value) -> str:
    """A value in a message: dates ISO, blanks named."""
    if value in (None, ""):
        return Term(N_("(blank)"))
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return str(value)


class _chained:
    """A first row and the iterator of the others, iterated once as one sequence (``bulk_insert``)."""

    def __init__(self, first: dict, rest):
        self.first = first
        self.rest = rest

    def __iter__(self):
        yield self.first
        yield from self.rest


def _copy(connection, table, columns: list[str], produce, *, queued: bool, meanwhile=None) -> None:
    """PostgreSQL's COPY into ``table``'s ``columns``: ``produce(write)`` calls ``write`` with each row's values
    (in column order, as the database stores them). ``queued``: the socket writes run in psycopg's worker thread
    (``QueuedLibpqWriter``, which releases the GIL while it waits), so that the main thread keeps computing rows
    (or runs ``meanwhile``) while the server ingests the ones before (issue 17: two cores at work)."""
    from psycopg.copy import QueuedLibpqWriter

    names = ", ".join(f'"{name}"' for name in columns)
    cursor = connection.connection.dbapi_connection.cursor()
    try:
        writer = QueuedLibpqWriter(cursor) if queued else None
        with cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN', writer=writer) as copy:
            produce(copy.write_row)
            if meanwhile is not None:
                meanwhile()
    finally:
        cursor.close()


def copy_stored(session, table, columns: Sequence[str], rows) -> None:
    """PostgreSQL only: COPY ``rows`` into ``table``, each a tuple of the ``columns``' *stored* values (Money as
    its integer thousandths, core/db.py), so that no column type converts them again. ``rows`` may be an iterator,
    consumed while the server ingests the rows before (``bulk_insert``'s streamed COPY). The stored ledgers' periods
    (contributions/stored.py), millions of rows in a national import, are written this way (issue 17)."""
    session.flush()

    def produce(write) -> None:
        for row in rows:
            write(row)

    _copy(session.connection(), table, list(columns), produce, queued=True)


def bulk_insert(session, table, rows, *, return_ids: bool = False, meanwhile=None) -> list[int] | None:
    """Insert ``rows`` (dicts keyed by column name, all with the same keys; a list, or an iterator that a COPY
    consumes as it goes) into ``table`` in bulk; with ``return_ids`` the new ids, in the rows' order.

    ``meanwhile`` (a function which must not use the session: its connection is busy) is called once the rows
    are handed over: on PostgreSQL inside the COPY, while psycopg's worker thread sends them and the server
    ingests them, so that Python work (the receipts import's engine, issue 17) runs on one core and the COPY on
    the other. It takes no argument, or with ``return_ids`` the new ids (the members import builds the persons'
    rows of the households being copied).

    ``session.execute(insert(table), rows)`` everywhere, except on PostgreSQL where COPY is several times
    faster for the hundreds of thousands of rows of a register import (ids then come from the table's sequence
    in one query, so they are known before the copy).
    """
    from functools import partial
    from operator import itemgetter

    from sqlalchemy import insert, text
    from sqlalchemy.types import TypeDecorator

    if not isinstance(rows, list):
        # An iterator (``store_ledgers``): on PostgreSQL its rows are produced while the COPY runs, so that the
        # server ingests one household's rows while Python computes the next (two cores, issue 17).
        iterator = iter(rows)
        first = next(iterator, None)
        if first is None:
            rows = []
        elif return_ids or meanwhile is not None or session.get_bind().dialect.name != "postgresql":
            rows = [first, *iterator]
        else:
            rows = _chained(first, iterator)
    if not rows:
        if meanwhile is not None and return_ids:
            meanwhile([])
        elif meanwhile is not None:
            meanwhile()
        return [] if return_ids else None
    session.flush()
    connection = session.connection()
    dialect = connection.dialect
    if dialect.name != "postgresql":
        if not return_ids:
            session.execute(insert(table), rows)
            if meanwhile is not None:
                meanwhile()
            return None
        statement = insert(table).returning(table.c.id, sort_by_parameter_order=True)
        ids = list(session.scalars(statement, rows))
        if meanwhile is not None:
            meanwhile(ids)
        return ids
    ids = None
    if return_ids:
        ids = list(
            session.scalars(
                text("SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :n)"),
                {"table": table.name, "n": len(rows)},
            )
        )
        rows = [{**row, "id": new_id} for row, new_id in zip(rows, ids, strict=True)]
        if meanwhile is not None:
            meanwhile = partial(meanwhile, ids)
    columns = list(rows.first if isinstance(rows, _chained) else rows[0])
    # The column types' own conversions (Money → integer thousandths), bound once; psycopg adapts the plain
    # values. Rows are read as tuples (itemgetter) and only the converted columns are touched (issue 17: this
    # loop runs for every person, receipt and stored period of a national import).
    # Each converter keeps the Decimals it has converted: a ledger's amounts repeat from period to period and from
    # one household to the next, and a dictionary look-up costs a fraction of the conversion (issue 17).
    converters = [
        (index, table.c[name].type.process_bind_param, {})
        for index, name in enumerate(columns)
        if isinstance(table.c[name].type, TypeDecorator)
    ]
    values_of = itemgetter(*columns) if len(columns) > 1 else (lambda row, name=columns[0]: (row[name],))

    def produce(write) -> None:
        if not converters:
            for row in rows:
                write(values_of(row))
            return
        for row in rows:
            values = list(values_of(row))
            for index, convert, done in converters:
                value = values[index]
                if value.__class__ is Decimal:  # anything else (None, a refused float) is converted each time
                    converted = done.get(value)
                    if converted is None:
                        converted = done[value] = convert(value, dialect)
                    values[index] = converted
                else:
                    values[index] = convert(value, dialect)
            write(values)

    # A streamed COPY (an iterator) computes its rows as it goes; with ``meanwhile`` the rows are queued at once
    # and sent while ``meanwhile`` runs.
    _copy(
        connection,
        table,
        columns,
        produce,
        queued=isinstance(rows, _chained) or meanwhile is not None,
        meanwhile=meanwhile,
    )
    return ids
