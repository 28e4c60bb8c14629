"""A provider payment batch as a printable PDF: the claims listed (reference, member, date of service, amount
approved) and the total, amounts formatted for the locale with Babel (conventions.md "Money")."""

from __future__ import annotations

import io
from decimal import Decimal
from xml.sax.saxutils import escape

from flask_babel import gettext as _
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from mhi.core import formatting
from mhi.core.pdf import FONT, FONT_BOLD, money_formatter, stylesheet


def batch_pdf(scheme, batch, claims, locale: str) -> bytes:
    """The PDF of ``batch`` of ``scheme`` with ``claims`` (in the order given) for ``locale``."""
    styles = stylesheet()
    money = money_formatter(scheme.currency, locale)
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=18 * mm,
        bottomMargin=18 * mm,
        title=_("Payment batch %(number)s", number=batch.number),
        author=scheme.name,
    )
    provider = batch.provider
    story = [
        # Names are the user's text: escaped, as a Paragraph reads < and & as mark-up (tests/trust).
        Paragraph(escape(scheme.name), styles["Heading2"]),
        Paragraph(_("Payment batch %(number)s", number=batch.number), styles["Title"]),
        Paragraph(escape(_("Provider: %(name)s (%(code)s)", name=provider.name, code=provider.code)), styles["Normal"]),
    ]
    if batch.paid_on is not None:
        story.append(Paragraph(_("Paid on %(day)s", day=formatting.day(batch.paid_on, locale)), styles["Normal"]))
    story.append(Spacer(1, 6 * mm))

    header = [_("Claim"), _("Member"), _("Date of service"), _("Amount approved")]
    rows = [header]
    total = Decimal(0)
    for claim in claims:
        person = claim.person
        member = claim.member_no if person is None else f"{claim.member_no} — {person.full_name}"
        rows.append(
            [claim.claim_ref, member, formatting.day(claim.date_of_service, locale), money(claim.amount_approved)]
        )
        total += claim.amount_approved
    rows.append([_("Total"), _("%(n)s claims", n=len(claims)), "", money(total)])
    table = Table(rows, colWidths=[42 * mm, 68 * mm, 30 * mm, 34 * mm], repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), FONT, 9),
                ("FONT", (0, 0), (-1, 0), FONT_BOLD, 9),
                ("FONT", (0, -1), (-1, -1), FONT_BOLD, 9),
                ("ALIGN", (3, 0), (3, -1), "RIGHT"),
                ("LINEBELOW", (0, 0), (-1, 0), 0.6, colors.black),
                ("LINEABOVE", (0, -1), (-1, -1), 0.6, colors.black),
                ("ROWBACKGROUNDS", (0, 1), (-1, -2), [colors.white, colors.HexColor("#f2f2f2")]),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    story.append(table)
    story.append(Spacer(1, 12 * mm))
    story.append(Paragraph(_("Received by the provider (name, date, signature):"), styles["Normal"]))
    document.build(story)
    return buffer.getvalue()


def letter_pdf(scheme, letter, person, provider, benefit_name: str, locale: str) -> bytes:
    """The guarantee letter (prise en charge) the provider keeps: who, what, where, until when, up to how much,
    and a QR code holding exactly the letter number, which the provider cites on its claim."""
    from reportlab.platypus import Flowable

    from mhi.core.qr import draw_qr, qr_matrix, qr_widget

    class _Qr(Flowable):
        """The letter number's QR code, 30 mm square."""

        size = 30 * mm

        def wrap(self, available_width, available_height):
            return self.size, self.size

        def draw(self):
            draw_qr(self.canv, qr_matrix(qr_widget(letter.number)), 0, 0, self.size)

    styles = stylesheet()
    money = money_formatter(scheme.currency, locale)
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=18 * mm,
        bottomMargin=18 * mm,
        title=_("Guarantee letter %(number)s", number=letter.number),
        author=scheme.name,
    )
    rows = [
        [_("Letter number"), letter.number],
        [_("Member"), f"{letter.member_no} — {person.full_name}"],
        [_("Benefit"), f"{letter.benefit_code} — {benefit_name}"],
        [_("Provider"), f"{provider.code} — {provider.name}"],
        [
            _("Valid"),
            _(
                "from %(start)s to %(end)s included",
                start=formatting.day(letter.valid_from, locale),
                end=formatting.day(letter.valid_to, locale),
            ),
        ],
        [_("Up to"), money(letter.amount)],
        [_("Issued on"), formatting.day(letter.issued_on, locale)],
    ]
    table = Table([[Paragraph(escape(str(a)), styles["Normal"]), Paragraph(escape(str(b)), styles["Normal"])]
                   for a, b in rows], colWidths=[45 * mm, 120 * mm])  # fmt: skip
    table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), FONT),
                ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    story = [
        Paragraph(escape(scheme.name), styles["Heading2"]),
        Paragraph(_("Guarantee letter (prise en charge) %(number)s", number=letter.number), styles["Title"]),
        Spacer(1, 4 * mm),
        table,
        Spacer(1, 6 * mm),
        Paragraph(
            escape(
                _(
                    "The scheme pays the provider for this care up to the amount above, under the benefit's rules."
                    " Cite the letter number on the claim. Not valid after its last day, nor once cancelled."
                )
            ),
            styles["Normal"],
        ),
        Spacer(1, 6 * mm),
        _Qr(),
    ]
    if letter.note:
        story.insert(4, Paragraph(escape(letter.note), styles["Normal"]))
    document.build(story)
    return buffer.getvalue()
