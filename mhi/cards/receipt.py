"""The slip handed to a household for one contribution receipt: A6, or an 80 mm till roll whose page is exactly
as long as its content.

It shows the receipt number, the scheme, the household, the amount, the date, the method, the collector, and
how far the household is paid after this receipt: ``household_account`` on the receipt's date counts every
receipt dated on or before it (contributions.md §3, "C(D)"). A reversal's slip says what it reverses and why; a
receipt dated on or after the strike-off date says it pays nothing (contributions.md §3).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import date
from xml.sax.saxutils import escape

from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A6
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
from sqlalchemy import select
from sqlalchemy.orm import Session

from mhi.cards.statement import Formats, coverage_sentence, document_styles, paid_until_sentence
from mhi.contributions.models import Receipt
from mhi.contributions.services import household_account
from mhi.core import clock
from mhi.core.pdf import FONT_BOLD
from mhi.members.models import Household, Person
from mhi.schemes.models import Scheme

Gettext = Callable[[str], str]

SLIP_SIZES = ("a6", "roll80")
#: scheme.settings["receipt_slip"] picks the default size; a query parameter may override it per print.
DEFAULT_SLIP_SIZE = "a6"
ROLL_WIDTH = 80 * mm
ROLL_MARGIN = 4 * mm


def slip_size(scheme: Scheme, requested: str | None = None) -> str:
    """The size asked for if it is known, else the scheme's setting, else A6."""
    if requested in SLIP_SIZES:
        return requested
    setting = (scheme.settings or {}).get("receipt_slip")
    return setting if setting in SLIP_SIZES else DEFAULT_SLIP_SIZE


def receipt_pdf(
    session: Session,
    receipt: Receipt,
    *,
    size: str,
    language: str,
    gettext: Gettext,
    today: date | None = None,
) -> bytes:
    """Render the slip of ``receipt`` on ``size`` ("a6" or "roll80") and return the PDF bytes."""
    if size not in SLIP_SIZES:
        raise ValueError(f"unknown slip size {size!r}")
    _ = gettext
    scheme = session.get(Scheme, receipt.scheme_id)
    household = session.get(Household, receipt.household_id)
    head = session.scalar(
        select(Person)
        .where(Person.household_id == household.id)
        .order_by((Person.relation != "head"), Person.member_no)
        .limit(1)
    )
    account = household_account(session, household, receipt.date)
    line = next((x for x in account.receipts if x.id == receipt.id), None)
    fmt = Formats(language, scheme)
    styles = document_styles()
    narrow = size == "roll80"
    centred = ParagraphStyle("centred", parent=styles["body"], alignment=TA_CENTER)
    amount_style = ParagraphStyle(
        "amount", parent=styles["body"], fontName=FONT_BOLD, fontSize=14, leading=18, alignment=TA_CENTER
    )
    methods = {"cash": _("cash"), "mobile_money": _("mobile money"), "bank": _("bank")}

    story: list = [
        Paragraph(escape(scheme.name), ParagraphStyle("s", parent=styles["scheme"], alignment=TA_CENTER)),
        Paragraph(escape(_("Contribution receipt")), centred),
        Paragraph(
            escape(_("No. %(number)s") % {"number": receipt.receipt_no}),
            ParagraphStyle("n", parent=centred, fontName=FONT_BOLD),
        ),
        Spacer(1, 2 * mm),
        Paragraph(escape(fmt.money(receipt.amount)), amount_style),
        Spacer(1, 2 * mm),
    ]
    rows = [
        (_("Date"), fmt.day(receipt.date)),
        (_("Household"), household.ref),
        (_("Head of household"), head.full_name if head else "—"),
        (_("Method"), methods.get(receipt.method, receipt.method)),
    ]
    if receipt.operator:
        rows.append((_("Operator"), receipt.operator))
        rows.append((_("Transaction"), receipt.transaction_id or "—"))
    rows.append((_("Collector"), receipt.collector or "—"))
    if receipt.reversal_of_id is not None:
        original = session.get(Receipt, receipt.reversal_of_id)
        rows.append((_("Reverses"), original.receipt_no if original else "—"))
        rows.append((_("Reason"), receipt.reason or "—"))
    label_width = 26 * mm if narrow else 30 * mm
    value_width = (ROLL_WIDTH - 2 * ROLL_MARGIN if narrow else A6[0] - 16 * mm) - label_width
    data = [
        [Paragraph(escape(label), styles["label"]), Paragraph(escape(value), styles["body"])] for label, value in rows
    ]
    table = Table(data, colWidths=(label_width, value_width), hAlign="LEFT")
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("TOPPADDING", (0, 0), (-1, -1), 1),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 1),
            ]
        )
    )
    story += [table, Spacer(1, 3 * mm)]
    if line is not None and line.refund_or_reenrol:
        note = _("Received after the household was struck off: it pays no period (refund or re-enrolment).")
        story.append(Paragraph(escape(note), styles["body"]))
    else:
        story.append(Paragraph(escape(paid_until_sentence(account, _, fmt)), styles["body"]))
        story.append(Paragraph(escape(coverage_sentence(account, _, fmt)), styles["body"]))
    story += [
        Spacer(1, 3 * mm),
        Paragraph(escape(_("Printed on %(day)s") % {"day": fmt.day(today or clock.today())}), styles["small"]),
        Paragraph(escape(_("Keep this receipt.")), styles["small"]),
    ]

    buffer = io.BytesIO()
    title = f"{_('Contribution receipt')} {receipt.receipt_no}"
    if narrow:
        width = ROLL_WIDTH - 2 * ROLL_MARGIN
        height = _story_height(story, width) + 2 * ROLL_MARGIN + 6 * mm
        doc = SimpleDocTemplate(
            buffer,
            pagesize=(ROLL_WIDTH, height),
            leftMargin=ROLL_MARGIN,
            rightMargin=ROLL_MARGIN,
            topMargin=ROLL_MARGIN,
            bottomMargin=ROLL_MARGIN,
            title=title,
            author=scheme.name,
            invariant=1,
        )
    else:
        doc = SimpleDocTemplate(
            buffer,
            pagesize=A6,
            leftMargin=8 * mm,
            rightMargin=8 * mm,
            topMargin=8 * mm,
            bottomMargin=8 * mm,
            title=title,
            author=scheme.name,
            invariant=1,
        )
    doc.build(story)
    return buffer.getvalue()


def _story_height(story: list, width: float) -> float:
    """The height the flowables take in a frame ``width`` wide, spacing included (for the roll's page length)."""
    total = 0.0
    for flowable in story:
        _, height = flowable.wrap(width, 10_000)
        total += height + flowable.getSpaceBefore() + flowable.getSpaceAfter()
    # The frame's own padding (6 pt top and bottom by default) sits inside the margins.
    return total + 12
