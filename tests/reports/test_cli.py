"""``report indicators`` and ``report federation`` on the command line (cli.md)."""

from __future__ import annotations

import json

import pytest
from pypdf import PdfReader

from mhi.reports import indicators as ind
from tests.reports import builders
from tests.reports.builders import F, T

PERIOD = ["--from", "2025-01-01", "--to", "2025-06-30"]


@pytest.fixture
def scheme(session):
    builders.make_federation(session, "UMT")
    return builders.build_hand_scheme(session, "MUT-HAND", federation="UMT")


def test_json_on_stdout_is_the_report(runner, session, scheme):
    result = runner.invoke(args=["report", "indicators", "--scheme", "MUT-HAND", *PERIOD, "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == json.loads(
        json.dumps(ind.to_json(ind.scheme_indicators(session, scheme, F, T)))
    )


def test_text_table_without_format(runner, scheme):
    result = runner.invoke(args=["report", "indicators", "--scheme", "MUT-HAND", *PERIOD])
    assert result.exit_code == 0, result.output
    assert "contributions_earned" in result.stdout and "17852" in result.stdout and "[red]" in result.stdout
    result = runner.invoke(args=["report", "federation", "--federation", "UMT", *PERIOD])
    assert result.exit_code == 0, result.output
    assert "TOTAL" in result.stdout


def test_pdf_needs_out_and_holds_the_figures(runner, scheme, tmp_path):
    result = runner.invoke(args=["report", "indicators", "--scheme", "MUT-HAND", *PERIOD, "--format", "pdf"])
    assert result.exit_code == 2
    out = tmp_path / "report.pdf"
    result = runner.invoke(
        args=["report", "indicators", "--scheme", "MUT-HAND", *PERIOD, "--format", "pdf", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    text = "".join("".join(page.extract_text().split()) for page in PdfReader(out).pages)
    assert "17852" in text.replace("\u202f", "").replace("\xa0", "")  # contributions earned
    assert "MUT-HAND" in text


def test_federation_pdf(runner, scheme, tmp_path):
    out = tmp_path / "federation.pdf"
    result = runner.invoke(
        args=["report", "federation", "--federation", "UMT", *PERIOD, "--format", "pdf", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    text = "".join("".join(page.extract_text().split()) for page in PdfReader(out).pages)
    assert "66500" in text.replace("\u202f", "").replace("\xa0", "")  # claims incurred


def test_errors(runner, scheme):
    assert runner.invoke(args=["report", "indicators", "--scheme", "NOPE", *PERIOD]).exit_code == 1
    assert runner.invoke(args=["report", "federation", "--federation", "NOPE", *PERIOD]).exit_code == 1
    bad = runner.invoke(
        args=["report", "indicators", "--scheme", "MUT-HAND", "--from", "2025-02-30", "--to", "2025-06-30"]
    )
    assert bad.exit_code == 2
    backwards = runner.invoke(
        args=["report", "indicators", "--scheme", "MUT-HAND", "--from", "2025-06-30", "--to", "2025-01-01"]
    )
    assert backwards.exit_code == 2


def test_xlsx_workbooks_for_the_board(runner, scheme, tmp_path):
    """``--format xlsx --out FILE``: the report's tables as sheets, numbers as numbers, headers in the scheme's
    language (the hand scheme's documents are in French)."""
    from openpyxl import load_workbook

    assert (
        runner.invoke(args=["report", "indicators", "--scheme", "MUT-HAND", *PERIOD, "--format", "xlsx"]).exit_code == 2
    )
    out = tmp_path / "indicators.xlsx"
    result = runner.invoke(
        args=["report", "indicators", "--scheme", "MUT-HAND", *PERIOD, "--format", "xlsx", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    book = load_workbook(out, read_only=True)
    assert len(book.sheetnames) == 3
    rows = list(book.worksheets[0].iter_rows(values_only=True))
    values = {row[3]: row[1] for row in rows[1:]}
    assert values["contributions_earned"] == 17852
    out = tmp_path / "federation.xlsx"
    result = runner.invoke(
        args=["report", "federation", "--federation", "UMT", *PERIOD, "--format", "xlsx", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    book = load_workbook(out, read_only=True)
    header = next(book.worksheets[0].iter_rows(values_only=True))
    assert header[1] == "MUT-HAND" and header[-1] in ("Key", "Clé")
