"""How a file becomes a table (core/tabular.py ``read_table``): its row numbers are the file's, blanks read as
None, the header's trailing blank cells dropped, short rows padded, rows longer than the header refused and
named — for CSV and XLSX alike (one pass over each row since issue 17)."""

from __future__ import annotations

import io

import pytest
from openpyxl import Workbook

from mhi.core.tabular import read_table
from mhi.core.validation import InputRejected


def _xlsx(rows: list[list]) -> bytes:
    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_a_csv_keeps_its_row_numbers_and_reads_blanks_as_none():
    data = b"household_ref,member_no,  , \n H-1 , M-1 ,,\n\n,,, \nH-2\n  ,  \nH-3,M-3\n,,\n"
    table = read_table(data, "members.csv")
    assert table.header == ["household_ref", "member_no"]
    # Data rows 1 to 6 are the file's lines 2 to 7: the blank lines between are kept, the trailing one dropped.
    assert table.rows == [
        ["H-1", "M-1"],
        [None, None],
        [None, None],
        ["H-2", None],
        [None, None],
        ["H-3", "M-3"],
    ]


def test_rows_longer_than_the_header_are_refused_each_named():
    data = b"a,b\n1,2,3\n4,5\n6,7,,\n8,9,10,11\n"
    with pytest.raises(InputRejected) as refused:
        read_table(data, "members.csv")
    problems = refused.value.problems
    assert [(p.row, p.params, p.file) for p in problems] == [
        (1, {"count": 3, "width": 2}, "members.csv"),
        (4, {"count": 4, "width": 2}, "members.csv"),
    ]


def test_a_file_of_blank_rows_is_empty():
    with pytest.raises(InputRejected) as refused:
        read_table(b"\n \n,,\n", "members.csv")
    assert [p.message for p in refused.value.problems] == ["is empty (a header row is expected)"]


def test_an_xlsx_is_read_as_a_csv_would_be():
    data = _xlsx([["household_ref", "amount", None], [" H-1 ", 1500, None], [None, None], ["H-2", 12.5]])
    table = read_table(data, "receipts.xlsx")
    assert table.header == ["household_ref", "amount"]
    assert table.rows == [["H-1", "1500"], [None, None], ["H-2", "12.5"]]
