"""Reading the first sheet of an XLSX workbook within ``tabular.ReadLimits``, whatever the file claims.

An .xlsx is a zip of XML files, so a small file can cost a great deal to read (issue 18): a sheet that declares
``A1:XFD20000`` is padded by openpyxl to 16,384 cells a row, a zip of 870 KB can unzip to 224 MB, a table of
texts is read whole. So, in this order:

1. the zip's directory: how many members, and the sizes they declare once unzipped (refused at once, before
   anything is decompressed);
2. the members' actual unzipped sizes, by decompressing them as a stream and counting (nothing is kept; a
   member that holds more than it declares fails its checksum), and the table of texts' size and entries;
3. only then the XML, one row at a time: the sheet's declared dimension is ignored (rows are not padded to
   it), a row's cells are placed up to its last filled one, and rows, columns and cells are counted as they
   come — the first one past a limit stops the reading.

openpyxl reads the workbook's parts (the table of texts, date styles) and parses each row element
(``WorkSheetParser.parse_row``); the loop over the sheet is ours so that each row is dropped once read.
"""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from collections.abc import Iterator
from typing import Any

from mhi.core.tabular import (
    LIMIT_CELLS,
    LIMIT_SHARED_STRINGS,
    LIMIT_UNZIPPED,
    LIMIT_ZIP_MEMBERS,
    N_,
    ReadLimits,
    refused,
    size_text,
)
from mhi.core.validation import InputRejected, Problem

#: Decompressing in pieces of this size: memory stays flat whatever a member holds.
CHUNK = 1024 * 1024
#: An entry of the table of texts: ``<si>``, with or without a namespace prefix.
_SHARED_ENTRY = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?si[\s>/]")


def unreadable(filename: str) -> InputRejected:
    """The refusal of a file that is not an .xlsx workbook at all."""
    return InputRejected([Problem(N_("is not a readable .xlsx workbook"), file=filename)])


def sheet_rows(data: bytes, filename: str, limits: ReadLimits) -> Iterator[tuple[int, list[Any]]]:
    """(row position, values) of each row of the first sheet that has a value, 1 = the sheet's first row.

    ``values`` run from column A to the row's last filled cell (None where blank). Raises ``InputRejected``
    as soon as the file goes past a limit or cannot be read.
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise unreadable(filename) from exc
    with archive:
        check_archive(archive, filename, limits)
        yield from _rows(data, filename, limits)


def check_archive(archive: zipfile.ZipFile, filename: str, limits: ReadLimits) -> None:
    """Steps 1 and 2: the members' number, then their declared sizes, then their actual sizes."""
    members = archive.infolist()
    if len(members) > limits.max_zip_members:
        raise refused(LIMIT_ZIP_MEMBERS, filename, count=len(members), limit=limits.max_zip_members)
    declared = sum(member.file_size for member in members)
    if declared > limits.max_unzipped:
        raise refused(LIMIT_UNZIPPED, filename, size=size_text(declared), limit=size_text(limits.max_unzipped))
    for member in members:
        if _is_shared_strings(member.filename) and member.file_size > limits.max_shared_strings:
            raise _shared_refused(member.file_size, filename, limits)
    total = 0
    for member in members:
        shared = _is_shared_strings(member.filename)
        size = entries = 0
        tail = b""
        try:
            with archive.open(member) as stream:
                while chunk := stream.read(CHUNK):
                    size += len(chunk)
                    total += len(chunk)
                    if total > limits.max_unzipped:
                        raise refused(
                            LIMIT_UNZIPPED, filename, size=size_text(total), limit=size_text(limits.max_unzipped)
                        )
                    if shared:
                        if size > limits.max_shared_strings:
                            raise _shared_refused(size, filename, limits)
                        # Entries counted across chunk boundaries: the previous chunk's last bytes go first.
                        window = tail + chunk
                        entries += len(_SHARED_ENTRY.findall(window)) - len(_SHARED_ENTRY.findall(tail))
                        tail = window[-16:]
                        if entries > limits.max_cells:
                            raise refused(LIMIT_CELLS, filename, limit=limits.max_cells)
        except (zipfile.BadZipFile, zlib.error, OSError, EOFError, NotImplementedError, RuntimeError) as exc:
            # A damaged member, one holding more than it declares (checksum), an unknown compression or a
            # password: not a workbook that can be read.
            raise unreadable(filename) from exc


