"""The feasibility study as a PDF report a promoter can hand to a board (feasibility.md, printed).

It only reads the output of ``method.run_study`` (plus, optionally, the ``Study`` for service names). Every
human sentence goes through the ``gettext`` callable given, called on string literals so ``pybabel extract``
finds them; amounts are formatted with Babel for the reader's locale (conventions.md "Money").
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from xml.sax.saxutils import escape

from babel.numbers import format_compact_decimal, format_currency, format_decimal, format_percent
from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.shapes import Drawing, String
from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import cm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.platypus import KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from mhi.core.money import ratio
from mhi.core.pdf import FONT, FONT_BOLD, money_formatter, register_fonts, stylesheet
from mhi.feasibility.method import Study, explain_break_even

Gettext = Callable[[str], str]

#: At most this many years side by side in a projection table, however short the figures.
YEARS_PER_TABLE = 6
_PROJECTION_FONT_SIZE = 7.5
_PROJECTION_LABEL_WIDTH = 4.2 * cm

_HEADER_BACKGROUND = colors.HexColor("#e8eef4")
_GRID = colors.HexColor("#9aa7b4")
_BAR_BENEFICIARIES = colors.HexColor("#3b6ea5")
_BAR_RESERVE = colors.HexColor("#5a9a62")


def study_pdf(result: dict, *, locale: str, gettext: Gettext, study: Study | None = None) -> bytes:
    """Render a study result (``run_study`` output, or the same JSON read back) as a PDF and return its bytes.

    ``locale`` formats amounts, ratios and counts (``fr_SN``, ``en_IN``…); ``gettext`` translates every
    label (the web layer passes Flask-Babel's, tests an identity). With ``study`` the premium build-up also
    shows each service's name, frequency, unit cost and coverage.
    """
    register_fonts()
    styles = stylesheet()
    fmt = _Formats(result["currency"], locale)
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=1.8 * cm,
        rightMargin=1.8 * cm,
        topMargin=1.8 * cm,
        bottomMargin=1.8 * cm,
        title=f"{gettext('Feasibility study')} — {result['name']}",
        author="mhi",
        # The canvas starts every page in Helvetica unless told otherwise; nothing of the report may use it.
        initialFontName=FONT,
    )
    story: list[Any] = [
        Paragraph(escape(gettext("Feasibility study")), styles["Title"]),
        Paragraph(escape(result["name"]), styles["Heading2"]),
        Spacer(1, 0.3 * cm),
    ]
    story += _key_figures(result, fmt, styles, gettext)
    story += _build_up(result, fmt, styles, gettext, study, doc.width)
    story += _projection(result, fmt, styles, gettext, doc.width)
    story += _sensitivity(result, fmt, styles, gettext)

    def footer(canvas, document) -> None:
        """Page number and study name at the foot of every page."""
        canvas.saveState()
        canvas.setFont(FONT, 8)
        canvas.setFillColor(colors.grey)
        canvas.drawString(document.leftMargin, 1 * cm, result["name"])
        canvas.drawRightString(
            document.leftMargin + document.width, 1 * cm, gettext("Page %(page)s") % {"page": document.page}
        )
        canvas.restoreState()

    doc.build(story, onFirstPage=footer, onLaterPages=footer)
    return buffer.getvalue()


class _Formats:
    """The locale's way of writing the report's amounts, ratios and counts."""

    def __init__(self, currency: str, locale: str):
        """Bind the currency and locale once for the whole report."""
        self.currency = currency
        self.locale = locale
        self.money = money_formatter(currency, locale)

    def money_2(self, amount: str) -> str:
        """An amount with 2 decimals whatever the currency (gross_contribution, feasibility.md "Output")."""
        return format_currency(Decimal(amount), self.currency, locale=self.locale, currency_digits=False)

    def percent(self, value: float | Decimal | None) -> str:
        """A 4-decimal ratio as a percentage (conventions.md "Ratios": screens may show percentages)."""
        if value is None:
            return "—"
        return format_percent(Decimal(str(value)), locale=self.locale, decimal_quantization=False)

    def number(self, value: float | int | None, pattern: str | None = None) -> str:
        """A count or a plain number in the locale's digits grouping."""
        if value is None:
            return "—"
        return format_decimal(Decimal(str(value)), format=pattern, locale=self.locale)

    def compact(self, value: float) -> str:
        """A short axis label (``3,1 M``)."""
        return format_compact_decimal(value, locale=self.locale, fraction_digits=1)


def _key_figures(result: dict, fmt: _Formats, styles, gettext: Gettext) -> list[Any]:
    """The figures a board decides on, with the break-even explained in words (feasibility.md steps 5–8)."""
    willingness = result["willingness_share"]
    break_even = result["break_even_beneficiaries"]
    rows = [
        (gettext("Contribution per person per year"), fmt.money(result["contribution_per_person_year"])),
        (gettext("Contribution per person per month"), fmt.money(result["contribution_per_person_month"])),
        (
            gettext("Contribution per household per year"),
            fmt.money(result["contribution_per_household_year"]),
        ),
        (gettext("Member share per person per year (after subsidy)"), fmt.money(result["member_share"])),
        (gettext("Member share as a part of income per person"), fmt.percent(result["affordability_ratio"])),
        (
            gettext("Survey answers willing to pay the member share"),
            fmt.percent(willingness) if willingness is not None else gettext("no survey"),
        ),
        (gettext("Expected claims ratio"), fmt.percent(result["expected_claims_ratio"])),
        (
            gettext("Break-even (beneficiaries)"),
            fmt.number(break_even) if break_even is not None else gettext("not reachable"),
        ),
    ]
    explanation = explain_break_even(result, gettext=gettext, format_money=fmt.money, format_count=fmt.number)
    return [
        Paragraph(escape(gettext("Key figures")), styles["Heading2"]),
        _table(rows, styles, header=False, col_widths=(10 * cm, 6 * cm)),
        Spacer(1, 0.2 * cm),
        Paragraph(escape(explanation), styles["BodyText"]),
    ]


def _build_up(result: dict, fmt: _Formats, styles, gettext: Gettext, study: Study | None, width: float) -> list[Any]:
    """How the contribution is built, service by service, then the loadings (feasibility.md steps 1–5)."""
    by_code = {service.code: service for service in study.services} if study else {}
    pure = Decimal(result["pure_premium"])
    header = [gettext("Service"), gettext("Expected cost per beneficiary per year"), gettext("Share")]
    if study:
        header[1:1] = [gettext("Cases per person per year"), gettext("Cost per case"), gettext("Coverage rate")]
    rows: list[Sequence[str]] = [header]
    for item in result["services"]:
        share = ratio(Decimal(item["expected_cost"]), pure)
        row = [item["code"], fmt.money(item["expected_cost"]), fmt.percent(_round4(share))]
        service = by_code.get(item["code"])
        if service is not None:
            row[0] = f"{service.name} ({service.code})"
            row[1:1] = [
                fmt.number(service.frequency),
                fmt.money(service.unit_cost),
                fmt.percent(service.coverage_rate),
            ]
        rows.append(row)
    columns = len(header)
    totals = [
        (gettext("Pure premium"), fmt.money(result["pure_premium"])),
        (gettext("Adjusted for extra use once insured"), fmt.money(result["adjusted_pure_premium"])),
        (gettext("Gross contribution with loadings"), fmt.money_2(result["gross_contribution"])),
        (
            gettext("Contribution per person per year (rounded)"),
            fmt.money(result["contribution_per_person_year"]),
        ),
    ]
    for label, value in totals:
        rows.append([label] + [""] * (columns - 3) + [value, ""])
    figures = (2.2 * cm, 2.6 * cm, 2.0 * cm, 3.0 * cm, 1.8 * cm) if study else (4.0 * cm, 2.0 * cm)
    table = _table(
        rows,
        styles,
        header=True,
        col_widths=(width - sum(figures), *figures),
        bold_rows=range(len(rows) - len(totals), len(rows)),
        # The totals' labels may use the columns that only services fill.
        spans=[((0, index), (columns - 3, index)) for index in range(len(rows) - len(totals), len(rows))],
    )
    return [Paragraph(escape(gettext("How the contribution is built")), styles["Heading2"]), table]


def _round4(value: Decimal | None) -> Decimal | None:
    """A display ratio to 4 decimals half up, like the ratios of the JSON output (conventions.md "Ratios")."""
    return None if value is None else value.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)


