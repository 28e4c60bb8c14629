"""Member cards: the text printed on them (accents, markup printed as typed), the QR code's value, the page
grid, the household layout, the progress callback, and a look at a page (test-artifacts/cards-page.png)."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest

from mhi.cards import pdf as cards_pdf
from mhi.cards.pdf import CARD_HEIGHT, CARD_WIDTH, PER_PAGE, card_origin, render_cards
from mhi.cards.services import HouseholdCard, HouseholdMember, PersonCard, make_scope, print_cards
from mhi.core.qr import qr_widget
from tests.cards.helpers import FAMILY, identity, make_household, page_count, pdf_text, photo
from tests.factories import make_scheme

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
TODAY = date(2024, 2, 1)  # before the unpaid test households are struck off (lapse 180 days)


def person_card(n: int, name: str = "Aïssatou Lô", *, with_photo: bool = False) -> PersonCard:
    """A card without a database."""
    return PersonCard(
        member_no=f"NDG-{n:06d}",
        name=name,
        household_ref=f"NDG-H-{n // 3:04d}",
        date_of_birth=date(1985, 3, 14),
        sex="F",
        product="Paquet de base",
        member_since=date(2024, 1, 15),
        photo=photo() if with_photo else None,
    )


def test_names_and_numbers_read_back(session):
    scheme = make_scheme(session, name="Mutuelle de santé de Ndiagane")
    make_household(session, scheme, "H-001", photos=True)
    count, data = print_cards(session, scheme, make_scope("all"), on=TODAY, language="fr", gettext=identity)
    assert count == 3
    assert page_count(data) == 1
    text = pdf_text(data)
    for expected in (
        "Mutuelle de santé de Ndiagane",
        "Aïssatou Lô",
        "François Ndiaye-Sène",
        "<b>x</b> Diop",
        "M-00001",
        "M-00002",
        "M-00003",
        "H-001",
        "Basic package",
        "Valid while contributions are paid.",
    ):
        assert expected in text
    # Dates in the scheme's locale (fr_SN), medium form.
    assert "14 mars 1985" in text and "1 janv. 2024" in text


def test_the_qr_code_carries_the_member_number(session, monkeypatch):
    scheme = make_scheme(session)
    make_household(session, scheme, "H-001")
    encoded = []

    def spy(member_no):
        """Record the value each widget is made with."""
        widget = qr_widget(member_no)
        encoded.append(widget.value)
        return widget

    monkeypatch.setattr(cards_pdf, "qr_widget", spy)
    print_cards(session, scheme, make_scope("all"), on=TODAY, language="fr", gettext=identity)
    assert encoded == ["M-00001", "M-00002", "M-00003"]


def _decoder():
    """A command decoding the QR codes of a PNG file, or None (zbarimg, else pyzbar)."""
    if shutil.which("zbarimg"):
        return lambda png: subprocess.run(
            ["zbarimg", "--quiet", "--raw", str(png)], capture_output=True, text=True, check=False
        ).stdout.split()
    try:
        from PIL import Image
        from pyzbar.pyzbar import decode
    except ImportError:
        return None
    return lambda png: [symbol.data.decode() for symbol in decode(Image.open(png))]


def _missing_tool(why: str) -> None:
    """Skip on a developer's machine without the tool; fail in CI, whose .ci/run installs it."""
    if os.environ.get("CI"):
        pytest.fail(f"CI must have this tool: {why}")
    pytest.skip(why)


def test_the_printed_qr_codes_decode_to_the_member_numbers(tmp_path):
    decode = _decoder()
    if decode is None or not shutil.which("pdftoppm"):
        _missing_tool("needs zbarimg (apt: zbar-tools) or pyzbar, and pdftoppm (apt: poppler-utils)")
    from PIL import Image

    cards = [person_card(n, with_photo=n % 2 == 0) for n in range(1, 11)]
    pdf_path = tmp_path / "cards.pdf"
    pdf_path.write_bytes(render_cards(cards, scheme_name="Mutuelle", logo=None, locale="fr_SN", gettext=identity))
    # 100 dpi, about what a phone camera sees of a card at arm's length.
    dpi = 100
    subprocess.run(
        ["pdftoppm", "-r", str(dpi), "-png", "-singlefile", str(pdf_path), str(tmp_path / "page")], check=True
    )
    page = Image.open(tmp_path / "page.png")
    scale = dpi / 72
    for index, card in enumerate(cards):
        # One card at a time, as a person scans it (a decoder looking at a whole sheet may skip some codes).
        x, y = card_origin(index)
        top = cards_pdf.PAGE_HEIGHT - y - CARD_HEIGHT
        crop = page.crop(
            (int(x * scale), int(top * scale), int((x + CARD_WIDTH) * scale), int((top + CARD_HEIGHT) * scale))
        )
        crop.save(tmp_path / f"card{index}.png")
        assert decode(tmp_path / f"card{index}.png") == [card.member_no]


