"""The printed settlement report of the guarantee pool (pooling.md "Output"): the pool's figures, every number
per scheme, and the claims that reached the excess-of-loss layer by reference and amount (never a diagnosis).

Fonts and the money formatter come from mhi/core/pdf.py; labels follow the locale's language.
"""

from __future__ import annotations

import io
from xml.sax.saxutils import escape

from flask_babel import force_locale
from flask_babel import gettext as _
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer

from mhi.core.pdf import fitted_table, money_formatter, register_fonts, stylesheet
from mhi.pooling.services import TRIGGERING


def pool_labels() -> dict[str, str]:
    """Names of the pool's and the schemes' figures (pooling.md), translated."""
    return {
        "opening_balance": _("Opening balance"),
        "contributions": _("Contributions to the pool"),
        "available": _("Available"),
        "paid": _("Paid out"),
        "closing_balance": _("Closing balance"),
        "contributions_earned": _("Contributions earned"),
        "claims_incurred": _("Claims incurred"),
        "pool_contribution": _("Pool contribution"),
        "excess_of_loss_claim": _("Excess-of-loss claim"),
        "retained_claims": _("Retained claims"),
        "stop_loss_claim": _("Stop-loss claim"),
        "excess_of_loss_paid": _("Excess-of-loss paid"),
        "stop_loss_paid": _("Stop-loss paid"),
        "net_effect": _("Net effect for the scheme"),
    }


def _grid(rows, width: float):
    """A table in DejaVu Sans with a header row, columns sized from their content, figures right-aligned."""
    return fitted_table(rows, width)


def settlement_pdf(settlement, federation, locale: str) -> bytes:
    """The settlement report of one stored settlement (draft or closed), as PDF bytes."""
    document = settlement.result
    with force_locale(locale.split("_")[0]):
        register_fonts()
        styles = stylesheet()
        money = money_formatter(document["currency"], locale)
        labels = pool_labels()
        pagesize = landscape(A4)
        width = pagesize[0] - 30 * mm
        period = document["period"]
        status = _("closed") if settlement.status == "closed" else _("draft")
        # Names are data, not markup: escaped so "<b>" in a name prints as typed.
        title = escape(f"{federation.name} ({federation.code}) — {period['from']} … {period['to']} — {status}")
        story = [
            Paragraph(_("Guarantee pool settlement"), styles["Title"]),
            Paragraph(title, styles["Heading2"]),
            Spacer(1, 4 * mm),
        ]
        pool_rows = [[_("Pool"), _("Amount")]]
        pool_rows += [
            [labels[key], money(document[key])]
            for key in ("opening_balance", "contributions", "available", "paid", "closing_balance")
        ]
        story += [_grid(pool_rows, width * 0.6), Spacer(1, 4 * mm)]
        codes = list(document["schemes"])
        keys = list(next(iter(document["schemes"].values()))) if codes else []
        scheme_rows = [["", *codes]]
        scheme_rows += [[labels[key], *(money(document["schemes"][code][key]) for code in codes)] for key in keys]
        story += [_grid(scheme_rows, width), Spacer(1, 4 * mm)]
        triggering = document.get(TRIGGERING) or []
        story.append(Paragraph(_("Claims reaching the excess-of-loss layer"), styles["Heading3"]))
        if triggering:
            rows = [[_("Scheme"), _("Claim"), _("Amount approved"), _("Excess-of-loss claim")]]
            rows += [
                [t["scheme"], t["claim_ref"], money(t["amount_approved"]), money(t["excess_of_loss"])]
                for t in triggering
            ]
            story.append(_grid(rows, width * 0.9))
        else:
            story.append(Paragraph(_("None."), styles["Normal"]))
        buffer = io.BytesIO()
        SimpleDocTemplate(
            buffer,
            pagesize=pagesize,
            leftMargin=15 * mm,
            rightMargin=15 * mm,
            topMargin=15 * mm,
            bottomMargin=15 * mm,
            title=title,
            author="mhi",
        ).build(story)
        return buffer.getvalue()