_PROJECTION_LINES = (
    ("renewed", "count"),
    ("new", "count"),
    ("beneficiaries", "count"),
    ("exposure", "exposure"),
    ("member_contributions", "money"),
    ("subsidies", "money"),
    ("claims", "money"),
    ("admin_costs", "money"),
    ("result", "money"),
    ("reserve", "money"),
    ("claims_ratio", "percent"),
    ("reserve_months", "months"),
)


def _projection_labels(gettext: Gettext) -> dict[str, str]:
    """The projection's lines in words (literal gettext calls so they are extracted for translation)."""
    return {
        "renewed": gettext("Members renewing"),
        "new": gettext("New members"),
        "beneficiaries": gettext("Beneficiaries"),
        "exposure": gettext("Years of cover (after waiting period)"),
        "member_contributions": gettext("Member contributions collected"),
        "subsidies": gettext("Subsidies"),
        "claims": gettext("Claims"),
        "admin_costs": gettext("Running costs"),
        "result": gettext("Result of the year"),
        "reserve": gettext("Reserve at year end"),
        "claims_ratio": gettext("Claims ratio"),
        "reserve_months": gettext("Reserve in months of claims"),
    }


def _projection(result: dict, fmt: _Formats, styles, gettext: Gettext, width: float) -> list[Any]:
    """The year-by-year projection (one column per year) and its chart (feasibility.md step 9).

    As many years go side by side as their widest figure allows; further years go to a second table.
    """
    labels = _projection_labels(gettext)
    years = result["projection"]
    cells = {
        year["year"]: [_projection_cell(year[key], kind, fmt) for key, kind in _PROJECTION_LINES] for year in years
    }
    widest = max(stringWidth(cell, FONT, _PROJECTION_FONT_SIZE) for column in cells.values() for cell in column)
    year_width = max(widest + 12, 1.6 * cm)  # 12 points: the table's left and right cell padding
    per_table = max(1, min(YEARS_PER_TABLE, int((width - _PROJECTION_LABEL_WIDTH) // year_width)))
    flowables: list[Any] = []
    for start in range(0, len(years), per_table):
        chunk = years[start : start + per_table]
        rows = [[""] + [gettext("Year %(year)s") % {"year": year["year"]} for year in chunk]]
        for line, (key, _) in enumerate(_PROJECTION_LINES):
            rows.append([labels[key]] + [cells[year["year"]][line] for year in chunk])
        col_widths = (width - year_width * len(chunk), *([year_width] * len(chunk)))
        table: list[Any] = [_table(rows, styles, header=True, font_size=_PROJECTION_FONT_SIZE, col_widths=col_widths)]
        if not flowables:
            # The heading travels with the first table, and a table is never split across pages.
            table.insert(0, Paragraph(escape(gettext("Projection")), styles["Heading2"]))
        flowables += [KeepTogether(table), Spacer(1, 0.3 * cm)]
    flowables.append(KeepTogether([_chart(years, fmt, gettext, width)]))
    return flowables


def _projection_cell(value: Any, kind: str, fmt: _Formats) -> str:
    """One projection figure in the reader's locale."""
    if kind == "money":
        return fmt.money(value)
    if kind == "percent":
        return fmt.percent(value)
    if kind == "months":
        return fmt.number(value, "#,##0.0")
    if kind == "exposure":
        return fmt.number(value, "#,##0.##")
    return fmt.number(value)


def _chart(years: list[dict], fmt: _Formats, gettext: Gettext, width: float) -> Drawing:
    """Beneficiaries and reserve per year, side by side: two scales, so two bar charts, not one."""
    height = 6.5 * cm
    drawing = Drawing(width, height, initialFontName=FONT)
    half = width / 2
    panels = (
        (
            gettext("Beneficiaries per year"),
            [float(y["beneficiaries"]) for y in years],
            _BAR_BENEFICIARIES,
            0,
        ),
        (
            gettext("Reserve at year end (%(currency)s)") % {"currency": fmt.currency},
            [float(Decimal(y["reserve"])) for y in years],  # plotting only: the figures are in the table
            _BAR_RESERVE,
            half,
        ),
    )
    categories = [gettext("Year %(year)s") % {"year": y["year"]} for y in years]
    for title, values, colour, left in panels:
        drawing.add(String(left + half / 2, height - 12, title, fontName=FONT_BOLD, fontSize=9, textAnchor="middle"))
        chart = VerticalBarChart()
        chart.x = left + 1.6 * cm
        chart.y = 1.0 * cm
        chart.width = half - 2.2 * cm
        chart.height = height - 2.0 * cm
        chart.data = [values]
        chart.bars[0].fillColor = colour
        chart.bars[0].strokeColor = None
        chart.categoryAxis.categoryNames = categories
        chart.categoryAxis.labels.fontName = FONT
        chart.categoryAxis.labels.fontSize = 7
        chart.valueAxis.labels.fontName = FONT
        chart.valueAxis.labels.fontSize = 7
        chart.valueAxis.labelTextFormat = fmt.compact
        # Bars start at zero so a negative reserve shows below the axis, not as a short positive bar.
        chart.valueAxis.valueMin = min(0.0, *values)
        chart.valueAxis.valueMax = max(1.0, *values) * 1.1
        chart.categoryAxis.visibleTicks = 0
        # Year labels stay under the chart even when the bars go below zero.
        chart.categoryAxis.labelAxisMode = "low"
        drawing.add(chart)
    return drawing


def _case_label(case: str, gettext: Gettext) -> str:
    """A sensitivity case (feasibility.md step 10) in words a board member reads without the spec."""
    labels = {
        "frequency x0.8": gettext("Care used 20% less often"),
        "frequency x1.2": gettext("Care used 20% more often"),
        "unit cost x0.8": gettext("Cost per case 20% lower"),
        "unit cost x1.2": gettext("Cost per case 20% higher"),
        "collection rate -0.10": gettext("Collection rate 10 points lower"),
        "new enrolment x0.5": gettext("Half as many new members each year"),
    }
    return labels.get(case, case)


def _sensitivity(result: dict, fmt: _Formats, styles, gettext: Gettext) -> list[Any]:
    """What the last year and the break-even become when one assumption moves (feasibility.md step 10)."""
    last_year = result["projection"][-1]
    rows: list[Sequence[str]] = [
        [gettext("Case"), gettext("Result of the last year"), gettext("Break-even (beneficiaries)")],
        [
            gettext("As planned"),
            fmt.money(last_year["result"]),
            _break_even_cell(result["break_even_beneficiaries"], fmt, gettext),
        ],
    ]
    for row in result["sensitivity"]:
        rows.append(
            [
                _case_label(row["case"], gettext),
                fmt.money(row["last_year_result"]),
                _break_even_cell(row["break_even_beneficiaries"], fmt, gettext),
            ]
        )
    note = gettext("Each line changes one assumption and keeps the contribution and the member share as planned.")
    return [
        KeepTogether(
            [
                Paragraph(escape(gettext("Sensitivity")), styles["Heading2"]),
                _table(rows, styles, header=True, col_widths=(8 * cm, 4.5 * cm, 4.5 * cm)),
                Spacer(1, 0.2 * cm),
                Paragraph(escape(note), styles["BodyText"]),
            ]
        )
    ]


def _break_even_cell(value: int | None, fmt: _Formats, gettext: Gettext) -> str:
    """A break-even count, or the words saying no size of scheme breaks even."""
    return fmt.number(value) if value is not None else gettext("not reachable")


def _table(
    rows: Sequence[Sequence[str]],
    styles,
    *,
    header: bool,
    col_widths: Sequence[float] | None = None,
    font_size: float = 8.5,
    bold_rows: Sequence[int] = (),
    spans: Sequence[tuple[tuple[int, int], tuple[int, int]]] = (),
) -> Table:
    """A plain grid table: wrapped text in the first column, figures right-aligned in the others."""
    cell_style = styles["BodyText"].clone("cell", fontSize=font_size, leading=font_size * 1.2)
    bold_style = cell_style.clone("cell-bold", fontName=FONT_BOLD)
    head_style = bold_style.clone("cell-head", alignment=TA_RIGHT)
    bold = set(bold_rows)
    data = []
    for index, row in enumerate(rows):
        if header and index == 0:
            # Header labels are long ("Expected cost per beneficiary per year"): let them wrap.
            data.append(
                [Paragraph(escape(str(row[0])), bold_style)]
                + [Paragraph(escape(str(cell)), head_style) for cell in row[1:]]
            )
            continue
        first_style = bold_style if index in bold else cell_style
        data.append([Paragraph(escape(str(row[0])), first_style), *row[1:]])
    table = Table(data, colWidths=col_widths, repeatRows=1 if header else 0, hAlign="LEFT")
    commands = [
        ("FONT", (0, 0), (-1, -1), FONT, font_size),
        ("GRID", (0, 0), (-1, -1), 0.4, _GRID),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("ALIGN", (1, 0), (-1, -1), "RIGHT"),
    ]
    if header:
        commands += [
            ("BACKGROUND", (0, 0), (-1, 0), _HEADER_BACKGROUND),
            ("FONT", (0, 0), (-1, 0), FONT_BOLD),
        ]
    commands += [("SPAN", start, stop) for start, stop in spans if start != stop]
    for index in bold:
        commands.append(("FONT", (1, index), (-1, index), FONT_BOLD, font_size))
    table.setStyle(TableStyle(commands))
    return table
