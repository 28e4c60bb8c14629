"""Member cards on A4 sheets: ten ID-1 cards (85.6 × 54 mm, ISO/IEC 7810) per page, 2 across and 5 down, with
cutting marks, drawn straight on the ReportLab canvas (the fast path: 10 000 cards in one PDF, see
bench/bench_cards.py).

The cards touch each other so one guillotine cut separates two of them; the marks in the margins show where to
cut, and a light hairline round each card guides scissors. What every card of a batch shares (band, logo,
scheme name, labels, validity line) is drawn once as a form XObject and placed on each card; a card itself
only adds its values, its photo and its QR code. Names are drawn with ``drawString``, which prints text
literally (no markup is read), in DejaVu Sans for every accent (mhi/core/pdf.py).
"""

from __future__ import annotations

import io
import math
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import date

from babel.dates import format_date
from reportlab import rl_config
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas

from mhi.core.qr import draw_qr, qr_matrix, qr_widget
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
PHOTO_TOP = CARD_HEIGHT - BAND_HEIGHT - 2 * mm
QR_SIZE = 23 * mm  # 21 modules + the 4-module quiet zone each side: 0.79 mm a module, easy for a phone camera
QR_X = CARD_WIDTH - QR_SIZE - 1 * mm
QR_Y = 1 * mm
QR_TOP = QR_Y + QR_SIZE

# Baselines of a person's card: the name block (one line, or two), then the fields, then the validity lines.
NAME_ONE_LINE = CARD_HEIGHT - BAND_HEIGHT - 6.2 * mm
NAME_FIRST_LINE = CARD_HEIGHT - BAND_HEIGHT - 4.6 * mm
NAME_SECOND_LINE = NAME_FIRST_LINE - 3.3 * mm
FIELD_LINES = [NAME_SECOND_LINE - (4.5 + 3.4 * i) * mm for i in range(5)]  # member no, household, born, …
SEX_OFFSET = 31 * mm  # "Sex" sits at a fixed place on the birth line, after the longest date
LABEL_SIZE = 5.5
VALUE_SIZE = 7.5
# A household card: its fields, then one line per member.
HOUSEHOLD_LINES = [CARD_HEIGHT - BAND_HEIGHT - (4.5 + 3.4 * i) * mm for i in range(4)]
MEMBER_TOP = HOUSEHOLD_LINES[-1] - 3.6 * mm
MEMBER_STEP = 2.7 * mm
MEMBER_NAME_X = PAD + 18 * mm

BAND = colors.HexColor("#1f4e79")
LABEL = colors.HexColor("#5a6470")
HAIRLINE = colors.HexColor("#c8ced6")

# rl_config.useA85 is process-wide; batches in several threads share one switch (see _binary_streams).
_streams_lock = threading.Lock()
_streams_users = 0
_streams_saved = rl_config.useA85


@contextmanager
def _binary_streams() -> Iterator[None]:
    """Write the PDF's streams as binary instead of ASCII85 while a batch is drawn.

    Without ReportLab's optional C accelerator (rl_accel), ASCII85-encoding every photo and page in Python
    costs more than drawing the cards; binary streams are also a fifth smaller and equally standard.
    """
    global _streams_users, _streams_saved
    with _streams_lock:
        if _streams_users == 0:
            _streams_saved = rl_config.useA85
            rl_config.useA85 = 0
        _streams_users += 1
    try:
        yield
    finally:
        with _streams_lock:
            _streams_users -= 1
            if _streams_users == 0:
                rl_config.useA85 = _streams_saved


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
    path = canvas.beginPath()
    for column in range(COLUMNS + 1):
        x = LEFT + column * CARD_WIDTH
        path.moveTo(x, top + MARK_GAP)
        path.lineTo(x, top + MARK_GAP + MARK_LENGTH)
        path.moveTo(x, BOTTOM - MARK_GAP)
        path.lineTo(x, BOTTOM - MARK_GAP - MARK_LENGTH)
    for row in range(ROWS + 1):
        y = BOTTOM + row * CARD_HEIGHT
        path.moveTo(LEFT - MARK_GAP, y)
        path.lineTo(LEFT - MARK_GAP - MARK_LENGTH, y)
        path.moveTo(right + MARK_GAP, y)
        path.lineTo(right + MARK_GAP + MARK_LENGTH, y)
    canvas.drawPath(path, stroke=1, fill=0)


