"""Money is shown with the decimals it is stored with (ISO 4217, ``mhi.core.money.MINOR_UNITS``), whatever CLDR's
cash digits say: 1234.50 MGA used to show as "1 234 Ar"."""

from __future__ import annotations

from decimal import Decimal

import pytest

from mhi.core.formatting import money
from mhi.core.money import minor_units, money_str
from mhi.core.pdf import money_formatter


@pytest.mark.parametrize(
    ("currency", "places", "amount", "fr_digits"),
    [
        ("XOF", 0, Decimal("1234"), "1\u202f234"),
        ("INR", 2, Decimal("1234.50"), "1\u202f234,50"),
        ("MGA", 2, Decimal("1234.50"), "1\u202f234,50"),
        ("JPY", 0, Decimal("1234"), "1\u202f234"),
        ("KWD", 3, Decimal("1234.505"), "1\u202f234,505"),
        ("IQD", 3, Decimal("1234.500"), "1\u202f234,500"),
        ("IDR", 2, Decimal("1234.50"), "1\u202f234,50"),
    ],
)
def test_screens_and_pdfs_show_the_stored_decimals(currency, places, amount, fr_digits):
    assert minor_units(currency) == places
    stored = money_str(amount, currency)
    assert stored == str(amount)
    shown_fr = money(amount, currency, "fr")
    shown_en = money(amount, currency, "en")
    # French groups with a narrow no-break space and uses a decimal comma; the digits are all there.
    assert fr_digits in shown_fr.replace("\xa0", "\u202f"), shown_fr
    assert stored.replace(".", ",") in shown_fr.replace("\u202f", "").replace("\xa0", ""), shown_fr
    decimals = shown_en.rsplit(".", 1)[1].rstrip("\xa0 ").split("\xa0")[0] if places else ""
    assert len([c for c in decimals if c.isdigit()]) == places, shown_en
    # PDFs format through the same function.
    assert money_formatter(currency, "fr")(stored) == shown_fr


def test_rounding_to_the_minor_unit_before_display():
    assert money(Decimal("1234.5"), "XOF", "fr_SN").startswith("1\u202f235")
    assert money(Decimal("0.125"), "INR", "en_IN") == "₹0.13"
