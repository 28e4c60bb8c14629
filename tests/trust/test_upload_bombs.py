"""Bounded reading of uploads (issue 18): files built to cost a worker minutes and gigabytes are refused, or read
for what they really hold, with flat memory; each refusal names its limit, in English and French, and writes
nothing — through the web upload and the command line alike.

Memory is measured with tracemalloc (the peak of Python allocations while reading, which is where the padding
and unzipping went); wall-clock time is never asserted (a shared machine makes it noise).
"""

from __future__ import annotations

import io
import re
import tracemalloc
import zipfile

import openpyxl
import pytest

from mhi.core.tabular import ReadLimits, read_table, size_text
from mhi.core.validation import InputRejected
from tests.factories import login, make_user, records
from tests.trust.helpers import MEMBERS_HEADER, everything_scheme, members_csv, table_counts

MEMORY_LIMIT = 100 * 1024 * 1024
HEADER = MEMBERS_HEADER.split(",")
ROW = ["H-000001", "H-000001-01", "Awa", "Ndiaye", "F", "1980-02-03", "head", "2025-01-10", "", "BASE", "", "Notto"]


def _workbook(*rows_at: tuple[int, list]) -> bytes:
    """An ordinary .xlsx with the members header in row 1 and ``rows_at`` (row number, values)."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(HEADER)
    for number, values in rows_at:
        for column, value in enumerate(values, start=1):
            sheet.cell(row=number, column=column, value=value)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _rewrite_sheet(data: bytes, change) -> bytes:
    """``data`` with its first sheet's XML passed through ``change``."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                content = change(content)
            target.writestr(info.filename, content)
    return out.getvalue()


def dimension_bomb(last_row: int = 20000) -> bytes:
    """Issue 18's first file: two rows (the header and row ``last_row``) in a sheet declaring A1:XFD<last_row>.

    openpyxl pads every row to the declared 16,384 columns, the blank rows between them too: 327 million cells.
    """
    data = _workbook((last_row, ROW))
    return _rewrite_sheet(
        data, lambda xml: re.sub(rb'<dimension ref="[^"]*"\s*/>', f'<dimension ref="A1:XFD{last_row}"/>'.encode(), xml)
    )