def _is_shared_strings(name: str) -> bool:
    return name.lower().rsplit("/", 1)[-1] == "sharedstrings.xml"


def _shared_refused(size: int, filename: str, limits: ReadLimits) -> InputRejected:
    return refused(LIMIT_SHARED_STRINGS, filename, size=size_text(size), limit=size_text(limits.max_shared_strings))


def _rows(data: bytes, filename: str, limits: ReadLimits) -> Iterator[tuple[int, list[Any]]]:
    """Step 3: the first sheet's rows, streamed with openpyxl's parser, each dropped once read."""
    import warnings
    from xml.etree.ElementTree import ParseError

    import openpyxl
    from openpyxl.worksheet._reader import ROW_TAG, WorkSheetParser
    from openpyxl.xml.constants import SHEET_MAIN_NS
    from openpyxl.xml.functions import iterparse

    sheet_data_tag = f"{{{SHEET_MAIN_NS}}}sheetData"
    problems = (zipfile.BadZipFile, OSError, KeyError, ValueError, IndexError, TypeError, ParseError, EOFError)
    try:
        with warnings.catch_warnings():
            # openpyxl warns about parts it does not keep (data validation, extensions): irrelevant to a read.
            warnings.simplefilter("ignore")
            workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except InputRejected:
        raise
    except problems as exc:
        raise unreadable(filename) from exc
    try:
        if not workbook.worksheets:
            raise unreadable(filename)
        sheet = workbook.worksheets[0]
        cells_seen = 0
        with sheet._get_source() as source, warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a date serial out of range is read as an error value, said below
            parser = WorkSheetParser(
                source,
                sheet._shared_strings,
                data_only=True,
                epoch=workbook.epoch,
                date_formats=workbook._date_formats,
                timedelta_formats=workbook._timedelta_formats,
            )
            container = None
            last_position = 0
            try:
                for event, element in iterparse(source, events=("start", "end")):
                    if event == "start":
                        if element.tag == sheet_data_tag:
                            container = element
                        continue
                    if element.tag != ROW_TAG:
                        continue
                    position, cells = parser.parse_row(element)
                    element.clear()
                    if container is not None:
                        container.clear()  # the rows read so far: otherwise each one stays, emptied, in memory
                    cells_seen += len(cells)
                    if cells_seen > limits.max_cells:
                        raise refused(LIMIT_CELLS, filename, limit=limits.max_cells)
                    if position <= last_position:
                        continue  # a row written twice or out of order: the first one counts, as in openpyxl
                    last_position = position
                    values = _placed(cells, filename, position, limits)
                    if values:
                        yield position, values
            except InputRejected:
                raise
            except problems as exc:
                raise unreadable(filename) from exc
    finally:
        workbook.close()


def _placed(cells: list[dict], filename: str, position: int, limits: ReadLimits) -> list[Any]:
    """A row's values from column A to its last filled cell; refused when that is past ``max_columns``."""
    from mhi.core.tabular import LIMIT_COLUMNS

    filled = [cell for cell in cells if cell["value"] is not None and str(cell["value"]).strip()]
    if not filled:
        return []
    last = max(cell["column"] for cell in filled)
    if last > limits.max_columns:
        raise refused(LIMIT_COLUMNS, filename, row=(position - 1) or None, limit=limits.max_columns)
    values: list[Any] = [None] * last
    for cell in filled:
        if cell["column"] >= 1:
            values[cell["column"] - 1] = cell["value"]
    return values
