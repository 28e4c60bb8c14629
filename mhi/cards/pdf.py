"""Member cards on A4 sheets: ten ID-1 cards (85.6 × 54 mm, ISO/IEC 7810) per page, 2 across and 5 down, with
cutting marks, drawn straight on the ReportLab canvas (the fast path: 10 000 cards in one PDF, see
bench/bench_cards.py).

The cards touch each other so one guillotine cut separates two of them; the marks in the margins show where to
cut, and a light hairline round each card guides scissors. Names are drawn with ``drawString``, which prints
text literally (no markup is read), in DejaVu Sans for every accent (mhi/core/pdf.py).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from datetime import date

from babel.dates import format_date
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas

from mhi.cards.qr import draw_qr, qr_matrix, qr_widget
from mhi.cards.services import HouseholdCard, PersonCard
from mhi.core.pdf import FONT, FONT_BOLD, register_fonts

Gettext = Callable[[str], str]

CARD_WIDTH = 85.6 * mm
CARD_HEIGHT = 54 * mm
COLUMNS = 2
ROWS = 5
PER_PAGE = COLUMNS * ROWS
PAGE_WIDTH, PAGE_HEIGHT = A4
#: The grid is centred on the page: 19.4 mm side margins, 13.5 mm top and bottom.
LEFT = (PAGE_WIDTH - COLUMNS * CARD_WIDTH) / 2
BOTTOM = (PAGE_HEIGHT - ROWS * CARD_HEIGHT) / 2
#: Cutting marks start this far outside the grid and are this long (inside the margins, off the cards).
MARK_GAP = 2 * mm
MARK_LENGTH = 7 * mm

PAD = 2.5 * mm
BAND_HEIGHT = 9 * mm
PHOTO_WIDTH = 19 * mm
PHOTO_HEIGHT = 24 * mm
QR_SIZE = 23 * mm  # 21 modules + the 4-module quiet zone each side: 0.79 mm a module, easy for a phone camera

BAND = colors.HexColor("#1f4e79")
LABEL = colors.HexColor("#5a6470")
HAIRLINE = colors.HexColor("#c8ced6")


def card_origin(index: int) -> tuple[float, float]:
    """Lower-left corner of the card at ``index`` (0–9) on its page: left to right, top to bottom."""
    row, column = divmod(index, COLUMNS)
    return LEFT + column * CARD_WIDTH, BOTTOM + (ROWS - 1 - row) * CARD_HEIGHT


def draw_cutting_marks(canvas: Canvas) -> None:
    """Marks in the page margins on the line of every cut (the cards themselves are left clean)."""
    canvas.setStrokeColor(colors.black)
    canvas.setLineWidth(0.3)
    top = BOTTOM + ROWS * CARD_HEIGHT
    right = LEFT + COLUMNS * CARD_WIDTH
    for column in range(COLUMNS + 1):
        x = LEFT + column * CARD_WIDTH
        canvas.line(x, top + MARK_GAP, x, top + MARK_GAP + MARK_LENGTH)
        canvas.line(x, BOTTOM - MARK_GAP, x, BOTTOM - MARK_GAP - MARK_LENGTH)
    for row in range(ROWS + 1):
        y = BOTTOM + row * CARD_HEIGHT
        canvas.line(LEFT - MARK_GAP, y, LEFT - MARK_GAP - MARK_LENGTH, y)
        canvas.line(right + MARK_GAP, y, right + MARK_GAP + MARK_LENGTH, y)


def fit_text(text: str, font: str, size: float, width: float, *, smallest: float = 5.5) -> tuple[str, float]:
    """``text`` and a font size at which it fits ``width``: shrunk down to ``smallest``, then cut with "…"."""
    current = size
    while current > smallest and stringWidth(text, font, current) > width:
        current -= 0.5
    if stringWidth(text, font, current) <= width:
        return text, current
    while text and stringWidth(text + "…", font, current) > width:
        text = text[:-1]
    return text + "…", current


class CardPainter:
    """Draws cards on a canvas with the labels, dates and logo of one scheme prepared once."""

    def __init__(self, canvas: Canvas, *, scheme_name: str, logo: bytes | None, locale: str, gettext: Gettext):
        """Prepare what every card of the batch shares."""
        self.canvas = canvas
        self.scheme_name = scheme_name
        self.locale = locale
        self.logo = _image(logo)
        # Called on literals so that extraction finds them (babel.cfg); translated once for the whole batch.
        self.labels = {
            "member_card": gettext("Member card"),
            "household_card": gettext("Household card"),
            "member_no": gettext("Member no."),
            "household": gettext("Household"),
            "born": gettext("Born"),
            "sex": gettext("Sex"),
            "product": gettext("Product"),
            "since": gettext("Member since"),
            "valid": gettext("Valid while contributions are paid."),
            "check": gettext("Scan the code to check cover."),
            "head": gettext("Head"),
        }
        self._dates: dict[date, str] = {}

    def day(self, value: date) -> str:
        """A date in the scheme's locale, medium form (no two-digit years on a birth date)."""
        text = self._dates.get(value)
        if text is None:
            text = self._dates[value] = format_date(value, format="medium", locale=self.locale)
        return text

    def draw(self, card: PersonCard | HouseholdCard, x: float, y: float) -> None:
        """Draw ``card`` with its lower-left corner at (x, y)."""
        canvas = self.canvas
        canvas.saveState()
        canvas.translate(x, y)
        canvas.setStrokeColor(HAIRLINE)
        canvas.setLineWidth(0.25)
        canvas.rect(0, 0, CARD_WIDTH, CARD_HEIGHT, stroke=1, fill=0)
        if isinstance(card, HouseholdCard):
            title = self.labels["household_card"]
            if card.parts > 1:
                title = f"{title} {card.part}/{card.parts}"
            self._band(title)
            self._household_body(card)
            member_no = card.qr_member_no
        else:
            self._band(self.labels["member_card"])
            self._person_body(card)
            member_no = card.member_no
        canvas.setFillColor(colors.black)
        draw_qr(canvas, qr_matrix(qr_widget(member_no)), CARD_WIDTH - QR_SIZE - 1 * mm, 1 * mm, QR_SIZE)
        canvas.restoreState()

    def _band(self, title: str) -> None:
        """The coloured header: logo, scheme name, the kind of card."""
        canvas = self.canvas
        canvas.setFillColor(BAND)
        canvas.rect(0, CARD_HEIGHT - BAND_HEIGHT, CARD_WIDTH, BAND_HEIGHT, stroke=0, fill=1)
        left = PAD
        if self.logo is not None:
            box = BAND_HEIGHT - 2 * mm
            width, height = self.logo.getSize()
            scale = min(box / height, 2.2 * box / width)
            # A white tile so a logo drawn on white (most are) stays legible on the band.
            canvas.setFillColor(colors.white)
            canvas.rect(
                left - 0.5 * mm,
                CARD_HEIGHT - BAND_HEIGHT + 0.5 * mm,
                width * scale + 1 * mm,
                BAND_HEIGHT - 1 * mm,
                stroke=0,
                fill=1,
            )
            canvas.drawImage(
                self.logo, left, CARD_HEIGHT - BAND_HEIGHT + 1 * mm, width * scale, height * scale, mask="auto"
            )
            left += width * scale + 2 * mm
        canvas.setFillColor(colors.white)
        name, size = fit_text(self.scheme_name, FONT_BOLD, 8.5, CARD_WIDTH - left - PAD)
        canvas.setFont(FONT_BOLD, size)
        canvas.drawString(left, CARD_HEIGHT - 4.4 * mm, name)
        canvas.setFont(FONT, 5.5)
        canvas.drawString(left, CARD_HEIGHT - 7.6 * mm, title)

    def _field(self, x: float, y: float, label: str, value: str, width: float, *, bold: bool = False) -> None:
        """``label`` in small grey then ``value``, on one line that fits ``width``."""
        canvas = self.canvas
        canvas.setFillColor(LABEL)
        canvas.setFont(FONT, 5.5)
        label_text = label + " "
        canvas.drawString(x, y, label_text)
        offset = stringWidth(label_text, FONT, 5.5)
        font = FONT_BOLD if bold else FONT
        text, size = fit_text(value, font, 7.5, width - offset, smallest=5)
        canvas.setFillColor(colors.black)
        canvas.setFont(font, size)
        canvas.drawString(x + offset, y, text)

    def _name(self, x: float, y: float, name: str, width: float) -> float:
        """The holder's name in bold, on two lines when one is too narrow; returns the baseline of the last."""
        canvas = self.canvas
        canvas.setFillColor(colors.black)
        if stringWidth(name, FONT_BOLD, 8) <= width or " " not in name:
            text, size = fit_text(name, FONT_BOLD, 10, width, smallest=7)
            canvas.setFont(FONT_BOLD, size)
            canvas.drawString(x, y, text)
            return y
        # Two lines of about equal width: cut at the space that makes the longer line shortest.
        words = name.split(" ")
        cuts = [(" ".join(words[:i]), " ".join(words[i:])) for i in range(1, len(words))]
        first, rest = min(cuts, key=lambda pair: max(stringWidth(part, FONT_BOLD, 8) for part in pair))
        for line, baseline in ((first, y + 1.2 * mm), (rest, y - 2.3 * mm)):
            text, size = fit_text(line, FONT_BOLD, 8, width, smallest=6)
            canvas.setFont(FONT_BOLD, size)
            canvas.drawString(x, baseline, text)
        return y - 2.3 * mm

    def _photo(self, photo: bytes | None) -> bool:
        """The photo, fitted in its frame on the left; False when there is none (or it cannot be read)."""
        image = _image(photo)
        if image is None:
            return False
        top = CARD_HEIGHT - BAND_HEIGHT - 2 * mm
        self.canvas.drawImage(
            image, PAD, top - PHOTO_HEIGHT, PHOTO_WIDTH, PHOTO_HEIGHT, preserveAspectRatio=True, anchor="c"
        )
        self.canvas.setStrokeColor(HAIRLINE)
        self.canvas.rect(PAD, top - PHOTO_HEIGHT, PHOTO_WIDTH, PHOTO_HEIGHT, stroke=1, fill=0)
        return True

    def _footer(self) -> None:
        """The validity rule under the text, left of the QR code."""
        canvas = self.canvas
        canvas.setFillColor(LABEL)
        width = CARD_WIDTH - QR_SIZE - PAD - 2 * mm
        for text, baseline in ((self.labels["valid"], 5.6 * mm), (self.labels["check"], 2.6 * mm)):
            line, size = fit_text(text, FONT, 5.5, width, smallest=4.5)
            canvas.setFont(FONT, size)
            canvas.drawString(PAD, baseline, line)

    def _person_body(self, card: PersonCard) -> None:
        """A person's card: photo (if any), name, member number, household, birth, sex, product, since."""
        x = PAD + PHOTO_WIDTH + 2.5 * mm if self._photo(card.photo) else PAD
        labels = self.labels
        y = self._name(x, CARD_HEIGHT - BAND_HEIGHT - 5 * mm, card.name, _width_at(y=CARD_HEIGHT, x=x))
        y -= 4.6 * mm
        self._field(x, y, labels["member_no"], card.member_no, _width_at(y, x), bold=True)
        y -= 3.6 * mm
        self._field(x, y, labels["household"], card.household_ref, _width_at(y, x))
        y -= 3.3 * mm
        born = self.day(card.date_of_birth)
        self._field(x, y, labels["born"], born, _width_at(y, x))
        sex_x = x + stringWidth(labels["born"] + " ", FONT, 5.5) + stringWidth(born, FONT, 7.5) + 3 * mm
        self._field(sex_x, y, labels["sex"], card.sex, _width_at(y, sex_x))
        y -= 3.3 * mm
        self._field(x, y, labels["product"], card.product, _width_at(y, x))
        y -= 3.3 * mm
        self._field(x, y, labels["since"], self.day(card.member_since), _width_at(y, x))
        self._footer()

    def _household_body(self, card: HouseholdCard) -> None:
        """A household's card: reference, head, product, since, then one line per member."""
        canvas = self.canvas
        labels = self.labels
        y = CARD_HEIGHT - BAND_HEIGHT - 4.5 * mm
        self._field(PAD, y, labels["household"], card.household_ref, _width_at(y, PAD), bold=True)
        y -= 3.4 * mm
        self._field(PAD, y, labels["head"], card.head_name, _width_at(y, PAD))
        y -= 3.4 * mm
        self._field(PAD, y, labels["product"], card.product, _width_at(y, PAD))
        y -= 3.4 * mm
        self._field(PAD, y, labels["since"], self.day(card.member_since), _width_at(y, PAD))
        y -= 3.6 * mm
        for member in card.members:
            canvas.setFillColor(colors.black)
            number, size = fit_text(member.member_no, FONT_BOLD, 6, 17 * mm, smallest=4.5)
            canvas.setFont(FONT_BOLD, size)
            canvas.drawString(PAD, y, number)
            line = f"{member.name} · {member.sex} · {self.day(member.date_of_birth)}"
            text, size = fit_text(line, FONT, 6, _width_at(y, PAD + 18 * mm), smallest=4.5)
            canvas.setFont(FONT, size)
            canvas.drawString(PAD + 18 * mm, y, text)
            y -= 2.7 * mm
        canvas.setFillColor(LABEL)
        line, size = fit_text(labels["valid"], FONT, 5, _width_at(0, PAD), smallest=4.5)
        canvas.setFont(FONT, size)
        canvas.drawString(PAD, 1.6 * mm, line)