def zip_bomb(unzipped: int = 224 * 1024 * 1024) -> bytes:
    """A workbook whose sheet unzips to ``unzipped`` bytes of identical rows: about 1 KB on the wire per 200 KB."""
    workbook = _workbook()
    source = zipfile.ZipFile(io.BytesIO(workbook))
    header_xml = "".join(f'<c t="inlineStr"><is><t>{name}</t></is></c>' for name in HEADER)
    row_xml = ("<row>" + "".join(f'<c t="inlineStr"><is><t>{v}</t></is></c>' for v in ROW) + "</row>").encode()
    block = row_xml * (1024 * 1024 // len(row_xml))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as target:
        for info in source.infolist():
            if info.filename != "xl/worksheets/sheet1.xml":
                target.writestr(info.filename, source.read(info))
                continue
            with target.open("xl/worksheets/sheet1.xml", "w") as sheet:
                sheet.write(
                    b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
                    + f"<row>{header_xml}</row>".encode()
                )
                written = 0
                while written < unzipped:
                    sheet.write(block)
                    written += len(block)
                sheet.write(b"</sheetData></worksheet>")
    return out.getvalue()


def _measured(read):
    """(result or the InputRejected raised, peak bytes allocated) of ``read()``."""
    tracemalloc.start()
    try:
        try:
            outcome = read()
        except InputRejected as exc:
            outcome = exc
        return outcome, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _messages(outcome) -> list[str]:
    assert isinstance(outcome, InputRejected), f"not refused: {outcome!r}"
    return [str(problem) for problem in outcome.problems]


def test_a_declared_dimension_does_not_pad_the_rows():
    """A1:XFD20000 with two rows: read as the two rows it holds, nothing padded to 16,384 columns."""
    data = dimension_bomb()
    assert len(data) < 10_000

    table, peak = _measured(lambda: read_table(data, "bomb.xlsx", ReadLimits()))

    assert peak < MEMORY_LIMIT, f"{peak / 1e6:.0f} MB"
    assert table.header == HEADER
    assert len(table.rows) == 19999 and all(len(row) == len(HEADER) for row in table.rows)
    assert table.rows[-1][:3] == ["H-000001", "H-000001-01", "Awa"]
    assert not any(any(row) for row in table.rows[:-1])


def test_cells_far_to_the_right_are_refused_at_the_first_row():
    """The same sheet with a value in column XFD of every one of 20,000 rows: refused at the first of them."""

    def far_right(xml: bytes) -> bytes:
        rows = "".join(f'<row r="{n}"><c r="A{n}" t="inlineStr"><is><t>x</t></is></c><c r="XFD{n}"><v>1</v></c></row>'
                       for n in range(2, 20001))  # fmt: skip
        return re.sub(rb"</row>(?!.*</row>)", b"</row>" + rows.encode(), xml, flags=re.S)

    data = _rewrite_sheet(_workbook(), far_right)

    outcome, peak = _measured(lambda: read_table(data, "wide.xlsx", ReadLimits()))

    assert peak < MEMORY_LIMIT
    assert _messages(outcome) == ["wide.xlsx, row 1: has more than 100 columns, the limit (MHI_IMPORT_MAX_COLUMNS)"]


def test_a_zip_bomb_is_refused_before_it_is_unzipped():
    """An XLSX of about a megabyte whose sheet unzips to 224 MB: refused on its declared size."""
    data = zip_bomb()
    assert len(data) < 2 * 1024 * 1024

    outcome, peak = _measured(lambda: read_table(data, "bomb.xlsx", ReadLimits()))

    assert peak < MEMORY_LIMIT, f"{peak / 1e6:.0f} MB"
    (message,) = _messages(outcome)
    assert re.fullmatch(
        r"bomb\.xlsx: unzips to 22\d MB, more than the limit of 100 MB \(MHI_IMPORT_MAX_UNZIPPED\): it is not an "
        r"ordinary workbook",
        message,
    ), message


def _understated(data: bytes, member: str, size: int) -> bytes:
    """``data`` with ``member``'s uncompressed size in the central directory (the one readers trust) set to
    ``size``."""
    buffer = bytearray(data)
    position = 0
    while True:
        position = buffer.index(b"PK\x01\x02", position)
        name_length = int.from_bytes(buffer[position + 28 : position + 30], "little")
        if buffer[position + 46 : position + 46 + name_length] == member.encode():
            buffer[position + 24 : position + 28] = size.to_bytes(4, "little")
            return bytes(buffer)
        position += 4


def test_a_zip_that_understates_its_sizes_is_refused_on_what_it_really_holds():
    """The directory says 1 KB, the sheet really holds 20 MB: the reading stops at the first byte past 1 KB."""
    data = _understated(zip_bomb(20 * 1024 * 1024), "xl/worksheets/sheet1.xml", 1024)
    assert zipfile.ZipFile(io.BytesIO(data)).getinfo("xl/worksheets/sheet1.xml").file_size == 1024

    outcome, peak = _measured(lambda: read_table(data, "liar.xlsx", ReadLimits()))

    assert peak < MEMORY_LIMIT
    assert _messages(outcome) == ["liar.xlsx: is not a readable .xlsx workbook"]


def test_a_zip_of_many_members_is_refused():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for n in range(1000):
            target.writestr(f"junk/{n}.xml", b"")

    outcome, _peak = _measured(lambda: read_table(out.getvalue(), "many.xlsx", ReadLimits()))

    assert _messages(outcome) == [
        "many.xlsx: holds 1000 files, more than the 200 an ordinary workbook may have (MHI_IMPORT_MAX_ZIP_MEMBERS)"
    ]


def test_a_huge_table_of_texts_is_refused():
    """sharedStrings.xml is read whole by the spreadsheet reader: its size and its entries are capped."""
    entries = b"".join(b"<si><t>%d</t></si>" % n for n in range(200_000))
    xml = b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">' + entries + b"</sst>"
    source = zipfile.ZipFile(io.BytesIO(_workbook((2, ROW))))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            target.writestr(info.filename, source.read(info))
        target.writestr("xl/sharedStrings.xml", xml)
    data = out.getvalue()

    by_size = _messages(_measured(lambda: read_table(data, "t.xlsx", ReadLimits(max_shared_strings=1024 * 1024)))[0])
    by_entries = _messages(_measured(lambda: read_table(data, "t.xlsx", ReadLimits(max_cells=100_000)))[0])

    assert by_size == [
        f"t.xlsx: its table of texts is {size_text(len(xml))}, more than the limit of 1 MB "
        "(MHI_IMPORT_MAX_SHARED_STRINGS)"
    ]
    assert by_entries == [
        "t.xlsx: has more than 100000 cells, the limit (MHI_IMPORT_MAX_CELLS); split it into smaller files"
    ]


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_rows_columns_cells_and_cell_size_are_capped(kind):
    """The same caps for both formats; each refusal names the row where it is met."""

    def data(rows: list[list[str]]) -> bytes:
        if kind == "csv":
            return "\n".join(",".join(row) for row in rows).encode()
        workbook = openpyxl.Workbook()
        for row in rows:
            workbook.active.append(row)
        buffer = io.BytesIO()
        workbook.save(buffer)
        return buffer.getvalue()

    name = f"members.{kind}"
    good = [["a", "b", "c"]] + [["1", "2", "3"]] * 3
    assert len(read_table(data(good), name, ReadLimits(max_rows=3, max_columns=3, max_cells=12, max_field=1)).rows) == 3
    cases = {
        "rows": (good + [["1", "2", "3"]], ReadLimits(max_rows=3), "has more than 3 data rows, the limit"),
        "columns": ([["a", "b"], ["1", "2", "3", "4", "5", "6"]], ReadLimits(max_columns=5), "row 1: has more than 5"),
        "cells": ([["a", "b", "c", "d", "e"]] + [["1"]] * 3, ReadLimits(max_cells=12), "has more than 12 cells"),
        "field": ([["a"], ["1"], ["x" * 11]], ReadLimits(max_field=10), "row 2: a cell is longer than 10 characters"),
    }
    for case, (rows, limits, expected) in cases.items():
        with pytest.raises(InputRejected) as caught:
            read_table(data(rows), name, limits)
        assert expected in str(caught.value), (case, str(caught.value))


def test_trailing_blank_cells_and_rows_do_not_count():
    """A spreadsheet's habit of trailing empty cells and rows: dropped as read, not refused."""
    text = "a,b\n1,2" + "," * 500 + "\n" + "\n" * 1000 + ",,,,\n" * 100
    limits = ReadLimits(max_rows=5, max_columns=5)

    table = read_table(text.encode(), "x.csv", limits)

    assert table.header == ["a", "b"] and table.rows == [["1", "2"]]


def test_a_file_larger_than_the_limit_is_refused_unread(tmp_path):
    path = tmp_path / "big.csv"
    path.write_bytes(b"a,b\n" + b"1,2\n" * 300_000)
    limits = ReadLimits(max_bytes=1024 * 1024)

    with pytest.raises(InputRejected) as caught:
        read_table(path, limits=limits)

    assert str(caught.value) == (
        "big.csv: is too large: 1.1 MB, the limit is 1 MB (MHI_IMPORT_MAX_BYTES); split it into smaller files"
    )


@pytest.mark.parametrize(("separator", "named"), [(";", "semicolons (;)"), ("\t", "tabs")])
def test_a_csv_separated_by_semicolons_or_tabs_says_so(separator, named):
    text = MEMBERS_HEADER.replace(",", separator) + "\n" + separator.join(ROW) + "\n"

    with pytest.raises(InputRejected) as caught:
        read_table(text.encode(), "membres.csv")

    assert str(caught.value) == (
        f"membres.csv: has one column whose name contains {named}: the file is separated by {named}, not by "
        'commas. Save it again as "CSV UTF-8 (comma delimited)", or send the .xlsx workbook'
    )


def test_the_limits_come_from_the_configuration(app, monkeypatch):
    from mhi import create_app
    from mhi.core.tabular import read_limits

    monkeypatch.setenv("MHI_IMPORT_MAX_ROWS", "12")
    configured = create_app({"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": "sqlite://",
                             "MHI_IMPORT_MAX_COLUMNS": 7})  # fmt: skip
    with configured.app_context():
        limits = read_limits()
    assert (limits.max_rows, limits.max_columns, limits.max_cells) == (12, 7, ReadLimits().max_cells)


def _upload(client, code: str, data: bytes, name: str):
    """POST ``data`` as the upload form's file. The multipart body is built here: the test client spools a large
    one to a temporary file that it never closes (a ResourceWarning, an error in this suite)."""
    boundary = "mhi-test-boundary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return client.post(
        f"/schemes/{code}/imports/members", data=body, content_type=f"multipart/form-data; boundary={boundary}"
    )