def test_ten_cards_a_page_in_a_centred_grid():
    cards = [person_card(n) for n in range(25)]
    done = []
    data = render_cards(cards, scheme_name="S", logo=None, locale="en", gettext=identity, progress=done.append)
    assert page_count(data) == 3
    assert done == [10, 20, 25]
    # ID-1 size, two across and five down, the grid centred on A4.
    assert round(CARD_WIDTH / 72 * 25.4, 1) == 85.6 and round(CARD_HEIGHT / 72 * 25.4, 1) == 54.0
    left, top_row = card_origin(0)
    right, bottom_row = card_origin(PER_PAGE - 1)
    assert round(left + right + CARD_WIDTH, 3) == round(cards_pdf.PAGE_WIDTH, 3)
    assert round(bottom_row + top_row + CARD_HEIGHT, 3) == round(cards_pdf.PAGE_HEIGHT, 3)


def test_household_layout_lists_members_and_encodes_the_head(session, monkeypatch):
    scheme = make_scheme(session)
    scheme.settings = {"card_layout": "household"}
    session.commit()
    big = [(f"Enfant{i}", "Sow", "F", date(2010, 1, 1), "child") for i in range(9)]
    make_household(session, scheme, "H-001")
    make_household(session, scheme, "H-002", members=FAMILY[:1] + tuple(big), first_no=100)
    encoded = []
    monkeypatch.setattr(cards_pdf, "qr_widget", lambda value: encoded.append(value) or qr_widget(value))
    count, data = print_cards(session, scheme, make_scope("all"), on=TODAY, language="fr", gettext=identity)
    # H-001 on one card; H-002 (10 members) on two.
    assert count == 3
    assert encoded == ["M-00001", "M-00100", "M-00100"]
    text = pdf_text(data)
    assert "Household card" in text and "1/2" in text and "2/2" in text
    for expected in ("François Ndiaye-Sène", "<b>x</b> Diop", "Enfant8 Sow", "M-00108"):
        assert expected in text


def test_a_damaged_photo_does_not_stop_the_batch():
    broken = PersonCard(
        member_no="NDG-1",
        name="Awa Ba",
        household_ref="H",
        date_of_birth=date(1990, 1, 1),
        sex="F",
        product="P",
        member_since=date(2024, 1, 1),
        photo=b"not a picture",
    )
    assert "Awa Ba" in pdf_text(
        render_cards([broken], scheme_name="S", logo=b"nor this", locale="en", gettext=identity)
    )


def test_look_at_a_page():
    """Render a full page to test-artifacts/cards-page.png (pdftoppm -r 100) for a person to look at."""
    if not shutil.which("pdftoppm"):
        _missing_tool("needs pdftoppm (apt: poppler-utils)")
    from PIL import Image

    logo = io.BytesIO()
    Image.new("RGB", (200, 100), (255, 255, 255)).save(logo, "PNG")
    names = ["Aïssatou Lô", "François Ndiaye-Sène", "<b>x</b>", "Marie-Thérèse Ndèye Coumba Diop Sarr Faye Ndiaye"]
    cards: list = [person_card(n, names[n % 4], with_photo=n % 3 != 1) for n in range(8)]
    members = tuple(HouseholdMember(f"NDG-{n:06d}", names[n % 4], date(1990, 1, 1), "F") for n in range(8))
    cards.append(
        HouseholdCard("NDG-H-0001", "Aïssatou Lô", "NDG-000000", "Paquet de base", date(2024, 1, 15), members, 1, 2)
    )
    cards.append(
        HouseholdCard("NDG-H-0001", "Aïssatou Lô", "NDG-000000", "Paquet de base", date(2024, 1, 15), members[:1], 2, 2)
    )
    data = render_cards(
        cards, scheme_name="Mutuelle de santé de Ndiagane", logo=logo.getvalue(), locale="fr_SN", gettext=identity
    )
    ARTIFACTS.mkdir(exist_ok=True)
    pdf_path = ARTIFACTS / "cards-page.pdf"
    pdf_path.write_bytes(data)
    subprocess.run(
        ["pdftoppm", "-r", "100", "-png", "-singlefile", str(pdf_path), str(ARTIFACTS / "cards-page")], check=True
    )
    assert (ARTIFACTS / "cards-page.png").stat().st_size > 10_000
