"""A group payer's statement for [F, T] (issue 14): what the group paid and for whom — each payment with its date,
amount, method and transaction, and under it each household's part with the receipt it made; the total paid.

Read only: the lines come from ``mhi.payments.groups.group_lines``. Names and references go through ``escape``.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer

from mhi.cards.statement import Formats, _pairs, _section, _table, document_styles
from mhi.core import clock
from mhi.core.pdf import FONT
from mhi.payments.groups import group_lines, member_households
from mhi.payments.models import GroupPayer
from mhi.schemes.models import Scheme

Gettext = Callable[[str], str]


def group_statement_pdf(
    session, payer: GroupPayer, date_from: date, date_to: date, *, language: str, gettext: Gettext, today=None
) -> bytes:
    """Render the group's statement and return the PDF bytes (``gettext`` already in ``language``)."""
    _ = gettext
    scheme = session.get(Scheme, payer.scheme_id)
    fmt = Formats(language, scheme)
    styles = document_styles()
    lines = group_lines(session, payer, date_from, date_to)
    kinds = {
        "self_help_group": _("self-help group"),
        "cooperative": _("cooperative"),
        "gie": _("economic interest group (GIE)"),
        "employer": _("employer"),
        "sponsor_abroad": _("sponsor abroad"),
    }
    methods = {"cash": _("cash"), "mobile_money": _("mobile money"), "bank": _("bank")}
    payments = {line.payment_id: line for line in lines}
    total = sum((line.payment_amount for line in payments.values()), Decimal(0))
    story: list = [
        Paragraph(escape(scheme.name), styles["scheme"]),
        Paragraph(escape(_("Statement of a group payer")), styles["title"]),
        Paragraph(
            escape(_("From %(start)s to %(end)s") % {"start": fmt.day(date_from), "end": fmt.day(date_to)}),
            styles["body"],
        ),
        Spacer(1, 3 * mm),
        _pairs(
            [
                (_("Payer"), f"{payer.name} ({payer.code})"),
                (_("Kind"), kinds.get(payer.kind, payer.kind)),
                (_("Member households"), str(len(member_households(session, payer)))),
                (_("Payments"), str(len(payments))),
                (_("Total paid"), fmt.money(total)),
            ],
            styles,
        ),
    ]
    story += _section(_("Payments and the households they paid for"), styles)
    if lines:
        rows = [[_("Date"), _("Payment"), _("Method"), _("Household"), _("Receipt no."), _("Part")]]
        for line in lines:
            how = methods.get(line.method, line.method)
            if line.operator:
                how += f" · {line.operator} {line.transaction_id or ''}".rstrip()
            rows.append(
                [
                    fmt.day(line.date), fmt.money(line.payment_amount), how, line.household_ref, line.receipt_no,
                    fmt.money(line.amount),
                ]
            )  # fmt: skip
        rows.append(["", "", "", _("Total"), "", fmt.money(sum((x.amount for x in lines), Decimal(0)))])
        story.append(_table(rows, styles, widths=(24, 28, 44, 30, 28, 26), numeric=(1, 5), total=True))
    else:
        story.append(Paragraph(escape(_("No payment in this period.")), styles["body"]))

    printed = _("Printed on %(day)s") % {"day": fmt.day(today or clock.today())}

    def footer(canvas, doc) -> None:
        """Page number and print date on every page."""
        canvas.saveState()
        canvas.setFont(FONT, 7)
        canvas.setFillColor(colors.grey)
        canvas.drawString(15 * mm, 10 * mm, f"{scheme.name} — {payer.code} — {printed} — {_('Page')} {doc.page}")
        canvas.restoreState()

    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer, pagesize=A4, leftMargin=15 * mm, rightMargin=15 * mm, topMargin=15 * mm, bottomMargin=18 * mm,
        title=f"{_('Statement of a group payer')} {payer.code}", author=scheme.name, invariant=1,
    )  # fmt: skip
    doc.build(story, onFirstPage=footer, onLaterPages=footer)
    return buffer.getvalue()
