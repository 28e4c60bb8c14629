"""Bounds on what a request may carry, applied once for every route (issue 18: "never a 500").

- **Ids in URLs**: the ``int`` converter is replaced by ``IdConverter``, which matches only 0 … 2³¹−1 (the range
  of an ``INTEGER`` column on PostgreSQL): ``/claims/99999999999`` is a 404 like any id that does not exist,
  instead of a database error. Negative ids never match (Werkzeug's default).
- **Query strings**: ``query_date`` and ``query_int`` read one argument with the same bounds as forms (dates in
  1900–2199, whole numbers within the database's range) and answer 400 with a message saying which argument
  is wrong and why; the error page shows it.
- **JSON bodies**: ``read_json_object`` reads a request body with a size and nesting-depth limit, exact decimals
  (never floats), and no lone surrogate (text PostgreSQL cannot store); ``JsonRefused`` carries the message.
  ``text_field`` reads one string member, refusing another type (``"claim_ref": true`` is not "True") and a text
  longer than its column.
- **Forms**: every form uses this module's ``DateField`` (years 1900–2199, as ``validation.day``) and
  ``IntegerField`` (within the database's INTEGER range) instead of WTForms' own, and ``fits(Model.column)`` is a
  ``Length`` validator sized from the column, so a form says "too long" or "out of range" beside the field
  rather than failing at the write.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal, InvalidOperation

from flask import abort, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.routing import IntegerConverter
from wtforms import fields as wtf
from wtforms.validators import Length

from mhi.core import validation as v

#: The largest value of a PostgreSQL INTEGER column (ids, counts).
INT_MAX = 2**31 - 1
#: A JSON body larger than this is refused before it is parsed (a claim with 200 lines is about 20 KB).
JSON_MAX_BYTES = 256 * 1024
#: Objects and lists nested deeper than this are refused (the API's documents nest three levels).
JSON_MAX_DEPTH = 10


class IdConverter(IntegerConverter):
    """``<int:…>`` in every route: a whole number from 0 to INT_MAX, else the route does not match (404)."""

    def __init__(self, map, fixed_digits: int = 0, min: int | None = 0, max: int | None = INT_MAX, signed=False):
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def init_app(app) -> None:
    """Register the bounded converters; must run before any blueprint adds its routes."""
    app.url_map.converters["int"] = IdConverter


def bad_request(message: str):
    """Answer 400 with ``message`` (already translated) shown on the error page."""
    abort(400, message)


# -- query strings ---------------------------------------------------------------------------------------------


def date_message(name: str) -> str:
    """What a date argument must be, in the user's language."""
    return _(
        "%(name)s must be a date written YYYY-MM-DD, between %(first)s and %(last)s.",
        name=name,
        first=v.FIRST_YEAR,
        last=v.LAST_YEAR,
    )


def query_date(name: str, default: date | None = None) -> date | None:
    """The date in query argument ``name`` (YYYY-MM-DD, years 1900–2199), ``default`` when absent or blank;
    anything else answers 400 naming the argument."""
    text = request.args.get(name, "").strip()
    if not text:
        return default
    try:
        return v.day(text)
    except v.FieldError:
        bad_request(date_message(name))


def query_int(name: str, default: int | None = None, *, minimum: int = 0, maximum: int = INT_MAX) -> int | None:
    """The whole number in query argument ``name`` (``minimum`` … ``maximum``), ``default`` when absent or
    blank; anything else answers 400 naming the argument."""
    text = request.args.get(name, "").strip()
    if not text:
        return default
    if not text.isascii() or not text.lstrip("-").isdigit() or len(text) > 12 or not minimum <= int(text) <= maximum:
        bad_request(_("%(name)s must be a whole number from %(min)s to %(max)s.", name=name, min=minimum, max=maximum))
    return int(text)


# -- JSON bodies -----------------------------------------------------------------------------------------------


class JsonRefused(ValueError):
    """A JSON body refused as a whole; the message (translated) says why."""


