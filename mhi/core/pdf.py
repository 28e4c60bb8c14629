"""Shared ground of printed documents: one Unicode font, one paragraph style sheet, one money formatter.

ReportLab's built-in Helvetica cannot print the narrow no-break space Babel puts in ``1 500 F CFA`` nor ``₹``,
so every PDF uses DejaVu Sans (conventions.md "Money": amounts formatted for the user's locale with Babel).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_LEFT, TA_RIGHT
from reportlab.lib.styles import ParagraphStyle, StyleSheet1, getSampleStyleSheet
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Paragraph, Table, TableStyle

from mhi.core.formatting import money

FONT = "DejaVuSans"
FONT_BOLD = "DejaVuSans-Bold"

#: Where the TTF files are looked for, in order: the system package, then the copy shipped with the app
#: (so a machine without fonts-dejavu-core still prints).
FONT_DIRS = (
    Path("/usr/share/fonts/truetype/dejavu"),
    Path(__file__).resolve().parents[1] / "static" / "fonts",
)


def _font_file(filename: str) -> Path:
    """The first existing copy of ``filename`` in ``FONT_DIRS``."""
    for folder in FONT_DIRS:
        path = folder / filename
        if path.is_file():
            return path
    raise FileNotFoundError(f"{filename} not found in {', '.join(str(d) for d in FONT_DIRS)}")


def register_fonts() -> tuple[str, str]:
    """Register DejaVu Sans (regular and bold) with ReportLab once; return their names (regular, bold)."""
    registered = pdfmetrics.getRegisteredFontNames()
    if FONT not in registered:
        pdfmetrics.registerFont(TTFont(FONT, str(_font_file("DejaVuSans.ttf"))))
    if FONT_BOLD not in registered:
        pdfmetrics.registerFont(TTFont(FONT_BOLD, str(_font_file("DejaVuSans-Bold.ttf"))))
    # <b> in a Paragraph must find the bold face; DejaVu has no italic here, so italic maps to regular.
    pdfmetrics.registerFontFamily(FONT, normal=FONT, bold=FONT_BOLD, italic=FONT, boldItalic=FONT_BOLD)
    return FONT, FONT_BOLD


def stylesheet() -> StyleSheet1:
    """ReportLab's sample paragraph styles (Title, Heading1…, Normal, BodyText…) set in DejaVu Sans.

    A fresh sheet each call, so a document may tweak its styles without touching another's.
    """
    register_fonts()
    sheet = getSampleStyleSheet()
    for style in sheet.byName.values():
        if not hasattr(style, "fontName"):
            continue
        bold = "Bold" in style.fontName
        style.fontName = FONT_BOLD if bold else FONT
    return sheet


def money_formatter(currency: str, locale: str) -> Callable[[Decimal | str | int | None], str]:
    """A function formatting amounts of ``currency`` for ``locale`` with Babel (``fr_SN``: ``1 500 F CFA``).

    Amounts may come as ``Decimal`` or as the JSON strings of the contracts; ``None`` prints as a dash.
    """

    def format_money(amount: Decimal | str | int | None) -> str:
        """Format one amount; strings are read as exact decimals, never through float."""
        if amount is None:
            return "—"
        if isinstance(amount, float):
            raise TypeError('amounts are Decimal or strings, never float (conventions.md "Money")')
        return money(Decimal(amount), currency, locale)

    return format_money


# -- tables sized from their content ---------------------------------------------------------------------------

#: Horizontal padding ReportLab puts in a cell (LEFTPADDING + RIGHTPADDING, 6 pt each by default).
CELL_PADDING = 12


def _cell_style(name: str, *, bold: bool, right: bool, size: float) -> ParagraphStyle:
    """A cell's paragraph style: DejaVu Sans, wrapping at spaces only (a word is never cut in two)."""
    register_fonts()
    return ParagraphStyle(
        name,
        fontName=FONT_BOLD if bold else FONT,
        fontSize=size,
        leading=size * 1.2,
        alignment=TA_RIGHT if right else TA_LEFT,
        splitLongWords=0,
    )