def _width_at(y: float, x: float) -> float:
    """Room for a line at baseline ``y`` starting at ``x``: to the card's padding above the QR code, to the
    code's left edge beside it."""
    qr_top = 1 * mm + QR_SIZE
    right = CARD_WIDTH - PAD if y > qr_top + 0.5 * mm else CARD_WIDTH - QR_SIZE - 2 * mm
    return right - x


def _image(data: bytes | None) -> ImageReader | None:
    """An image ReportLab can draw, or None for no (or unreadable) data: a bad photo never stops a batch."""
    if not data:
        return None
    try:
        image = ImageReader(io.BytesIO(data))
        image.getSize()
    except Exception:  # PIL raises many kinds for a corrupt file; the card is printed without it
        return None
    return image


def render_cards(
    cards: Iterable[PersonCard | HouseholdCard],
    *,
    scheme_name: str,
    logo: bytes | None,
    locale: str,
    gettext: Gettext,
    progress: Callable[[int], None] | None = None,
) -> bytes:
    """Draw ``cards`` ten to an A4 page and return the PDF; ``progress(cards drawn)`` is called after each page."""
    register_fonts()
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4, pageCompression=1, invariant=1)
    canvas.setTitle(f"{scheme_name} — {gettext('Member cards')}")
    canvas.setCreator("mhi")
    painter = CardPainter(canvas, scheme_name=scheme_name, logo=logo, locale=locale, gettext=gettext)
    drawn = 0
    for card in cards:
        slot = drawn % PER_PAGE
        if slot == 0:
            draw_cutting_marks(canvas)
        painter.draw(card, *card_origin(slot))
        drawn += 1
        if drawn % PER_PAGE == 0:
            canvas.showPage()
            if progress:
                progress(drawn)
    if drawn % PER_PAGE or drawn == 0:
        canvas.showPage()
        if progress:
            progress(drawn)
    canvas.save()
    return buffer.getvalue()
