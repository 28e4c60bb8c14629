"""Shared ground of printed documents: one Unicode font, one paragraph style sheet, one money formatter.

ReportLab's built-in Helvetica cannot print the narrow no-break space Babel puts in ``1 500 F CFA`` nor ``₹``,
so every PDF uses DejaVu Sans (conventions.md "Money": amounts formatted for the user's locale with Babel).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

from reportlab.lib.styles import StyleSheet1, getSampleStyleSheet
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

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
