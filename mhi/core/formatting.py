"""Locale-aware display of amounts, dates and ratios (conventions.md: Babel, per the user's language and the
scheme's country, e.g. fr_SN "1 500 F CFA", en_IN "₹60.00")."""

from __future__ import annotations

from copy import copy
from datetime import date
from decimal import Decimal
from functools import lru_cache

from babel import Locale, UnknownLocaleError
from babel.dates import format_date
from babel.numbers import format_decimal, format_percent

from mhi.core.money import minor_units, round_money


@lru_cache(maxsize=256)
def display_locale(language: str, country: str | None) -> str:
    """``fr`` + ``SN`` → ``fr_SN`` when Babel knows it, else the language alone."""
    if country:
        candidate = f"{language}_{country.upper()}"
        try:
            Locale.parse(candidate)
            return candidate
        except (UnknownLocaleError, ValueError):
            pass
    return language


def money(amount: Decimal | int | None, currency: str, locale: str) -> str:
    """An amount in its currency, rounded to the currency's minor unit, formatted for ``locale``.

    The decimals shown are the ones stored (``mhi.core.money.MINOR_UNITS``, ISO 4217), never CLDR's: CLDR gives
    MGA, IDR and IQD no decimals for cash, so Babel's own choice showed 1234.50 MGA as "1 234 Ar". The locale
    still decides the separators, the symbol and where it stands.
    """
    if amount is None:
        return "—"
    pattern = _currency_pattern(locale, minor_units(currency))
    return pattern.apply(round_money(amount, currency), locale, currency=currency, currency_digits=False)


@lru_cache(maxsize=256)
def _currency_pattern(locale: str, decimals: int):
    """The locale's currency pattern showing ``decimals`` decimals (built once: a claim page shows hundreds of
    amounts)."""
    pattern = copy(Locale.parse(locale).currency_formats["standard"])
    pattern.frac_prec = (decimals,) * 2
    return pattern


def day(value: date | None, locale: str) -> str:
    """A date in the locale's medium form (27 nov. 2026, Nov 27, 2026)."""
    if value is None:
        return "—"
    return format_date(value, format="medium", locale=locale)


def number(value, locale: str, places: int = 0) -> str:
    """A plain number with the locale's separators."""
    if value is None:
        return "—"
    return format_decimal(value, format="#,##0" + ("." + "0" * places if places else ""), locale=locale)


def percent(value, locale: str) -> str:
    """A ratio as a percentage with one decimal (screens may show ratios as percentages)."""
    if value is None:
        return "—"
    return format_percent(value, format="#,##0.0 %", locale=locale)
