"""Tables for the board's spreadsheets: one table, two downloads (CSV and XLSX), in the user's language (issue 16).

A feature builds a ``Table`` — columns with a translated label and a kind, rows of typed values (``Decimal``,
``int``, ``date``, text, ``None``) — and hands it to ``download``. The same table then opens cleanly in a French
or an English spreadsheet:

- **CSV**: UTF-8 with a byte-order mark (so Excel reads the accents), ``;`` between cells where the locale writes
  decimals with a comma (French Excel splits on ``;``) and ``,`` elsewhere, numbers with the locale's decimal sign
  and no grouping, dates as ``YYYY-MM-DD``, headers in the user's language, formula-looking text neutralised.
- **XLSX** (openpyxl, write-only, so memory stays flat on long lists): numbers as numbers with the currency's
  decimals as their format, ratios as percentages, dates as dates, a bold header row, column widths from their
  content, one sheet per table.

The files of the contracts (data-formats.md, cli.md's exports) are not made here: they keep their plain format.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from babel import Locale
from babel.numbers import get_decimal_symbol
from flask import Response

from mhi.core.money import minor_units
from mhi.core.tabular import safe_cell

#: Column kinds: how a value is written and formatted.
KINDS = ("text", "count", "amount", "ratio", "number", "date")
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
#: Excel's limits: a sheet name has at most 31 characters and none of these.
_SHEET_NAME_FORBIDDEN = set("[]:*?/\\")


@dataclass(frozen=True)
class Column:
    """One column: its header (translated, for people), its kind and, for amounts, the currency."""

    label: Any
    kind: str = "text"
    currency: str | None = None

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"unknown column kind {self.kind!r}")


@dataclass
class Table:
    """A titled table of typed values, ready for a spreadsheet."""

    title: Any
    columns: list[Column]
    rows: list[Sequence[Any]] = field(default_factory=list)


def delimiter_for(locale: str | Locale) -> str:
    """``;`` where the locale writes decimals with a comma (fr, es, pt…), ``,`` elsewhere."""
    return ";" if get_decimal_symbol(Locale.parse(str(locale))) == "," else ","


def _csv_value(value: Any, decimal_sign: str) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (int, Decimal)):
        text = format(value, "f") if isinstance(value, Decimal) else str(value)
        return text.replace(".", decimal_sign)
    if isinstance(value, float):
        return repr(value).replace(".", decimal_sign)
    return safe_cell(str(value))


def to_csv(table: Table, locale: str | Locale) -> bytes:
    """The table as a CSV file for ``locale``'s spreadsheet (BOM, separator, decimal sign, translated header)."""
    loc = Locale.parse(str(locale))
    decimal_sign = get_decimal_symbol(loc)
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter_for(loc), lineterminator="\r\n")
    writer.writerow([safe_cell(str(column.label)) for column in table.columns])
    for row in table.rows:
        writer.writerow([_csv_value(value, decimal_sign) for value in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def _number_format(column: Column) -> str | None:
    if column.kind == "amount":
        places = minor_units(column.currency or "")
        return "#,##0" + ("." + "0" * places if places else "")
    if column.kind == "count":
        return "#,##0"
    if column.kind == "ratio":
        return "0.0%"
    if column.kind == "number":
        return "#,##0.####"
    if column.kind == "date":
        return "yyyy-mm-dd"
    return None


def _sheet_title(title: Any, taken: set[str]) -> str:
    name = "".join(c for c in str(title) if c not in _SHEET_NAME_FORBIDDEN).strip()[:31] or "Sheet"
    candidate, n = name, 2
    while candidate.lower() in taken:
        suffix = f" ({n})"
        candidate, n = name[: 31 - len(suffix)] + suffix, n + 1
    taken.add(candidate.lower())
    return candidate


def _width(value: Any) -> int:
    if value is None:
        return 0
    if isinstance(value, (date, datetime)):
        return 10
    return min(len(str(value)), 60)


def to_xlsx(tables: Sequence[Table]) -> bytes:
    """The tables as one workbook, a sheet each: numbers as numbers, dates as dates, bold headers, fitted widths."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    workbook = Workbook(write_only=True)
    taken: set[str] = set()
    bold = Font(bold=True)
    for table in tables:
        sheet = workbook.create_sheet(_sheet_title(table.title, taken))
        # Widths must be set before the first row in write-only mode: measure the rows first.
        widths = [max(8, len(str(column.label))) for column in table.columns]
        for row in table.rows:
            for index, value in enumerate(row[: len(widths)]):
                widths[index] = max(widths[index], _width(value) + 2)
        for index, width in enumerate(widths, start=1):
            sheet.column_dimensions[get_column_letter(index)].width = min(width, 60)
        sheet.freeze_panes = "A2"
        header = []
        for column in table.columns:
            cell = WriteOnlyCell(sheet, value=str(column.label))
            cell.font = bold
            header.append(cell)
        sheet.append(header)
        formats = [_number_format(column) for column in table.columns]
        for row in table.rows:
            cells = []
            for value, number_format in zip(row, formats, strict=False):
                if isinstance(value, str):
                    value = safe_cell(value)  # text that looks like a formula is written as text, never run
                elif isinstance(value, float):
                    value = Decimal(repr(value))
                cell = WriteOnlyCell(sheet, value=value)
                if number_format and value is not None and not isinstance(value, str):
                    cell.number_format = number_format
                cells.append(cell)
            sheet.append(cells)
    if not tables:
        workbook.create_sheet("Sheet")
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def download(tables: Table | Sequence[Table], fmt: str, filename_stem: str, locale: str | Locale) -> Response:
    """A CSV (the first table) or XLSX (every table) download named ``<filename_stem>.<fmt>``."""
    tables = [tables] if isinstance(tables, Table) else list(tables)
    if fmt == "xlsx":
        data, mimetype = to_xlsx(tables), XLSX_MIMETYPE
    elif fmt == "csv":
        data, mimetype = to_csv(tables[0], locale), "text/csv"
    else:
        raise ValueError(f"unknown format {fmt!r}")
    headers = {"Content-Disposition": f'attachment; filename="{filename_stem}.{fmt}"'}
    return Response(data, mimetype=mimetype, headers=headers)