def fit_text(text: str, font: str, size: float, width: float, *, smallest: float = 5.5) -> tuple[str, float]:
    """``text`` and a font size at which it fits ``width``: shrunk by half points down to ``smallest``, then cut
    with "…". A text's width is proportional to its size, so one measure finds the size."""
    full = stringWidth(text, font, size)
    if full <= width:
        return text, size
    fitted = max(smallest, size - 0.5 * math.ceil((size - size * width / full) / 0.5))
    if full * fitted / size <= width:
        return text, fitted
    while text and stringWidth(text + "…", font, fitted) > width:
        text = text[:-1]
    return text + "…", fitted


def width_at(y: float, x: float) -> float:
    """Room for a line at baseline ``y`` starting at ``x``: to the card's padding above the QR code, to the
    code's left edge beside it."""
    right = CARD_WIDTH - PAD if y > QR_TOP + 0.5 * mm else QR_X - 1 * mm
    return right - x


class CardPainter:
    """Draws the cards of one batch: the shared layer once (form XObjects), then each card's own values."""

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
        self._forms: set[str] = set()
        self._label_widths: dict[str, float] = {}
        self.logo_scale = 0.0
        self.title_x = PAD  # where the scheme name and the kind of card start, right of the logo
        if self.logo is not None:
            width, height = self.logo.getSize()
            box = BAND_HEIGHT - 2 * mm
            self.logo_scale = min(box / height, 2.2 * box / width)
            self.title_x += width * self.logo_scale + 2 * mm

    def day(self, value: date) -> str:
        """A date in the scheme's locale, medium form (no two-digit years on a birth date)."""
        text = self._dates.get(value)
        if text is None:
            text = self._dates[value] = format_date(value, format="medium", locale=self.locale)
        return text

    # -- drawing a card -------------------------------------------------------------------------------------

    def draw(self, card: PersonCard | HouseholdCard, x: float, y: float) -> None:
        """Draw ``card`` with its lower-left corner at (x, y)."""
        canvas = self.canvas
        if isinstance(card, HouseholdCard):
            form = self._form("household", self._household_layer)
        else:
            photo = _image(card.photo)
            form = self._form("person-photo" if photo else "person", self._person_layer, photo=photo is not None)
        canvas.saveState()
        canvas.translate(x, y)
        canvas.doForm(form)
        if isinstance(card, HouseholdCard):
            self._household_values(card)
            member_no = card.qr_member_no
        else:
            self._person_values(card, photo)
            member_no = card.member_no
        canvas.setFillColor(colors.black)
        draw_qr(canvas, qr_matrix(qr_widget(member_no)), QR_X, QR_Y, QR_SIZE)
        canvas.restoreState()

    def _form(self, name: str, paint: Callable, **options) -> str:
        """The form XObject ``name`` (card-sized), painted by ``paint`` the first time it is asked for."""
        if name not in self._forms:
            self.canvas.beginForm(name, 0, 0, CARD_WIDTH, CARD_HEIGHT)
            paint(**options)
            self.canvas.endForm()
            self._forms.add(name)
        return name

    def _text(self, x: float, y: float, text: str, font: str, size: float, colour=colors.black) -> None:
        """One string, literally (no markup is interpreted)."""
        canvas = self.canvas
        canvas.setFillColor(colour)
        canvas.setFont(font, size)
        canvas.drawString(x, y, text)

    def _label(self, x: float, y: float, key: str) -> float:
        """A field's label in small grey; returns where its value starts."""
        text = self.labels[key] + " "
        self._text(x, y, text, FONT, LABEL_SIZE, LABEL)
        return x + stringWidth(text, FONT, LABEL_SIZE)

    def _value(self, x: float, y: float, text: str, *, bold: bool = False, size: float = VALUE_SIZE) -> None:
        """A field's value, shrunk or cut to the room left at ``y``."""
        font = FONT_BOLD if bold else FONT
        text, size = fit_text(text, font, size, width_at(y, x), smallest=5)
        self._text(x, y, text, font, size)

    # -- the shared layers (form XObjects) ------------------------------------------------------------------

    def _frame_and_band(self, title: str) -> None:
        """The hairline round the card and the coloured header: logo, scheme name, the kind of card."""
        canvas = self.canvas
        canvas.setStrokeColor(HAIRLINE)
        canvas.setLineWidth(0.25)
        canvas.rect(0, 0, CARD_WIDTH, CARD_HEIGHT, stroke=1, fill=0)
        canvas.setFillColor(BAND)
        canvas.rect(0, CARD_HEIGHT - BAND_HEIGHT, CARD_WIDTH, BAND_HEIGHT, stroke=0, fill=1)
        if self.logo is not None:
            width, height = (side * self.logo_scale for side in self.logo.getSize())
            # A white tile so a logo drawn on white (most are) stays legible on the band.
            canvas.setFillColor(colors.white)
            canvas.rect(
                PAD - 0.5 * mm,
                CARD_HEIGHT - BAND_HEIGHT + 0.5 * mm,
                width + 1 * mm,
                BAND_HEIGHT - 1 * mm,
                stroke=0,
                fill=1,
            )
            canvas.drawImage(self.logo, PAD, CARD_HEIGHT - BAND_HEIGHT + 1 * mm, width, height, mask="auto")
        name, size = fit_text(self.scheme_name, FONT_BOLD, 8.5, CARD_WIDTH - self.title_x - PAD)
        self._text(self.title_x, CARD_HEIGHT - 4.4 * mm, name, FONT_BOLD, size, colors.white)
        self._text(self.title_x, CARD_HEIGHT - 7.6 * mm, title, FONT, 5.5, colors.white)

    def _validity(self, lines: tuple[str, ...], baselines: tuple[float, ...], size: float) -> None:
        """The validity rule in small grey, left of the QR code."""
        for text, baseline in zip(lines, baselines, strict=True):
            line, fitted = fit_text(text, FONT, size, width_at(0, PAD), smallest=4.5)
            self._text(PAD, baseline, line, FONT, fitted, LABEL)

    def _person_layer(self, *, photo: bool) -> None:
        """What a person's card shares with every other: frame, band, labels, photo frame, validity."""
        self._frame_and_band(self.labels["member_card"])
        x = self._text_left(photo)
        for key, baseline in zip(("member_no", "household", "born", "product", "since"), FIELD_LINES, strict=True):
            self._label(x, baseline, key)
        self._label(x + SEX_OFFSET, FIELD_LINES[2], "sex")
        if photo:
            self.canvas.setStrokeColor(HAIRLINE)
            self.canvas.rect(PAD, PHOTO_TOP - PHOTO_HEIGHT, PHOTO_WIDTH, PHOTO_HEIGHT, stroke=1, fill=0)
        self._validity((self.labels["valid"], self.labels["check"]), (5.6 * mm, 2.6 * mm), 5.5)

    def _household_layer(self) -> None:
        """What a household card shares with every other: frame, band, labels, validity."""
        self._frame_and_band(self.labels["household_card"])
        for key, baseline in zip(("household", "head", "product", "since"), HOUSEHOLD_LINES, strict=True):
            self._label(PAD, baseline, key)
        self._validity((self.labels["valid"],), (1.6 * mm,), 5)

    @staticmethod
    def _text_left(photo: bool) -> float:
        """Where a person card's text starts: right of the photo, or at the padding without one."""
        return PAD + PHOTO_WIDTH + 2.5 * mm if photo else PAD

    # -- each card's own values ----------------------------------------------------------------------------

    def _offset(self, x: float, key: str) -> float:
        """Where the value of label ``key`` drawn at ``x`` starts."""
        width = self._label_widths.get(key)
        if width is None:
            width = self._label_widths[key] = stringWidth(self.labels[key] + " ", FONT, LABEL_SIZE)
        return x + width

    def _person_values(self, card: PersonCard, photo: ImageReader | None) -> None:
        """A person's photo, name, number, household, birth date, sex, product and enrolment date."""
        x = self._text_left(photo is not None)
        if photo is not None:
            self.canvas.drawImage(
                photo, PAD, PHOTO_TOP - PHOTO_HEIGHT, PHOTO_WIDTH, PHOTO_HEIGHT, preserveAspectRatio=True, anchor="c"
            )
        self._name(x, card.name, width_at(CARD_HEIGHT, x))
        member_line, household_line, born_line, product_line, since_line = FIELD_LINES
        self._value(self._offset(x, "member_no"), member_line, card.member_no, bold=True)
        self._value(self._offset(x, "household"), household_line, card.household_ref)
        born = self.day(card.date_of_birth)
        self._value(self._offset(x, "born"), born_line, born)
        self._value(self._offset(x + SEX_OFFSET, "sex"), born_line, card.sex)
        self._value(self._offset(x, "product"), product_line, card.product)
        self._value(self._offset(x, "since"), since_line, self.day(card.member_since))

    def _name(self, x: float, name: str, width: float) -> None:
        """The holder's name in bold: one line when it fits, else two of about equal width."""
        if stringWidth(name, FONT_BOLD, 8) <= width or " " not in name:
            text, size = fit_text(name, FONT_BOLD, 10, width, smallest=7)
            self._text(x, NAME_ONE_LINE, text, FONT_BOLD, size)
            return
        # Cut at the space that makes the longer line shortest.
        words = name.split(" ")
        cuts = [(" ".join(words[:i]), " ".join(words[i:])) for i in range(1, len(words))]
        first, rest = min(cuts, key=lambda pair: max(stringWidth(part, FONT_BOLD, 8) for part in pair))
        for line, baseline in ((first, NAME_FIRST_LINE), (rest, NAME_SECOND_LINE)):
            text, size = fit_text(line, FONT_BOLD, 8, width, smallest=6)
            self._text(x, baseline, text, FONT_BOLD, size)

    def _household_values(self, card: HouseholdCard) -> None:
        """A household's reference, head, product, enrolment date, and one line per member."""
        if card.parts > 1:
            self._text(
                self.title_x + stringWidth(self.labels["household_card"] + " ", FONT, 5.5),
                CARD_HEIGHT - 7.6 * mm,
                f"{card.part}/{card.parts}",
                FONT,
                5.5,
                colors.white,
            )
        ref_line, head_line, product_line, since_line = HOUSEHOLD_LINES
        self._value(self._offset(PAD, "household"), ref_line, card.household_ref, bold=True)
        self._value(self._offset(PAD, "head"), head_line, card.head_name)
        self._value(self._offset(PAD, "product"), product_line, card.product)
        self._value(self._offset(PAD, "since"), since_line, self.day(card.member_since))
        y = MEMBER_TOP
        for member in card.members:
            number, size = fit_text(member.member_no, FONT_BOLD, 6, 17 * mm, smallest=4.5)
            self._text(PAD, y, number, FONT_BOLD, size)
            line = f"{member.name} · {member.sex} · {self.day(member.date_of_birth)}"
            text, size = fit_text(line, FONT, 6, width_at(y, MEMBER_NAME_X), smallest=4.5)
            self._text(MEMBER_NAME_X, y, text, FONT, size)
            y -= MEMBER_STEP


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
    with _binary_streams():
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