def _check_tree(value, depth: int = 1) -> None:
    """Refuse nesting deeper than JSON_MAX_DEPTH and text that is not valid Unicode (lone surrogates)."""
    if depth > JSON_MAX_DEPTH:
        raise JsonRefused(_("The JSON body is nested too deeply (at most %(depth)s levels).", depth=JSON_MAX_DEPTH))
    if isinstance(value, str):
        _check_text(value)
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_text(key)
            _check_tree(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _check_tree(item, depth + 1)


def _check_text(text: str) -> None:
    """Refuse a string holding a lone surrogate (``"\\ud800"`` in JSON): it is not text and cannot be stored."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise JsonRefused(_("The JSON body holds text that is not valid Unicode (a lone surrogate).")) from exc


def read_json_object(max_bytes: int = JSON_MAX_BYTES) -> dict:
    """The request's JSON body as a dict, numbers as exact Decimals, within the size and depth limits.

    Raises ``JsonRefused`` (translated message) for a body too large, not JSON, too deep, not an object, or
    holding a lone surrogate or a NUL character.
    """
    if request.content_length is not None and request.content_length > max_bytes:
        raise JsonRefused(_("The JSON body is too large (at most %(size)s bytes).", size=max_bytes))
    raw = request.get_data(cache=True)
    if len(raw) > max_bytes:
        raise JsonRefused(_("The JSON body is too large (at most %(size)s bytes).", size=max_bytes))
    try:
        data = json.loads(raw.decode("utf-8"), parse_float=Decimal)
    except RecursionError as exc:
        raise JsonRefused(
            _("The JSON body is nested too deeply (at most %(depth)s levels).", depth=JSON_MAX_DEPTH)
        ) from exc
    except (ValueError, InvalidOperation) as exc:  # UnicodeDecodeError is a ValueError
        raise JsonRefused(_("The body is not valid JSON.")) from exc
    _check_tree(data)
    if not isinstance(data, dict):
        raise JsonRefused(_("The body must be a JSON object."))
    if "\x00" in raw.decode("utf-8") or "\\u0000" in raw.decode("utf-8"):
        raise JsonRefused(_("The JSON body holds a NUL character."))
    return data


def text_field(data: dict, name: str, max_length: int) -> str | None:
    """Member ``name`` of a JSON object as text: absent or null gives None; a number, boolean, list or object is
    refused (``"claim_ref": true`` is not the text "True"), and so is a text longer than ``max_length``."""
    value = data.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise v.FieldError(_("must be a text (a string in quotes)"))
    if len(value) > max_length:
        raise v.FieldError(_("is longer than %(n)s characters", n=max_length))
    return value


# -- forms -----------------------------------------------------------------------------------------------------


def column_length(column) -> int:
    """The declared length of a String column (``Model.attribute``)."""
    return column.property.columns[0].type.length


def fits(column) -> Length:
    """A form validator: no longer than the column that stores the field."""
    return Length(max=column_length(column))


class DateField(wtf.DateField):
    """WTForms' DateField refusing years outside 1900–2199 (``validation.FIRST_YEAR``/``LAST_YEAR``): the
    rules' date arithmetic and the database both stay within range."""

    def process_formdata(self, valuelist):
        super().process_formdata(valuelist)
        if self.data is not None and not v.FIRST_YEAR <= self.data.year <= v.LAST_YEAR:
            self.data = None
            raise ValueError(_l("Give a date between %(first)s and %(last)s.", first=v.FIRST_YEAR, last=v.LAST_YEAR))


class IntegerField(wtf.IntegerField):
    """WTForms' IntegerField refusing whole numbers outside the database's INTEGER range (±2³¹)."""

    def process_formdata(self, valuelist):
        super().process_formdata(valuelist)
        if self.data is not None and not -INT_MAX <= self.data <= INT_MAX:
            self.data = None
            raise ValueError(_l("Give a number no larger than %(max)s.", max=INT_MAX))
