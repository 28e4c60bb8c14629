"""``import claims`` and ``claims export`` (cli.md, data-formats.md claims.csv and Import behaviour)."""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlalchemy import func, select

from mhi.claims.models import Claim, ClaimDecision
from mhi.core.db import db
from tests.claims.claim_helpers import make_household, make_scheme

HEADER = "claim_ref,member_no,provider_code,benefit_code,date_of_service,date_submitted,amount_claimed,paid_on,diagnosis_code"


@pytest.fixture
def scheme(session):
    """The test scheme with one covered household, committed so the commands see it."""
    scheme = make_scheme(session)
    make_household(session, scheme, "H-1", [("M-1", "head"), ("M-2", "child")])
    session.commit()
    return scheme


def write(tmp_path, name: str, *rows: str, header: str = HEADER) -> str:
    """A claims file with ``rows`` under ``header``."""
    path = tmp_path / name
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return str(path)


def run_import(runner, path, *extra):
    """``flask import claims --scheme MUT-TEST FILE``."""
    return runner.invoke(args=["import", "claims", "--scheme", "MUT-TEST", *extra, path])


def claims(session):
    """(claim_ref, status, amount_approved, reasons, paid_on) of every stored claim."""
    session.expire_all()
    rows = session.execute(
        select(Claim.claim_ref, Claim.status, Claim.amount_approved, Claim.reasons, Claim.paid_on).order_by(
            Claim.claim_ref
        )
    )
    return [
        (ref, status, str(amount), reasons, paid and paid.isoformat()) for ref, status, amount, reasons, paid in rows
    ]


def count(session, model=Claim) -> int:
    """Rows of ``model``."""
    session.expire_all()
    return session.scalar(select(func.count()).select_from(model))


