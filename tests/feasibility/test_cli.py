"""``flask --app mhi feasibility run`` (cli.md): JSON exactly as feasibility.md's example, PDF, summary, errors."""

from __future__ import annotations

import json
from decimal import Decimal

import pypdf

from tests.conftest import EXAMPLES

STUDY = EXAMPLES / "fandene-study.json"
EXPECTED = EXAMPLES / "fandene-study-expected.json"


def test_json_output_is_the_expected_document(runner):
    """The Fandène example through the command gives exactly fandene-study-expected.json, amounts as strings."""
    result = runner.invoke(args=["feasibility", "run", str(STUDY), "--format", "json"])
    assert result.exit_code == 0, result.output
    produced = json.loads(result.stdout, parse_float=Decimal)
    expected = json.loads(EXPECTED.read_text(encoding="utf-8"), parse_float=Decimal)
    assert produced == expected
    # Same keys in the same order, and no float for any amount (conventions.md "Money").
    assert list(produced) == list(expected)
    assert isinstance(produced["contribution_per_person_year"], str)
    assert all(isinstance(row["reserve"], str) for row in produced["projection"])


def test_pdf_goes_to_out(runner, tmp_path):
    """``--format pdf --out FILE`` writes a PDF with the key figure in it; stdout stays empty."""
    out = tmp_path / "study.pdf"
    result = runner.invoke(args=["feasibility", "run", str(STUDY), "--format", "pdf", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    text = "\n".join(page.extract_text() for page in pypdf.PdfReader(out).pages)
    assert "2971" in text.replace("\u202f", "").replace("\xa0", "").replace(",", "")


def test_pdf_without_out_is_a_usage_error(runner):
    """A PDF needs a file to go to: exit 2 (conventions.md exit codes)."""
    result = runner.invoke(args=["feasibility", "run", str(STUDY), "--format", "pdf"])
    assert result.exit_code == 2


def test_summary_without_format(runner):
    """Without --format a readable summary with the contribution and the break-even."""
    result = runner.invoke(args=["feasibility", "run", str(STUDY)])
    assert result.exit_code == 0, result.output
    assert "7000 XOF" in result.stdout
    assert "2971 beneficiaries" in result.stdout


def test_bad_study_lists_every_error_and_exits_1(runner, tmp_path):
    """Every error with its field on stderr, nothing on stdout, exit 1."""
    data = json.loads(STUDY.read_text(encoding="utf-8"))
    data["services"][1]["unit_cost"] = "abc"
    data["collection_rate"] = "1.5"
    del data["currency"]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data), encoding="utf-8")
    result = runner.invoke(args=["feasibility", "run", str(bad), "--format", "json"])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "services[1].unit_cost" in result.stderr
    assert "collection_rate" in result.stderr
    assert "currency: is missing" in result.stderr


def test_not_json_exits_1(runner, tmp_path):
    """A file that is not JSON is rejected input, with the line and column."""
    bad = tmp_path / "bad.json"
    bad.write_text("{ not json", encoding="utf-8")
    result = runner.invoke(args=["feasibility", "run", str(bad)])
    assert result.exit_code == 1
    assert "not valid JSON" in result.stderr