def column_widths(
    rows: Sequence[Sequence[str]],
    available: float,
    *,
    size: float = 8,
    header_rows: int = 1,
    bold_rows: Sequence[int] = (),
    unbroken: Sequence[int] = (),
) -> list[float]:
    """Widths (points) for the columns of ``rows`` that fill ``available``, sized from what the cells hold.

    Each column gets at least its longest word (a word is never split; in the ``unbroken`` columns — amounts —
    a cell's whole line counts as one word), then the room left goes to the columns whose text would need more,
    in proportion to what they lack; a column whose whole text fits keeps just that. Header rows and
    ``bold_rows`` (a total) are measured in the bold font.
    """
    register_fonts()
    count = max((len(row) for row in rows), default=0)
    longest_word = [0.0] * count
    whole = [0.0] * count
    for index, row in enumerate(rows):
        font = FONT_BOLD if index < header_rows or index in bold_rows else FONT
        for column, text in enumerate(row):
            for line in str(text).split("\n"):
                whole[column] = max(whole[column], pdfmetrics.stringWidth(line, font, size))
                words = [line] if column in unbroken and index >= header_rows else line.split()
                for word in words:
                    longest_word[column] = max(longest_word[column], pdfmetrics.stringWidth(word, font, size))
    minimum = [w + CELL_PADDING for w in longest_word]
    wanted = [max(w + CELL_PADDING, m) for w, m in zip(whole, minimum, strict=True)]
    if sum(wanted) <= available:
        spare = available - sum(wanted)
        return [w + spare * w / sum(wanted) for w in wanted] if sum(wanted) else wanted
    if sum(minimum) >= available:
        return minimum  # the words themselves do not fit: the caller takes a smaller font (fitted_table does)
    room = available - sum(minimum)
    lacking = [w - m for w, m in zip(wanted, minimum, strict=True)]
    total_lacking = sum(lacking)
    return [m + room * lack / total_lacking for m, lack in zip(minimum, lacking, strict=True)]


def fitted_table(
    rows: Sequence[Sequence[str]],
    available: float,
    *,
    header_rows: int = 1,
    numeric_from: int | None = 1,
    numeric: Sequence[int] = (),
    size: float = 8,
    bold_rows: Sequence[int] = (),
    colours: dict[tuple[int, int], Any] | None = None,
) -> Table:
    """A grid table whose columns are sized from their content and whose cells wrap at word boundaries.

    Every cell is an escaped Paragraph (names are text, never mark-up). Figures (columns from ``numeric_from``,
    or those listed in ``numeric``) are right-aligned. When the longest words of a table cannot fit the width,
    the font gets smaller (down to 6 pt) rather than a word being cut. ``colours`` maps (row, column) to a
    text colour (a traffic light's word).
    """
    while True:
        widths = column_widths(rows, available, size=size, header_rows=header_rows)
        if sum(widths) <= available + 0.5 or size <= 6:
            break
        size -= 0.5
    numbers = set(numeric)
    if numeric_from is not None:
        numbers |= set(range(numeric_from, max((len(r) for r in rows), default=0)))
    styles = {
        (bold, right): _cell_style(f"cell-{bold}-{right}", bold=bold, right=right, size=size)
        for bold in (False, True)
        for right in (False, True)
    }
    colours = colours or {}
    data = []
    for index, row in enumerate(rows):
        bold = index < header_rows or index in bold_rows
        cells = []
        for column, text in enumerate(row):
            style = styles[(bold, column in numbers)]
            if (index, column) in colours:
                style = ParagraphStyle(f"{style.name}-colour", parent=style, textColor=colours[(index, column)])
            cells.append(Paragraph(escape(str(text)).replace("\n", "<br/>"), style))
        data.append(cells)
    table = Table(data, colWidths=widths, repeatRows=header_rows)
    commands = [
        ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#d0d7de")),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("TOPPADDING", (0, 0), (-1, -1), 2),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
    ]
    if header_rows:
        commands.append(("BACKGROUND", (0, 0), (-1, header_rows - 1), colors.HexColor("#f6f8fa")))
    table.setStyle(TableStyle(commands))
    return table