def test_import_decides_and_reports(runner, session, scheme, tmp_path):
    path = write(
        tmp_path,
        "claims.csv",
        "C-1,M-1,CS,OPD,2025-03-01,2025-03-02,3000,2025-03-20,J06.9",
        "C-2,M-1,CS,OPD,2025-03-01,2025-03-05,3000,2025-03-20,",
        "C-3,NOBODY,CS,OPD,2025-03-01,2025-03-05,3000,,",
        "C-4,M-2,,DEATH,2025-04-01,2025-04-02,0,,",
        "C-5,M-2,,DENT,2025-04-01,2025-04-02,0,,",
    )
    result = run_import(runner, path, "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"added": 5, "unchanged": 0}
    assert "claims: 5 added, 0 unchanged (1 paid_on ignored on rejected claims)" in result.stderr
    assert claims(session) == [
        ("C-1", "APPROVED", "2400", "", "2025-03-20"),
        ("C-2", "REJECTED", "0", "DUPLICATE", None),
        ("C-3", "REJECTED", "0", "UNKNOWN_MEMBER", None),
        ("C-4", "APPROVED", "50000", "", None),
        ("C-5", "REJECTED", "0", "UNKNOWN_BENEFIT", None),
    ]
    assert count(session, ClaimDecision) == 5
    again = run_import(runner, path)
    assert again.exit_code == 0
    assert "claims: 0 added, 5 unchanged" in again.stderr
    assert count(session) == 5


def test_duplicate_across_two_imports(runner, session, scheme, tmp_path):
    first = write(tmp_path, "a.csv", "C-1,M-1,CS,OPD,2025-03-01,2025-03-02,3000,,")
    second = write(tmp_path, "b.csv", "C-9,M-1,CS,OPD,2025-03-01,2025-03-09,3000,,")
    assert run_import(runner, first).exit_code == 0
    assert run_import(runner, second).exit_code == 0
    assert [row[:4] for row in claims(session)] == [
        ("C-1", "APPROVED", "2400", ""),
        ("C-9", "REJECTED", "0", "DUPLICATE"),
    ]


def test_annual_ceiling_spread_across_two_imports(runner, session, scheme, tmp_path):
    # OPD: 80 %, tariff 4000, ceiling per year 6000.
    first = write(tmp_path, "a.csv", "C-1,M-1,CS,OPD,2025-02-01,2025-02-02,4000,,")
    second = write(
        tmp_path,
        "b.csv",
        "C-2,M-1,CS,OPD,2025-05-01,2025-05-02,4000,,",
        "C-3,M-1,CS,OPD,2025-06-01,2025-06-02,4000,,",
        "C-4,M-2,CS,OPD,2025-06-01,2025-06-02,4000,,",
    )
    assert run_import(runner, first).exit_code == 0
    assert run_import(runner, second).exit_code == 0
    assert [row[:4] for row in claims(session)] == [
        ("C-1", "APPROVED", "3200", ""),
        ("C-2", "REDUCED", "2800", "CEILING_PER_YEAR"),
        ("C-3", "REJECTED", "0", "CEILING_PER_YEAR"),
        ("C-4", "APPROVED", "3200", ""),  # another person's ceiling
    ]


@pytest.mark.parametrize(
    ("rows", "header", "message"),
    [
        (["C-1,M-1,CS,OPD,,2025-03-02,3000,,"], HEADER, "row 1, date_of_service: a value is required"),
        (["C-1,M-1,CS,OPD,2025-02-30,2025-03-02,3000,,"], HEADER, "row 1, date_of_service: 2025-02-30 is not a date"),
        (["C-1,M-1,CS,OPD,2025-03-01,2025-03-02,0,,"], HEADER, "row 1, amount_claimed: 0 is not a positive amount"),
        (["C-1,M-1,CS,OPD,2025-03-01,2025-03-02,-5,,"], HEADER, "row 1, amount_claimed"),
        (["C-1,M-1,CS,OPD,2025-03-01,2025-03-02,1 500,,"], HEADER, "row 1, amount_claimed"),
        (["C-1,M-1,CS,OPD,2025-03-01,2025-03-02,12.5,,"], HEADER, "more decimals than XOF"),
        (["C-1,M-1,CS,OPD,2025-03-01,2025-03-02,10,2025-13-01,"], HEADER, "row 1, paid_on"),
        (
            ["C-1,M-1,CS,OPD,2025-03-01,2025-03-02,10,,", "C-1,M-1,CS,OPD,2025-03-04,2025-03-05,10,,"],
            HEADER,
            "row 2, claim_ref: C-1 is already on row 1",
        ),
        (["C-1,M-1,CS,OPD,2025-03-01,2025-03-02,10,,,x"], HEADER + ",remark", "remark: unknown column"),
        (
            ["C-1,M-1,CS,OPD,2025-03-01,2025-03-02"],
            HEADER.replace(",amount_claimed", "").replace(",paid_on,diagnosis_code", ""),
            "amount_claimed: required column",
        ),
        (["C 1,M-1,CS,OPD,2025-03-01,2025-03-02,10,,"], HEADER, "row 1, claim_ref"),
    ],
)
def test_file_errors_reject_the_whole_file(runner, session, scheme, tmp_path, rows, header, message):
    good = "C-0,M-1,CS,OPD,2025-03-01,2025-03-02,3000,,"
    if header == HEADER:
        rows = [good, *rows]
        message = message.replace("row 2", "row 3").replace("row 1", "row 2")
    path = write(tmp_path, "claims.csv", *rows, header=header)
    result = run_import(runner, path)
    assert result.exit_code == 1
    assert message in result.stderr
    assert "nothing imported" in result.stderr
    assert count(session) == 0


def test_a_changed_claim_is_a_conflict(runner, session, scheme, tmp_path):
    assert run_import(runner, write(tmp_path, "a.csv", "C-1,M-1,CS,OPD,2025-03-01,2025-03-02,3000,,")).exit_code == 0
    changed = write(
        tmp_path, "b.csv", "C-1,M-1,CS,OPD,2025-03-01,2025-03-02,3500,,", "C-2,M-1,CS,OPD,2025-03-04,2025-03-05,10,,"
    )
    result = run_import(runner, changed)
    assert result.exit_code == 1
    assert "conflict: C-1 is already stored with other values (amount_claimed stored 3000, file 3500)" in result.stderr
    assert count(session) == 1


def test_a_paid_on_ignored_on_a_rejected_claim_is_no_conflict_on_reimport(runner, session, scheme, tmp_path):
    path = write(tmp_path, "a.csv", "C-1,NOBODY,CS,OPD,2025-03-01,2025-03-02,3000,2025-03-10,")
    assert run_import(runner, path).exit_code == 0
    again = run_import(runner, path, "--format", "json")
    assert again.exit_code == 0 and json.loads(again.stdout) == {"added": 0, "unchanged": 1}


def test_dry_run_writes_nothing(runner, session, scheme, tmp_path):
    path = write(tmp_path, "a.csv", "C-1,M-1,CS,OPD,2025-03-01,2025-03-02,3000,,")
    result = run_import(runner, path, "--dry-run", "--format", "json")
    assert result.exit_code == 0 and json.loads(result.stdout) == {"added": 1, "unchanged": 0}
    assert count(session) == 0


def test_unknown_scheme_is_rejected(runner, session, scheme, tmp_path):
    path = write(tmp_path, "a.csv", "C-1,M-1,CS,OPD,2025-03-01,2025-03-02,3000,,")
    result = runner.invoke(args=["import", "claims", "--scheme", "NOPE", path])
    assert result.exit_code == 1


def test_export_format(runner, session, scheme, tmp_path):
    path = write(
        tmp_path,
        "claims.csv",
        "b-1,M-1,CS,OPD,2025-03-01,2025-03-02,3000,,",  # lower case sorts after upper case
        "B-2,M-1,CS,OPD,2025-03-01,2025-03-02,9000,,",  # capped at the tariff: REDUCED
        "A/2025/1,NOBODY,CS,OPD,2025-04-01,2025-04-02,3000,,",
        "A.1,M-1,HR,HOSP,2025-05-01,2025-05-02,1001,,",
    )
    assert run_import(runner, path).exit_code == 0
    result = runner.invoke(args=["claims", "export", "--scheme", "MUT-TEST"])
    assert result.exit_code == 0
    assert result.stdout == (
        "claim_ref,member_no,benefit_code,status,amount_claimed,amount_approved,reasons\n"
        "A.1,M-1,HOSP,APPROVED,1001,701,\n"
        "A/2025/1,NOBODY,OPD,REJECTED,3000,0,UNKNOWN_MEMBER\n"
        "B-2,M-1,OPD,REDUCED,9000,3200,TARIFF_CAPPED\n"
        "b-1,M-1,OPD,APPROVED,3000,2400,\n"
    )
    window = runner.invoke(
        args=["claims", "export", "--scheme", "MUT-TEST", "--from", "2025-04-01", "--to", "2025-04-30"]
    )
    assert window.stdout.splitlines()[1:] == ["A/2025/1,NOBODY,OPD,REJECTED,3000,0,UNKNOWN_MEMBER"]
    assert runner.invoke(args=["claims", "export", "--scheme", "MUT-TEST", "--from", "2025-4-1"]).exit_code == 2


def test_export_quotes_only_where_needed(session, scheme):
    from mhi.claims.queries import export_csv

    db.session.add(
        Claim(
            scheme_id=scheme.id,
            claim_ref="Q-1",
            member_no='a,"b"',
            benefit_code="OPD",
            date_of_service=date(2025, 1, 1),
            date_submitted=date(2025, 1, 1),
            recorded_on=date(2025, 1, 1),
            amount_claimed=10,
            status="REJECTED",
            amount_approved=0,
            reasons="UNKNOWN_MEMBER",
        )
    )
    db.session.flush()
    assert export_csv(db.session, scheme).splitlines()[1] == 'Q-1,"a,""b""",OPD,REJECTED,10,0,UNKNOWN_MEMBER'


def test_large_files_take_the_bulk_paths(runner, session, scheme, tmp_path, monkeypatch):
    """Above IN_LIMIT keys the lookups load the scheme's rows and filter in Python; the results are the same."""
    from mhi.claims import imports, services

    monkeypatch.setattr(imports, "IN_LIMIT", 1)
    monkeypatch.setattr(services, "IN_LIMIT", 1)
    rows = ["C-1,M-1,CS,OPD,2025-03-01,2025-03-02,3000,,", "C-2,M-2,CS,OPD,2025-03-01,2025-03-02,3000,,"]
    assert run_import(runner, write(tmp_path, "a.csv", *rows)).exit_code == 0
    second = write(tmp_path, "b.csv", *rows, "C-3,M-1,CS,OPD,2025-03-01,2025-03-04,3000,,")
    result = run_import(runner, second, "--format", "json")
    assert json.loads(result.stdout) == {"added": 1, "unchanged": 2}
    assert [row[:4] for row in claims(session)][-1] == ("C-3", "REJECTED", "0", "DUPLICATE")
    changed = write(tmp_path, "c.csv", rows[0].replace("3000", "3100"), rows[1])
    assert run_import(runner, changed).exit_code == 1


def test_guarantee_ref_column_is_read_kept_and_compared(runner, session, scheme, tmp_path):
    header = HEADER + ",guarantee_ref"
    path = write(tmp_path, "claims.csv", "C-1,M-1,CS,OPD,2025-03-01,2025-03-02,3000,,,PEC/2025/0001", header=header)
    assert run_import(runner, path).exit_code == 0
    session.expire_all()
    # No such letter: decided as if it cited none (adjudication.md "Guarantee letters"), the reference kept.
    assert session.scalar(select(Claim.guarantee_ref)) == "PEC/2025/0001"
    assert claims(session)[0][1] == "APPROVED"
    changed = write(tmp_path, "b.csv", "C-1,M-1,CS,OPD,2025-03-01,2025-03-02,3000,,,PEC/2025/0002", header=header)
    result = run_import(runner, changed)
    assert result.exit_code == 1
    assert "guarantee_ref stored PEC/2025/0001, file PEC/2025/0002" in result.stderr
    bad = write(tmp_path, "c.csv", "C-2,M-1,CS,OPD,2025-03-01,2025-03-02,3000,,,PEC 1", header=header)
    assert "guarantee_ref" in run_import(runner, bad).stderr
    assert count(session) == 1
