"""Money: exact decimals, one rounding helper, one splitting helper (conventions.md "Money").

Amounts are ``Decimal`` everywhere. Rounding is ROUND_HALF_UP to the currency's minor unit and happens only
where a contract says so; intermediate values keep full precision.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache

from mhi.core.errors import N_, UserError

#: ISO 4217 minor units of the currencies schemes use; anything else defaults to 2.
MINOR_UNITS: dict[str, int] = {
    "XOF": 0,
    "XAF": 0,
    "RWF": 0,
    "GNF": 0,
    "BIF": 0,
    "KMF": 0,
    "DJF": 0,
    "UGX": 0,
    "VND": 0,
    "JPY": 0,
    "CLP": 0,
    "PYG": 0,
    "KRW": 0,
    "MGA": 2,
    "INR": 2,
    "BDT": 2,
    "KES": 2,
    "USD": 2,
    "EUR": 2,
    "GHS": 2,
    "NGN": 2,
    "TZS": 2,
    "ZMW": 2,
    "MWK": 2,
    "ETB": 2,
    "PKR": 2,
    "NPR": 2,
    "LKR": 2,
    "PHP": 2,
    "IDR": 2,
    "CDF": 2,
    "MAD": 2,
    "HTG": 2,
    "BOB": 2,
    "PEN": 2,
    "GBP": 2,
    "CHF": 2,
    "TND": 3,
    "KWD": 3,
    "BHD": 3,
    "OMR": 3,
    "JOD": 3,
    "LYD": 3,
    "IQD": 3,
}

ZERO = Decimal(0)


@lru_cache(maxsize=64)  # asked for every amount of an import (issue 17); MINOR_UNITS never changes
def minor_units(currency: str) -> int:
    """Number of decimals of ``currency`` (ISO 4217)."""
    return MINOR_UNITS.get(currency.upper(), 2)


@lru_cache(maxsize=64)
def quantum(currency: str) -> Decimal:
    """The smallest amount of ``currency``: 1, 0.01 or 0.001."""
    return Decimal(1).scaleb(-minor_units(currency))


def round_money(amount: Decimal | int, currency: str) -> Decimal:
    """Round half up to the currency's minor unit (conventions.md)."""
    return Decimal(amount).quantize(quantum(currency), rounding=ROUND_HALF_UP)


def round_down(amount: Decimal | int, currency: str) -> Decimal:
    """Round towards minus infinity to the minor unit (the pool never pays more than it holds)."""
    return Decimal(amount).quantize(quantum(currency), rounding=ROUND_FLOOR)


def round_up_to(amount: Decimal, step: Decimal) -> Decimal:
    """Round up to a multiple of ``step`` (feasibility.md step 5)."""
    return (amount / step).to_integral_value(rounding=ROUND_CEILING) * step


def round_ratio(value: Decimal | None, places: int = 4) -> float | None:
    """A ratio for JSON: half up to ``places`` decimals, as a number (conventions.md "Ratios")."""
    if value is None:
        return None
    return float(Decimal(value).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP))


def ratio(numerator: Decimal | int, denominator: Decimal | int) -> Decimal | None:
    """Exact quotient, or None when the denominator is 0."""
    if not denominator:
        return None
    return Decimal(numerator) / Decimal(denominator)


def money_str(amount: Decimal | int, currency: str) -> str:
    """An amount as JSON/CSV wants it: a string with exactly the currency's decimals, e.g. "60.00"."""
    return str(round_money(amount, currency))


def split_cumulative(total: Decimal, shares: Sequence[Decimal], currency: str) -> list[Decimal]:
    """Split ``total`` by ``shares`` with cumulative rounding, so the parts never pass the whole.

    Part p is ``round(total · (s_1+…+s_p)) − round(total · (s_1+…+s_{p−1}))`` (contributions.md §2).
    The shares are taken as given; the caller caps them so their sum stays ≤ 1.
    """
    parts: list[Decimal] = []
    running_share = ZERO
    previous = ZERO
    for share in shares:
        running_share += share
        cumulative = round_money(total * running_share, currency)
        parts.append(cumulative - previous)
        previous = cumulative
    return parts


class MoneyError(UserError):
    """An amount that cannot be read or is not valid in its currency."""


#: Digits, "." and "-" only (a national import reads a million amounts: one regex, not a loop per character).
_AMOUNT_TEXT = re.compile(r"[0-9.\-]+")


def parse_amount(text: str, currency: str | None = None) -> Decimal:
    """Read a plain decimal (``.`` separator, no thousands separator) or raise ``MoneyError``.

    With ``currency``, more decimals than the currency has are refused (an XOF amount of 12.5 is a typo).
    """
    raw = (text or "").strip()
    if not _AMOUNT_TEXT.fullmatch(raw):
        raise MoneyError(
            N_("%(text)s is not an amount (expected digits with '.' as decimal separator)"), text=repr(text)
        )
    try:
        value = Decimal(raw)
    except InvalidOperation as exc:
        raise MoneyError(N_("%(text)s is not an amount"), text=repr(text)) from exc
    if not value.is_finite():
        raise MoneyError(N_("%(text)s is not an amount"), text=repr(text))
    if currency is not None and value != value.quantize(quantum(currency), rounding=ROUND_HALF_UP):
        raise MoneyError(
            N_("%(text)s has more decimals than %(currency)s allows (%(minor_units)s)"),
            text=text,
            currency=currency,
            minor_units=minor_units(currency),
        )
    return value
