"""Receipt slips: numbered, A6 or an 80 mm roll as long as its content, paid-up-to after the receipt."""

from __future__ import annotations

import io
from datetime import date

import pypdf
import pytest
from reportlab.lib.pagesizes import A6
from reportlab.lib.units import mm

from mhi.cards.receipt import receipt_pdf, slip_size
from mhi.contributions.services import reverse_receipt
from tests.cards.helpers import identity, make_household, pay, pdf_text
from tests.factories import make_scheme


def page_size(data: bytes) -> tuple[float, float]:
    """Width and height of the first page, in points."""
    box = pypdf.PdfReader(io.BytesIO(data)).pages[0].mediabox
    return float(box.width), float(box.height)


@pytest.fixture
def paid(session):
    """A household of three (900 a month, registration 1000) that paid 1900 on 5 January 2024."""
    scheme = make_scheme(session, name="Mutuelle de santé de Ndiagane")
    household = make_household(session, scheme, "NDG/H-001", language="fr")
    receipt = pay(session, household, date(2024, 1, 5), "1900", number="R-2024-000001", collector="Awa Faye")
    return scheme, household, receipt


def test_a6_slip(session, paid):
    _, _, receipt = paid
    data = receipt_pdf(session, receipt, size="a6", language="fr", gettext=identity)
    width, height = page_size(data)
    assert (round(width, 1), round(height, 1)) == (round(A6[0], 1), round(A6[1], 1))
    text = pdf_text(data)
    for expected in (
        "Mutuelle de santé de Ndiagane",
        "No. R-2024-000001",
        "1 900 F CFA",
        "5 janv. 2024",
        "NDG/H-001",
        "Aïssatou Lô",
        "mobile money",
        "Awa Faye",
        # Registration 1000 + January 900: paid up to the end of January.
        "Contributions paid up to 31 janv. 2024 included.",
    ):
        assert expected in text, expected


def test_roll_slip_is_80_mm_wide_and_as_long_as_its_content(session, paid):
    _, _, receipt = paid
    data = receipt_pdf(session, receipt, size="roll80", language="en", gettext=identity)
    width, height = page_size(data)
    assert round(width / mm, 1) == 80.0
    assert 60 * mm < height < 160 * mm
    assert len(pypdf.PdfReader(io.BytesIO(data)).pages) == 1
    assert "F CFA1,900" in pdf_text(data)


def test_reversal_slip_names_what_it_cancels(session, paid):
    _, _, receipt = paid
    counter = reverse_receipt(session, receipt, reason="typed twice <oops>")
    session.commit()
    text = pdf_text(receipt_pdf(session, counter, size="a6", language="en", gettext=identity))
    assert "R-2024-000001-R" in text and "Reverses" in text and "typed twice <oops>" in text
    assert "-F CFA1,900" in text or "F CFA-1,900" in text or "−F CFA1,900" in text


def test_slip_size_choice(session, paid):
    scheme, _, _ = paid
    assert slip_size(scheme) == "a6"
    assert slip_size(scheme, "roll80") == "roll80"
    scheme.settings = {"receipt_slip": "roll80"}
    assert slip_size(scheme) == "roll80"
    assert slip_size(scheme, "bogus") == "roll80"
    with pytest.raises(ValueError):
        receipt_pdf(session, paid[2], size="a4", language="en", gettext=identity)
