"""Printed monitoring reports (ReportLab platypus): a scheme's report and a federation's consolidated report.

Fonts, styles and the money formatter come from mhi/core/pdf.py (DejaVu Sans prints Babel's ``1 500 F CFA``).
Amounts are formatted for the user's locale with the scheme's country; ratios as percentages; every traffic
light is written as a word, not only a colour, so a black-and-white print keeps it. Labels are translated with
the locale's language (``force_locale``: a PDF is also made from the command line, outside any request).
"""

from __future__ import annotations

import io
from xml.sax.saxutils import escape

from babel.numbers import format_decimal, format_percent
from flask_babel import force_locale
from flask_babel import gettext as _
from reportlab.graphics.charts.lineplots import LinePlot
from reportlab.graphics.shapes import Drawing, String
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.units import mm
from reportlab.platypus import KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table

from mhi.core.pdf import FONT, FONT_BOLD, fitted_table, money_formatter, register_fonts, stylesheet
from mhi.reports import indicators as ind
from mhi.reports.labels import LABELS, grouped_keys

LIGHT_COLOURS = {
    "green": colors.HexColor("#1a7f37"),
    "amber": colors.HexColor("#9a6700"),
    "red": colors.HexColor("#b3261e"),
}


def _language(locale: str) -> str:
    """``fr_SN`` → ``fr``: the language of the labels."""
    return locale.split("_")[0]


def format_value(key: str, value, currency: str, locale: str) -> str:
    """One indicator for print: amounts in the currency, percentages for ratios, a dash for null."""
    if value is None:
        return "—"
    kind = ind.KIND[key]
    if kind == "amount":
        return money_formatter(currency, locale)(value)
    if kind == "count":
        return format_decimal(value, format="#,##0", locale=locale)
    if kind in ("years", "days") or key in ("reserve_months", "liquidity_ratio"):
        return format_decimal(value, format="#,##0.0#", locale=locale)
    return format_percent(value, format="#,##0.0 %", locale=locale)


def light_word(light: str | None) -> str:
    """A traffic light as a translated word."""
    return {"green": _("green"), "amber": _("amber"), "red": _("red")}.get(light or "", "")


def _table(rows: list[list], width: float, *, lights=(), header_rows: int = 1, numeric_from: int = 1):
    """A grid table in DejaVu Sans, columns sized from their content, figures right-aligned, light words in
    their colour (``lights``: (row, column, light))."""
    colours = {(row, col): LIGHT_COLOURS[light] for row, col, light in lights if light}
    return fitted_table(rows, width, header_rows=header_rows, numeric_from=numeric_from, colours=colours)


def _benefit_rows(benefits: dict, currency: str, locale: str, names: dict | None = None) -> list[list[str]]:
    """The per-benefit table: header and one row per benefit, by its name from the product (``names``: code →
    name, ``schemes.queries.benefit_names``; the code when it has none)."""
    names = names or {}
    money = money_formatter(currency, locale)
    rows = [[_("Benefit"), _("Cases"), _("Amount"), _("Average cost"), _("Cases per 1,000 person-years")]]
    for code, b in benefits.items():
        rows.append(
            [
                f"{names[code]} ({code})" if names.get(code) else code,
                format_decimal(b["cases"], format="#,##0", locale=locale),
                money(b["amount"]),
                "—" if b["average_cost"] is None else money(b["average_cost"]),
                "—"
                if b["utilization_per_1000"] is None
                else format_decimal(b["utilization_per_1000"], format="#,##0.0", locale=locale),
            ]
        )
    return rows


def _trend_drawing(title: str, labels: list[str], values: list[float | None], width: float) -> Drawing:
    """A line chart of one monthly series (reportlab.graphics), gaps where a value is undefined."""
    drawing = Drawing(width, 55 * mm)
    drawing.add(String(0, 50 * mm, title, fontName=FONT_BOLD, fontSize=8))
    points = [(i, v) for i, v in enumerate(values) if v is not None]
    if not points:
        drawing.add(String(0, 25 * mm, _("no figures"), fontName=FONT, fontSize=8))
        return drawing
    plot = LinePlot()
    plot.x, plot.y = 12 * mm, 8 * mm
    plot.width, plot.height = width - 16 * mm, 38 * mm
    plot.data = [points]
    plot.lines[0].strokeColor = colors.HexColor("#0b5cad")
    plot.lines[0].strokeWidth = 1.2
    plot.xValueAxis.valueMin = 0
    plot.xValueAxis.valueMax = max(len(values) - 1, 1)
    plot.xValueAxis.valueSteps = list(range(0, len(values), 6))
    plot.xValueAxis.labelTextFormat = lambda i: labels[int(i)] if 0 <= int(i) < len(labels) else ""
    plot.xValueAxis.labels.fontName = FONT
    plot.xValueAxis.labels.fontSize = 6
    plot.yValueAxis.labels.fontName = FONT
    plot.yValueAxis.labels.fontSize = 6
    plot.yValueAxis.valueMin = min(0, min(v for _, v in points))
    drawing.add(plot)
    return drawing


