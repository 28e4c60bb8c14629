"""Errors a person reads: a message id and its parameters, said in the reader's language where they are shown.

A service, an importer or a validator raises ``UserError`` (or one of its subclasses, one per feature) with an
English template marked ``N_`` — the gettext msgid, with ``%(name)s`` placeholders — and the values as keyword
parameters::

    raise ContributionError(N_("receipt number %(receipt_no)s is already used in this scheme."), "receipt_no",
                            receipt_no=receipt_no)

``str(error)`` is the English text (logs, the command line, tests); ``error.translated()`` — or ``say(error)``
for any exception — is the text in the request's language (pages, flashes, the API's problem details). The
second positional argument, when given, names the input the message is about (a form field, a JSON member).
tests/core/test_messages.py fails on a user-facing error raised with a plain string or f-string.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any


def N_(message: str) -> str:  # noqa: N802 - the conventional name of a translation marker
    """Mark ``message`` for extraction (tools/i18n.py); it is translated where it is shown."""
    return message


def english(message: str, params: dict[str, Any] | None) -> str:
    """The English text of a template and its parameters (a parameter that is an error gives its English)."""
    if not params:
        return str(message)
    return str(message) % {
        key: str(value) if isinstance(value, BaseException) else value for key, value in params.items()
    }


def localised(params: dict[str, Any] | None) -> dict[str, Any]:
    """The parameters as the reader's language shows them: nested errors and lazy strings translated, decimals
    with the locale's separators (``1 250,50``); dates stay ISO, as they are typed."""
    from babel.numbers import format_decimal
    from flask_babel import get_locale

    locale = get_locale() or "en"
    values: dict[str, Any] = {}
    for key, value in (params or {}).items():
        if hasattr(value, "translated"):
            values[key] = value.translated()
        elif isinstance(value, Decimal) and value.is_finite():
            values[key] = format_decimal(value, locale=locale, decimal_quantization=False)
        elif isinstance(value, date | int | str) or value is None:
            values[key] = value
        else:
            values[key] = str(value)  # lazy strings: rendered now, in the request's language
    return values


def translate(message: str, params: dict[str, Any] | None = None) -> str:
    """``message`` (a msgid) in the request's language with its parameters; English outside a request."""
    from flask import has_request_context

    if not has_request_context():
        return english(message, params)
    from flask_babel import gettext

    if params:
        return gettext(str(message), **localised(params))
    return gettext(str(message))


class Term(str):
    """A word put into a message (``what`` in "%(text)s is not a valid %(what)s"): English as a ``str``,
    translated with the message when its msgid is in the catalogue (core/validation.py ``TERMS`` marks them)."""

    def translated(self) -> str:
        """The word in the request's language."""
        return translate(str(self))


class Message(str):
    """A message kept as data rather than raised (a list of every error of a study, each beside its field): its
    English text as a ``str`` — so logs, the command line and comparisons see plain English —, with the msgid
    (``N_``) and parameters that ``translated()`` (and ``say``) turn into the request's language."""

    message: str
    params: dict[str, Any]

    def __new__(cls, message: str, /, **params: Any):
        text = super().__new__(cls, english(message, params))
        text.message = message
        text.params = params
        return text

    def translated(self) -> str:
        """The message in the request's language (English outside a request)."""
        return translate(self.message, self.params)


class UserError(ValueError):
    """An input or action refused, with a message a clerk understands: ``message`` (the msgid, English, marked
    ``N_``), ``field`` the input concerned (or None) and ``params`` the values of the placeholders."""

    def __init__(self, message: str, field: str | None = None, /, **params: Any):
        self.message = message
        self.field = field
        self.params = params
        super().__init__(english(message, params))

    def __str__(self) -> str:
        return english(self.message, self.params)

    def translated(self) -> str:
        """The message in the request's language (English outside a request)."""
        return translate(self.message, self.params)

    @classmethod
    def of(cls, exc: Exception, field: str | None = None):
        """``exc`` retyped as this class, keeping its message id and parameters (``raise X.of(exc) from exc``)."""
        if isinstance(exc, UserError):
            return cls(exc.message, field or exc.field, **exc.params)
        return cls(str(exc), field)


def say(exc: BaseException) -> str:
    """What to show a person for ``exc``: its translation when it carries a message id, else its text."""
    translated = getattr(exc, "translated", None)
    if callable(translated):
        return translated()
    return str(exc)
