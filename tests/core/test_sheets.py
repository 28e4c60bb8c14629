"""Spreadsheets for the board (issue 16): CSV that a French Excel opens in columns, XLSX with real numbers and
dates, headers in the user's language, formulas never run."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

from flask_babel import force_locale
from openpyxl import load_workbook

from mhi.core import sheets
from mhi.reports.services import indicators_table


def _table() -> sheets.Table:
    columns = [
        sheets.Column("Ménage"),
        sheets.Column("Arriérés", "amount", "XOF"),
        sheets.Column("Taux", "ratio"),
        sheets.Column("Payé jusqu'au", "date"),
        sheets.Column("Montant INR", "amount", "INR"),
    ]
    rows = [
        ["H-1", Decimal(1250), Decimal("0.8125"), date(2025, 4, 10), Decimal("60.50")],
        ["=HYPERLINK(1)", None, None, None, Decimal("0.00")],
    ]
    return sheets.Table("Liste des arriérés", columns, rows)


def test_csv_for_a_french_spreadsheet_has_a_bom_semicolons_and_decimal_commas():
    data = sheets.to_csv(_table(), "fr_SN")
    assert data.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == ["Ménage", "Arriérés", "Taux", "Payé jusqu'au", "Montant INR"]
    assert rows[1] == ["H-1", "1250", "0,8125", "2025-04-10", "60,50"]
    assert rows[2][0] == "'=HYPERLINK(1)"  # text that looks like a formula is neutralised


def test_csv_for_an_english_spreadsheet_keeps_commas_and_points():
    rows = list(csv.reader(io.StringIO(sheets.to_csv(_table(), "en_IN").decode("utf-8-sig"))))
    assert rows[1] == ["H-1", "1250", "0.8125", "2025-04-10", "60.50"]
    assert sheets.delimiter_for("fr") == ";" and sheets.delimiter_for("en") == ","


def test_xlsx_has_numbers_as_numbers_dates_as_dates_and_formats():
    book = load_workbook(io.BytesIO(sheets.to_xlsx([_table(), _table()])))
    assert book.sheetnames == ["Liste des arriérés", "Liste des arriérés (2)"]
    sheet = book.active
    header = [cell.value for cell in sheet[1]]
    assert header == ["Ménage", "Arriérés", "Taux", "Payé jusqu'au", "Montant INR"]
    assert all(cell.font.bold for cell in sheet[1])
    ref, amount, ratio, paid_until, inr = sheet[2]
    assert amount.value == 1250 and amount.data_type == "n" and amount.number_format == "#,##0"
    assert ratio.value == 0.8125 and ratio.number_format == "0.0%"
    assert paid_until.value.date() == date(2025, 4, 10) and paid_until.is_date
    assert inr.number_format == "#,##0.00"
    formula = sheet["A3"]
    assert formula.data_type == "s" and formula.value == "'=HYPERLINK(1)"
    assert sheet.column_dimensions["A"].width >= len("'=HYPERLINK(1)")
    assert sheet.freeze_panes == "A2"


def test_indicator_headers_follow_the_language(app):
    """The same report table, in French and in English."""
    from types import SimpleNamespace

    from mhi.reports import indicators as ind

    report = SimpleNamespace(
        indicators={key: None for key, _ in ind.INDICATORS} | {"contributions_earned": Decimal(17852)},
        thresholds={"collection_rate": "red"},
        currency="XOF",
    )
    with app.test_request_context():
        with force_locale("fr"):
            french = sheets.to_csv(indicators_table(report), "fr").decode("utf-8-sig")
        with force_locale("en"):
            english = sheets.to_csv(indicators_table(report), "en").decode("utf-8-sig")
    assert french.splitlines()[0] == "Indicateur;Valeur;Voyant;Clé"
    assert english.splitlines()[0] == "Indicator,Value,Light,Key"
    assert ";17852;;contributions_earned" in french
    assert ";rouge;collection_rate" in french
