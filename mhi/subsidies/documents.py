"""The subsidy claim as the funder receives it (issue 14): a PDF to sign and send, and the same figures as an
XLSX workbook (openpyxl) for the funder's own checks. Both are built from ``ClaimDocument``s — one per scheme of
the programme — and show every beneficiary household, the totals by scheme, what was received and what is
outstanding. Read only; every text goes into the PDF through ``escape``.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from decimal import Decimal
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from mhi.core.formatting import day, display_locale, money
from mhi.core.pdf import FONT, FONT_BOLD, register_fonts, stylesheet
from mhi.subsidies.claims import ClaimDocument

Gettext = Callable[[str], str]
GRID = colors.HexColor("#9aa7b4")
HEADER = colors.HexColor("#e8eef4")


def _styles() -> dict[str, ParagraphStyle]:
    register_fonts()
    body = ParagraphStyle("body", parent=stylesheet()["BodyText"], fontName=FONT, fontSize=9, leading=11.5)
    return {
        "title": ParagraphStyle("title", parent=body, fontName=FONT_BOLD, fontSize=15, leading=19),
        "section": ParagraphStyle("section", parent=body, fontName=FONT_BOLD, fontSize=11, leading=14, spaceBefore=8),
        "body": body,
        "cell": ParagraphStyle("cell", parent=body, fontSize=7.5, leading=9),
        "bold": ParagraphStyle("bold", parent=body, fontName=FONT_BOLD, fontSize=7.5, leading=9),
        "right": ParagraphStyle("right", parent=body, fontSize=7.5, leading=9, alignment=TA_RIGHT),
    }


def _grid(rows: list[list[str]], styles, widths: Sequence[float], numeric: Sequence[int], total: bool) -> Table:
    data = []
    for index, row in enumerate(rows):
        bold = index == 0 or (total and index == len(rows) - 1)
        data.append(
            [
                Paragraph(escape(str(value)), styles["bold" if bold else ("right" if c in numeric else "cell")])
                for c, value in enumerate(row)
            ]
        )
    table = Table(data, colWidths=[w * mm for w in widths], repeatRows=1, hAlign="LEFT")
    table.setStyle(
        TableStyle(
            [("GRID", (0, 0), (-1, -1), 0.4, GRID), ("BACKGROUND", (0, 0), (-1, 0), HEADER),
             ("VALIGN", (0, 0), (-1, -1), "TOP")]
        )
    )  # fmt: skip
    return table


def _labels(_: Gettext) -> list[str]:
    return [_("Household"), _("Head of household"), _("Persons"), _("Category"), _("Months"), _("Amount due")]


def claim_pdf(documents: Sequence[ClaimDocument], *, language: str, country: str | None, gettext: Gettext) -> bytes:
    """The claim of one programme over its schemes, with the totals by scheme; PDF bytes."""
    _ = gettext
    first = documents[0]
    locale = display_locale(language, country)
    styles = _styles()

    def amount(value: Decimal) -> str:
        return money(value, first.currency, locale)

    story: list = [
        Paragraph(escape(_("Subsidy claim")), styles["title"]),
        Paragraph(
            escape(
                _("Programme %(programme)s (%(funder)s), from %(start)s to %(end)s")
                % {
                    "programme": first.programme_code,
                    "funder": first.funder,
                    "start": day(first.date_from, locale),
                    "end": day(first.date_to, locale),
                }
            ),
            styles["body"],
        ),  # fmt: skip
    ]
    for document in documents:
        story.append(Paragraph(escape(f"{document.scheme_name} ({document.scheme_code})"), styles["section"]))
        if document.signed_at:
            signed = _("Signed off by %(who)s on %(day)s") % {
                "who": document.signed_by or "—", "day": day(document.signed_at.date(), locale)
            }  # fmt: skip
        else:
            signed = _("Draft: not signed off yet")
        story.append(Paragraph(escape(signed), styles["body"]))
        rows = [_labels(_)] + [
            [line.household_ref, line.head, str(line.persons), line.category, str(line.months), amount(line.amount)]
            for line in document.lines
        ]
        rows.append(["", _("Total"), str(sum(line.persons for line in document.lines)), "", "", amount(document.due)])
        story.append(_grid(rows, styles, (28, 56, 16, 30, 16, 34), numeric=(2, 4, 5), total=True))
    story.append(Paragraph(escape(_("Totals by scheme")), styles["section"]))
    rows = [[_("Scheme"), _("Households"), _("Due"), _("Received"), _("Outstanding")]]
    for document in documents:
        rows.append(
            [document.scheme_code, str(len(document.lines)), amount(document.due), amount(document.received),
             amount(document.outstanding)]
        )  # fmt: skip
    rows.append(
        [_("Total"), str(sum(len(d.lines) for d in documents)), amount(sum((d.due for d in documents), Decimal(0))),
         amount(sum((d.received for d in documents), Decimal(0))),
         amount(sum((d.outstanding for d in documents), Decimal(0)))]
    )  # fmt: skip
    story += [_grid(rows, styles, (40, 24, 38, 38, 40), numeric=(1, 2, 3, 4), total=True), Spacer(1, 4 * mm)]
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer, pagesize=A4, leftMargin=15 * mm, rightMargin=15 * mm, topMargin=15 * mm, bottomMargin=15 * mm,
        title=f"{_('Subsidy claim')} {first.programme_code}", invariant=1,
    )  # fmt: skip
    doc.build(story)
    return buffer.getvalue()


def _append(sheet, row: list) -> None:
    """Add a row; texts stay texts (a name starting with "=" must not become a formula)."""
    sheet.append(row)
    for cell in sheet[sheet.max_row]:
        if isinstance(cell.value, str):
            cell.data_type = "s"


def claim_xlsx(documents: Sequence[ClaimDocument], *, gettext: Gettext) -> bytes:
    """The same claim as a workbook: one sheet of lines (with the scheme on each), one of totals by scheme.
    Amounts are written as exact decimals (openpyxl stores them as numbers; never through float arithmetic)."""
    import openpyxl

    _ = gettext
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = _("Households")[:31]
    _append(sheet, [_("Scheme"), *_labels(_)])
    for document in documents:
        for line in document.lines:
            _append(
                sheet,
                [document.scheme_code, line.household_ref, line.head, line.persons, line.category, line.months,
                 line.amount]
            )  # fmt: skip
    totals = book.create_sheet(_("Totals by scheme")[:31])
    _append(totals, [_("Scheme"), _("Households"), _("Due"), _("Received"), _("Outstanding")])
    for document in documents:
        _append(
            totals, [document.scheme_code, len(document.lines), document.due, document.received, document.outstanding]
        )
    _append(
        totals,
        [_("Total"), sum(len(d.lines) for d in documents), sum((d.due for d in documents), Decimal(0)),
         sum((d.received for d in documents), Decimal(0)), sum((d.outstanding for d in documents), Decimal(0))]
    )  # fmt: skip
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