def test_the_web_upload_refuses_a_bomb_in_the_users_language(app, client):
    """The refusal on the preview page, in French for a French user, and nothing written."""
    with records(app) as session:
        code = everything_scheme(session).code
        user = make_user(session, "admin", locale="fr")
    login(client, user)  # signing in writes its session row: counted from here
    with records(app) as session:
        before = table_counts(session)

    response = _upload(client, code, zip_bomb(), "bombe.xlsx")

    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "bombe.xlsx: une fois décompressé, il fait 22" in body
    assert "plus que la limite de 100 MB (MHI_IMPORT_MAX_UNZIPPED) : ce n&#39;est pas un classeur ordinaire" in body
    response = _upload(client, code, members_csv(1).replace(",", ";").encode(), "membres.csv")
    assert "séparé par des points-virgules (;)" in response.get_data(as_text=True)
    with records(app) as session:
        assert table_counts(session) == before


def test_the_command_line_refuses_a_bomb_and_writes_nothing(app, runner, tmp_path):
    with records(app) as session:
        code = everything_scheme(session).code
        before = table_counts(session)
    path = tmp_path / "members.xlsx"
    path.write_bytes(zip_bomb())

    result = runner.invoke(args=["import", "members", "--scheme", code, str(path)])

    assert result.exit_code == 1
    assert "members.xlsx: unzips to 22" in result.stderr
    assert "more than the limit of 100 MB (MHI_IMPORT_MAX_UNZIPPED)" in result.stderr
    with records(app) as session:
        assert table_counts(session) == before


def test_a_field_past_the_csv_readers_own_limit_is_refused_with_the_same_message():
    text = "a,b\n1,2\n3," + "x" * 140_000 + "\n"

    with pytest.raises(InputRejected) as caught:
        read_table(text.encode(), "x.csv", ReadLimits(max_field=1_000_000))

    assert str(caught.value) == (
        "x.csv, row 2: a cell is longer than 131072 characters, the limit (MHI_IMPORT_MAX_FIELD)"
    )
