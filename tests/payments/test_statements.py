"""Operators' statements (data-formats.md statement.csv, cli.md ``import statement``): matched by reference then
phone, receipts made once, waiting lines reconciled by a clerk, operators' own files through their mapping."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from mhi.contributions.models import Receipt
from mhi.contributions.services import household_account, record_receipt
from mhi.core.audit import AuditEvent
from mhi.core.tabular import read_table
from mhi.payments.models import StatementLine
from mhi.payments.statements import (
    StatementError,
    assign_line,
    dismiss_line,
    import_statement,
    read_statement,
)
from mhi.schemes.operators import save_operator
from tests.payments.helpers import E, statement_csv, statement_scheme

STATEMENT = statement_csv(
    "W-1,wave,2025-01-12,1000,,H-001",  # by household reference
    "W-2,wave,2025-01-12,300,,H-002-01",  # by member number (H-002's head)
    "OM-1,orange_money,2025-01-13,1000,+221 77 100 00 02,",  # by phone: H-002
    "OM-2,orange_money,2025-01-13,500,771000033,",  # H-003 and H-004 share that phone: ambiguous
    "OM-3,orange_money,2025-01-14,700,700000000,XYZ",  # nobody
)


def run(session, scheme, text: str, *, dry_run=False, name="statement.csv"):
    table = read_statement(text.encode("utf-8"), name)
    return import_statement(session, scheme, table.header, table.rows, dry_run=dry_run, file=name)


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def setup(session):
    return statement_scheme(session)


def test_lines_matched_by_reference_then_phone(session, setup):
    scheme, households = setup
    result = run(session, scheme, STATEMENT)
    session.commit()
    assert result.ok, result.problems
    assert result.counts() == {"matched": 3, "unmatched": 1, "ambiguous": 1, "already": 0}
    receipts = session.execute(
        select(Receipt.transaction_id, Receipt.operator, Receipt.method, Receipt.amount, Receipt.household_id).order_by(
            Receipt.transaction_id
        )
    ).all()
    assert receipts == [
        ("OM-1", "orange_money", "mobile_money", Decimal(1000), households["H-002"].id),
        ("W-1", "wave", "mobile_money", Decimal(1000), households["H-001"].id),
        ("W-2", "wave", "mobile_money", Decimal(300), households["H-002"].id),
    ]
    statuses = dict(session.execute(select(StatementLine.transaction_id, StatementLine.status)).all())
    assert statuses == {"W-1": "matched", "W-2": "matched", "OM-1": "matched", "OM-2": "ambiguous", "OM-3": "unmatched"}
    # Coverage follows: H-002 paid 1300 = its registration fee (1000) and its first month (300).
    account = household_account(session, households["H-002"], date(2025, 1, 31))
    assert (account.paid_total, account.status) == (Decimal(1300), "covered")


def test_reimport_creates_nothing_new(session, setup):
    scheme, _ = setup
    run(session, scheme, STATEMENT)
    session.commit()
    before = (count(session, Receipt), count(session, StatementLine))
    again = run(session, scheme, STATEMENT)
    session.commit()
    assert again.ok and again.counts() == {"matched": 0, "unmatched": 0, "ambiguous": 0, "already": 5}
    assert (count(session, Receipt), count(session, StatementLine)) == before


def test_ambiguous_and_unmatched_lines_never_become_receipts_on_their_own(session, setup):
    scheme, _ = setup
    run(session, scheme, STATEMENT)
    run(session, scheme, STATEMENT)
    session.commit()
    assert session.scalar(select(func.count()).where(Receipt.transaction_id.in_(["OM-2", "OM-3"]))) == 0


def test_transaction_typed_by_hand_is_not_paid_twice(session, setup):
    scheme, households = setup
    typed = record_receipt(
        session, households["H-001"], date=E, amount=Decimal(1000), operator="wave", transaction_id="W-1"
    )
    session.commit()
    result = run(session, scheme, STATEMENT)
    session.commit()
    assert result.counts()["already"] == 1 and result.counts()["matched"] == 2
    line = session.scalar(select(StatementLine).where(StatementLine.transaction_id == "W-1"))
    assert (line.status, line.receipt_id) == ("matched", typed.id)
    assert session.scalar(select(func.count()).where(Receipt.transaction_id == "W-1")) == 1


def test_dry_run_writes_nothing_and_previews(session, setup):
    scheme, _ = setup
    result = run(session, scheme, STATEMENT, dry_run=True)
    session.rollback()
    assert result.counts() == {"matched": 3, "unmatched": 1, "ambiguous": 1, "already": 0}
    assert [row["status"] for row in result.preview] == ["matched", "matched", "matched", "ambiguous", "unmatched"]
    assert result.preview[0]["household"] == "H-001"
    assert (count(session, Receipt), count(session, StatementLine)) == (0, 0)


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (("W-1,wave,2025-01-12,1000,,H-001", "W-1,wave,2025-01-13,50,,H-002"), "already appears in row 2"),
        (('W-1,wave,2025-01-12,"1000,50",,H-001',), "decimal comma"),
        (("W-1,paypal,2025-01-12,1000,,H-001",), "unknown operator 'paypal'"),
        (("W-1,wave,2025-01-12,-5,,H-001",), "more than 0"),
        (("W 1,wave,2025-01-12,5,,H-001",), "is not a transaction id"),
        (("W-1,wave,12/01/2025,5,,H-001",), "row 2, date"),
    ],
)
def test_bad_statement_writes_nothing(session, setup, lines, expected):
    scheme, _ = setup
    result = run(session, scheme, statement_csv("W-9,wave,2025-01-12,1000,,H-001", *lines))
    session.rollback()
    assert not result.ok
    assert any(expected in str(p) for p in result.problems), [str(p) for p in result.problems]
    assert (count(session, Receipt), count(session, StatementLine)) == (0, 0)


def test_changed_line_on_reimport_is_a_conflict(session, setup):
    scheme, _ = setup
    run(session, scheme, STATEMENT)
    session.commit()
    result = run(session, scheme, statement_csv("W-1,wave,2025-01-12,1500,,H-001"))
    assert not result.ok and "conflict" in str(result.problems[0])


def test_operator_own_export_read_through_its_mapping(session, setup):
    scheme, households = setup
    save_operator(
        session, scheme, code="orange_money", name="Orange Money", method="mobile_money", delimiter=";",
        decimal_comma=True,
        column_map={"transaction_id": "Référence transaction", "date": "Date", "amount": "Montant (F CFA)",
                    "payer_phone": "Numéro payeur", "reference": "Motif"},
    )  # fmt: skip
    session.commit()
    export = (
        "Référence transaction;Date;Montant (F CFA);Frais;Numéro payeur;Motif\n"
        "CI250112.1;2025-01-12;1 000,00;10,00;771000001;H-001\n"
        "CI250112.2;2025-01-12;300;0;;\n"
    )
    result = run(session, scheme, export, name="orange.csv")
    session.commit()
    assert result.ok, [str(p) for p in result.problems]
    assert result.operator == "orange_money"
    assert result.counts() == {"matched": 1, "unmatched": 1, "ambiguous": 0, "already": 0}
    receipt = session.scalar(select(Receipt).where(Receipt.transaction_id == "CI250112.1"))
    assert (receipt.amount, receipt.household_id, receipt.operator) == (
        Decimal(1000),
        households["H-001"].id,
        "orange_money",
    )


def test_operator_export_as_xlsx(session, setup):
    import io

    import openpyxl

    scheme, households = setup
    save_operator(
        session, scheme, code="wave", name="Wave", method="mobile_money",
        column_map={"transaction_id": "Transaction ID", "date": "Date", "amount": "Amount", "reference": "Note"},
    )  # fmt: skip
    session.commit()
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Transaction ID", "Date", "Amount", "Note", "Balance"])
    from datetime import datetime

    sheet.append(["T-77", datetime(2025, 1, 12), 1300, "H-001", 99999])
    data = io.BytesIO()
    book.save(data)
    table = read_statement(data.getvalue(), "wave.xlsx")
    result = import_statement(session, scheme, table.header, table.rows, dry_run=False, file="wave.xlsx")
    session.commit()
    assert result.ok and result.matched == 1
    assert (
        session.scalar(select(Receipt.household_id).where(Receipt.transaction_id == "T-77")) == households["H-001"].id
    )


def test_unknown_columns_name_no_operator(session, setup):
    scheme, _ = setup
    result = run(session, scheme, "Ref;Montant\nX;5\n", name="x.csv")
    assert not result.ok and any("operator" in str(p) for p in result.problems)


def test_clerk_assigns_and_dismisses_waiting_lines(session, setup):
    scheme, households = setup
    run(session, scheme, STATEMENT)
    session.commit()
    ambiguous = session.scalar(select(StatementLine).where(StatementLine.transaction_id == "OM-2"))
    receipt = assign_line(session, ambiguous, households["H-004"])
    session.commit()
    assert (ambiguous.status, ambiguous.receipt_id, receipt.household_id) == (
        "assigned",
        receipt.id,
        households["H-004"].id,
    )
    assert (receipt.operator, receipt.transaction_id, receipt.amount) == ("orange_money", "OM-2", Decimal(500))
    with pytest.raises(StatementError):
        assign_line(session, ambiguous, households["H-003"])  # decided already
    session.rollback()
    stranger = session.scalar(select(StatementLine).where(StatementLine.transaction_id == "OM-3"))
    with pytest.raises(StatementError):
        dismiss_line(session, stranger, note=" ")
    dismiss_line(session, stranger, note="a transfer to the clinic's own wallet")
    session.commit()
    assert stranger.status == "not_ours"
    assert session.scalar(select(func.count()).where(Receipt.transaction_id == "OM-3")) == 0
    actions = set(session.scalars(select(AuditEvent.action).where(AuditEvent.entity == "statement_line")))
    assert actions == {"assigned", "not_ours"}


def test_cli_import_statement(app, runner, setup, tmp_path):
    scheme, _ = setup
    path = tmp_path / "statement.csv"
    path.write_text(STATEMENT, encoding="utf-8")
    dry = runner.invoke(
        args=["import", "statement", "--scheme", scheme.code, str(path), "--dry-run", "--format", "json"]
    )
    assert dry.exit_code == 0, dry.output
    assert json.loads(dry.stdout) == {"matched": 3, "unmatched": 1, "ambiguous": 1, "already": 0}
    first = runner.invoke(args=["import", "statement", "--scheme", scheme.code, str(path), "--format", "json"])
    assert json.loads(first.stdout) == {"matched": 3, "unmatched": 1, "ambiguous": 1, "already": 0}
    again = runner.invoke(args=["import", "statement", "--scheme", scheme.code, str(path)])
    assert again.exit_code == 0 and "0 matched, 0 unmatched, 0 ambiguous, 5 already" in again.stderr
    bad = tmp_path / "bad.csv"
    bad.write_text(statement_csv("X-1,paypal,2025-01-12,5,,"), encoding="utf-8")
    refused = runner.invoke(args=["import", "statement", "--scheme", scheme.code, str(bad)])
    assert refused.exit_code == 1 and "unknown operator" in refused.stderr


def test_read_table_is_what_a_comma_file_goes_through(setup):
    # A comma statement is read by the shared reader unchanged.
    assert read_statement(STATEMENT.encode(), "s.csv") == read_table(STATEMENT.encode(), "s.csv")