def _trend_section(trend, width: float) -> list:
    """Four small charts, two per row: membership, collection rate, claims ratio, reserves in months."""
    labels = [p.month.strftime("%Y-%m") for p in trend]

    def series(attribute):
        return [None if getattr(p, attribute) is None else float(getattr(p, attribute)) for p in trend]

    half = width / 2 - 3 * mm
    charts = [
        _trend_drawing(str(LABELS["beneficiaries_covered_end"]), labels, series("beneficiaries"), half),
        _trend_drawing(str(LABELS["collection_rate"]), labels, series("collection_rate"), half),
        _trend_drawing(str(LABELS["incurred_claims_ratio"]), labels, series("incurred_claims_ratio"), half),
        _trend_drawing(str(LABELS["reserve_months"]), labels, series("reserve_months"), half),
    ]
    grid = Table([[charts[0], charts[1]], [charts[2], charts[3]]], colWidths=[width / 2, width / 2])
    return [grid]


def _build(story: list, pagesize, title: str) -> bytes:
    """Lay out ``story`` on A4 pages with numbered footers; return the PDF bytes."""
    register_fonts()
    buffer = io.BytesIO()

    def footer(canvas, document):
        canvas.saveState()
        canvas.setFont(FONT, 7)
        canvas.drawString(15 * mm, 8 * mm, title)
        canvas.drawRightString(pagesize[0] - 15 * mm, 8 * mm, str(document.page))
        canvas.restoreState()

    document = SimpleDocTemplate(
        buffer,
        pagesize=pagesize,
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=15 * mm,
        bottomMargin=15 * mm,
        title=title,
        author="mhi",
    )
    document.build(story, onFirstPage=footer, onLaterPages=footer)
    return buffer.getvalue()


def scheme_report_pdf(
    report: ind.SchemeIndicators, locale: str, trend=None, benefit_names: dict | None = None
) -> bytes:
    """The scheme's monitoring report: every indicator with its light, per benefit, and the trend if given."""
    with force_locale(_language(locale)):
        styles = stylesheet()
        width = A4[0] - 30 * mm
        title = f"{report.name} ({report.code}) — {report.date_from.isoformat()} … {report.date_to.isoformat()}"
        story = [
            Paragraph(_("Monitoring report"), styles["Title"]),
            Paragraph(escape(title), styles["Heading2"]),  # the scheme's name is text, not mark-up (tests/trust)
            Paragraph(_("Amounts in %(currency)s.", currency=report.currency), styles["Normal"]),
            Spacer(1, 4 * mm),
        ]
        for section, keys in grouped_keys():
            rows = [[str(section), _("Value"), _("Light")]]
            lights = []
            for key in keys:
                light = report.thresholds.get(key)
                rows.append(
                    [
                        str(LABELS[key]),
                        format_value(key, report.indicators[key], report.currency, locale),
                        light_word(light),
                    ]
                )
                lights.append((len(rows) - 1, 2, light))
            table = _table(rows, width, lights=lights)
            story += [KeepTogether(table), Spacer(1, 3 * mm)]
        story.append(Paragraph(_("Per benefit"), styles["Heading3"]))
        story.append(_table(_benefit_rows(report.benefits, report.currency, locale, benefit_names), width))
        if trend:
            story += [Spacer(1, 4 * mm), Paragraph(_("The last 24 months"), styles["Heading3"])]
            story += _trend_section(trend, width)
        return _build(story, A4, title)


def federation_report_pdf(report: ind.FederationIndicators, locale: str, benefit_names: dict | None = None) -> bytes:
    """The federation's consolidated report: schemes side by side with the total, then the total per benefit."""
    with force_locale(_language(locale)):
        styles = stylesheet()
        pagesize = landscape(A4)
        width = pagesize[0] - 30 * mm
        title = f"{report.name} ({report.code}) — {report.date_from.isoformat()} … {report.date_to.isoformat()}"
        story = [
            Paragraph(_("Consolidated monitoring report"), styles["Title"]),
            Paragraph(escape(title), styles["Heading2"]),  # the federation's name is text, not mark-up
            Paragraph(
                _(
                    "Amounts in %(currency)s. The total is computed from the summed figures of the schemes, "
                    "never as an average of their ratios.",
                    currency=report.currency,
                ),
                styles["Normal"],
            ),
            Spacer(1, 4 * mm),
        ]
        columns = [*report.schemes, None]  # None: the total
        for section, keys in grouped_keys():
            rows = [[str(section), *(s.code for s in report.schemes), _("Total")]]
            lights = []
            for key in keys:
                row = [str(LABELS[key])]
                for col, scheme in enumerate(columns, start=1):
                    values = report.total_indicators if scheme is None else scheme.indicators
                    light = (report.total_thresholds if scheme is None else scheme.thresholds).get(key)
                    text = format_value(key, values[key], report.currency, locale)
                    row.append(f"{text} ({light_word(light)})" if light else text)
                    lights.append((len(rows), col, light))
                rows.append(row)
            table = _table(rows, width, lights=lights)
            story += [KeepTogether(table), Spacer(1, 3 * mm)]
        story.append(Paragraph(_("Per benefit, all schemes"), styles["Heading3"]))
        story.append(_table(_benefit_rows(report.total_benefits, report.currency, locale, benefit_names), width))
        return _build(story, pagesize, title)


