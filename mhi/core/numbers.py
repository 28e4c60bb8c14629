"""Numbers as people type them on screens: ``1 250``, ``1250,50``, ``0,90``, ``80 %`` (issue 16).

Screens show amounts with the locale's grouping and decimal signs (``fr``: ``1 250,50``); a clerk types them back
the same way. Form fields that take an amount or a rate pass their text through ``locale_number`` (a WTForms
filter), which rewrites what was typed into the plain form the services read (``1250.50``: digits, ``.`` as
decimal separator). The services' own reading (``mhi.core.money.parse_amount``) and the files' format
(conventions.md: CSV amounts are plain decimals) do not change: only what a person types in a form is read
through the locale.

What is accepted, for the user's locale (Babel's number symbols):
- the locale's decimal sign, and ``.`` as well where it is not the locale's grouping sign (``0.90`` in French);
- the locale's grouping sign and any kind of space between groups of three digits (``1 250``, ``1 250``);
- for a rate, a trailing ``%`` (``80 %`` → ``0.80``).
Anything else is left as typed, so the service refuses it with its own message.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from babel import Locale
from babel.numbers import get_decimal_symbol, get_group_symbol
from wtforms import DecimalField

#: Spaces people and software put between digit groups: space, no-break space, narrow no-break space, thin space.
SPACES = " \u00a0\u202f\u2009"
_GROUPED = re.compile(r"^-?\d{1,3}(?:G\d{3})+(?:D\d+)?$")


def _symbols(locale: str | Locale) -> tuple[str, str]:
    loc = Locale.parse(locale) if isinstance(locale, str) else locale
    return get_decimal_symbol(loc), get_group_symbol(loc)


def normalise_number(text: str, locale: str | Locale) -> str | None:
    """``text`` as a plain decimal string (``1250.50``), or None when it is not a number in ``locale``'s way."""
    raw = (text or "").strip()
    if not raw:
        return None
    decimal_sign, group_sign = _symbols(locale)
    spaced_group = group_sign in SPACES or group_sign == "\u202f"
    # Mark the signs: D for the decimal sign, G for a grouping sign, then check the shape.
    marked = []
    for char in raw:
        if char.isdigit() and char.isascii():
            marked.append(char)
        elif char == "-" and not marked:
            marked.append(char)
        elif char == decimal_sign:
            marked.append("D")
        elif char == "." and group_sign != ".":
            marked.append("D")
        elif char in SPACES and (spaced_group or group_sign not in SPACES):
            marked.append("G")
        elif char == group_sign:
            marked.append("G")
        else:
            return None
    shape = "".join(marked)
    if shape.count("D") > 1:
        return None
    if "G" in shape and not _GROUPED.match(shape):
        return None
    plain = shape.replace("G", "").replace("D", ".")
    if plain in ("", "-", ".", "-.") or plain.endswith(".") or plain.startswith(".") or plain.startswith("-."):
        return None
    try:
        Decimal(plain)
    except InvalidOperation:
        return None
    return plain


def normalise_rate(text: str, locale: str | Locale) -> str | None:
    """A rate typed as a share (``0,80``) or a percentage (``80 %``), as a plain decimal share (``0.80``)."""
    raw = (text or "").strip()
    percent = raw.endswith("%")
    if percent:
        raw = raw[:-1].rstrip(SPACES)
    plain = normalise_number(raw, locale)
    if plain is None or not percent:
        return plain
    share = Decimal(plain) / 100
    return format(share.normalize(), "f") if share != share.to_integral() else format(share.quantize(Decimal(1)), "f")


def _current_locale() -> str:
    from flask_babel import get_locale

    return str(get_locale() or "en")


def locale_number(value):
    """WTForms filter: an amount typed the locale's way becomes the plain decimal the services read."""
    if not isinstance(value, str):
        return value
    return normalise_number(value, _current_locale()) or value


def locale_rate(value):
    """WTForms filter: a rate typed as a share or a percentage, the locale's way, becomes a plain decimal share."""
    if not isinstance(value, str):
        return value
    return normalise_rate(value, _current_locale()) or value


class LocaleDecimalField(DecimalField):
    """A ``DecimalField`` that reads what was typed the user's locale's way (``rate=True``: also ``80 %``)."""

    def __init__(self, *args, rate: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.rate = rate

    def process_formdata(self, valuelist):
        """Rewrite the typed text into a plain decimal, then let DecimalField read it (and say why it cannot)."""
        if valuelist and isinstance(valuelist[0], str) and valuelist[0].strip():
            read = normalise_rate if self.rate else normalise_number
            plain = read(valuelist[0], _current_locale())
            valuelist = [plain if plain is not None else valuelist[0], *valuelist[1:]]
        super().process_formdata(valuelist)