def year_end_pdf(pack, locale: str) -> bytes:
    """The year-end pack (``mhi.reports.yearend``): the income statement and the balance sheet at the year end,
    then the year's monitoring indicators, as the general assembly reads them."""
    from mhi.reports import yearend

    with force_locale(_language(locale)):
        styles = stylesheet()
        width = A4[0] - 30 * mm
        money = money_formatter(pack.currency, locale)
        scheme = pack.scheme
        title = f"{scheme.name} ({scheme.code}) — {pack.date_from.isoformat()} … {pack.date_to.isoformat()}"
        story = [
            Paragraph(_("Year-end accounts %(year)s", year=pack.year), styles["Title"]),
            Paragraph(escape(title), styles["Heading2"]),  # the scheme's name is text, not mark-up
            Paragraph(
                _(
                    "Amounts in %(currency)s. Every figure comes from the monitoring indicators of the same "
                    "period; contributions are earned period by period once paid (accrual basis).",
                    currency=pack.currency,
                ),
                styles["Normal"],
            ),
            Spacer(1, 4 * mm),
        ]
        for heading, rows in (
            (_("Income statement"), yearend.income_rows(pack)),
            (_("Balance sheet at %(day)s", day=pack.date_to.isoformat()), yearend.balance_rows(pack)),
        ):
            data = [[heading, _("Amount")]]
            bold = []
            for row in rows:
                data.append([str(row.label), "" if row.amount is None else money(row.amount)])
                if row.kind != "line":
                    bold.append(len(data) - 1)
            story += [KeepTogether(fitted_table(data, width, bold_rows=bold)), Spacer(1, 4 * mm)]
        if pack.pending_settlements:
            story.append(
                Paragraph(
                    _("A pool settlement of the year is still a draft: it is not in these accounts."),
                    styles["Normal"],
                )
            )
        story.append(Paragraph(_("Monitoring indicators of the year"), styles["Heading3"]))
        report = pack.report
        for section, keys in grouped_keys():
            rows = [[str(section), _("Value"), _("Light")]]
            lights = []
            for key in keys:
                light = report.thresholds.get(key)
                rows.append(
                    [
                        str(LABELS[key]),
                        format_value(key, report.indicators[key], report.currency, locale),
                        light_word(light),
                    ]
                )
                lights.append((len(rows) - 1, 2, light))
            story += [KeepTogether(_table(rows, width, lights=lights)), Spacer(1, 3 * mm)]
        return _build(story, A4, title)


def federation_year_end_pdf(report, locale: str) -> bytes:
    """A federation's year-end figures (``mhi.reports.federation_yearend``): the income statement and the balance
    sheet with one column per member scheme and the federation's total, landscape, figures only (no member)."""
    with force_locale(_language(locale)):
        styles = stylesheet()
        pagesize = landscape(A4)
        width = pagesize[0] - 30 * mm
        money = money_formatter(report.currency, locale)
        federation = report.federation
        title = f"{federation.name} ({federation.code}) — {report.year}"
        story = [
            Paragraph(_("Year-end accounts %(year)s", year=report.year), styles["Title"]),
            Paragraph(escape(title), styles["Heading2"]),  # the federation's name is text, not mark-up
            Paragraph(
                _(
                    "Amounts in %(currency)s. Each column is the year-end pack of a member scheme; the total of a "
                    "row is the sum of the schemes' amounts on that row.",
                    currency=report.currency,
                ),
                styles["Normal"],
            ),
            Spacer(1, 4 * mm),
        ]
        codes = [scheme.code for scheme in report.schemes]
        for heading, side_rows in ((_("Income statement"), report.income), (_("Balance sheet"), report.balance)):
            data = [[heading, *codes, _("Federation total")]]
            bold = []
            for row in side_rows:
                amounts = [*row.amounts, row.total]
                data.append([str(row.label), *("" if amount is None else money(amount) for amount in amounts)])
                if row.kind != "line":
                    bold.append(len(data) - 1)
            story += [fitted_table(data, width, bold_rows=bold), Spacer(1, 4 * mm)]
        if any(pack.pending_settlements for pack in report.packs):
            story.append(
                Paragraph(
                    _("A pool settlement of the year is still a draft: it is not in these accounts."),
                    styles["Normal"],
                )
            )
        return _build(story, pagesize, title)
