"""Reading untrusted values (files, forms, JSON) into typed ones, with messages a clerk understands.

Every reader raises ``FieldError``; importers and loaders collect them with the row and column
(conventions.md "Errors": file, row, column, reason) and write nothing when any is found.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

from mhi.core.dates import DateError, parse_date
from mhi.core.errors import N_, Term, UserError, localised, translate
from mhi.core.money import MoneyError, parse_amount

#: The names of inputs the readers below put in their messages (``what``), marked so they are translated too.
TERMS = (
    N_("code"),
    N_("reference"),
    N_("benefit code"),
    N_("exit reason"),
    N_("expense category"),
    N_("federation code"),
    N_("household reference"),
    N_("member number"),
    N_("payment method"),
    N_("product code"),
    N_("programme code"),
    N_("provider code"),
    N_("receipt number"),
    N_("relationship"),
    N_("scheme code"),
    N_("sex"),
    N_("basis"),
    N_("period"),
    N_("benefit kind"),
)

CODE_RE = re.compile(r"^[A-Z0-9][A-Z0-9_-]{0,19}$")
REF_RE = re.compile(r"^[A-Za-z0-9/\-_.]{1,40}$")


class FieldError(UserError):
    """One value that cannot be accepted; the message says why."""


@dataclass(frozen=True)
class Problem:
    """An error found in input: where (file, row — 1 = first data row —, column) and why.

    ``message`` is English; with ``params`` it is a template (``"has more than %(limit)s rows"``) marked for
    translation where it is written, and ``translated()`` gives it in the request's language.
    """

    message: str
    row: int | None = None
    column: str | None = None
    file: str | None = None
    params: dict | None = field(default=None, compare=False, hash=False)

    @property
    def text(self) -> str:
        """The message in English, its parameters filled in."""
        return self.message % self.params if self.params else self.message

    def __str__(self) -> str:
        where = []
        if self.file:
            where.append(self.file)
        if self.row is not None:
            where.append(f"row {self.row}")
        return _joined(", ".join(where), self.column, self.text)

    def translated_text(self) -> str:
        """The message alone (no file, row or column) in the request's language, for a form field."""
        return translate(self.message, self.params)

    def translated(self) -> str:
        """The problem in the request's language (Flask-Babel); messages without a translation stay English."""
        from flask_babel import gettext

        where = []
        if self.file:
            where.append(self.file)
        if self.row is not None:
            where.append(gettext("row %(number)s", number=self.row))
        message = gettext(self.message, **localised(self.params)) if self.params else gettext(self.message)
        return _joined(", ".join(where), self.column, message)

    @classmethod
    def of(cls, exc: Exception, **where) -> Problem:
        """The problem ``exc`` reports (its message id and parameters when it is a ``UserError``) at ``where``."""
        if isinstance(exc, UserError):
            return cls(exc.message, params=exc.params or None, **where)
        return cls(str(exc), **where)


def _joined(prefix: str, column: str | None, message: str) -> str:
    """``file, row 3: column: message``, leaving out the parts that are absent."""
    column_part = f"{column}: " if column else ""
    return f"{prefix}{', ' if prefix and column_part else (': ' if prefix else '')}{column_part}{message}"


class InputRejected(ValueError):
    """Input refused as a whole; ``problems`` lists every error found."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__(
            "; ".join(str(p) for p in problems[:20])
            + (f" (and {len(problems) - 20} more)" if len(problems) > 20 else "")
        )

    def translated(self) -> str:
        """Every problem in the request's language, as ``str()`` lists them in English."""
        from flask_babel import gettext

        more = len(self.problems) - 20
        return "; ".join(p.translated() for p in self.problems[:20]) + (
            gettext(" (and %(count)s more)", count=more) if more > 0 else ""
        )


def code(value, what: str = "code") -> str:
    """A code such as a scheme, product or benefit code: ``[A-Z0-9][A-Z0-9_-]{0,19}``."""
    text = str(value if value is not None else "").strip()
    if not CODE_RE.match(text):
        raise FieldError(
            N_("%(text)s is not a valid %(what)s (capital letters, digits, - and _, at most 20)"),
            text=repr(text),
            what=Term(what),
        )
    return text


def ref(value, what: str = "reference") -> str:
    """A reference such as household_ref or claim_ref: 1–40 ASCII letters, digits and / - _ ."""
    text = str(value if value is not None else "").strip()
    if not REF_RE.match(text):
        raise FieldError(
            N_("%(text)s is not a valid %(what)s (1 to 40 letters, digits, / - _ .)"), text=repr(text), what=Term(what)
        )
    return text


#: The years a date may fall in. Wider than any real record, narrow enough that the rules' arithmetic (periods,
#: grace, lapse, waiting periods added to a date) never runs past the calendar's year 9999 (tests/trust).
FIRST_YEAR, LAST_YEAR = 1900, 2199


def day(value) -> date:
    """An ISO date between FIRST_YEAR and LAST_YEAR."""
    if isinstance(value, date):
        return value
    try:
        result = parse_date(str(value if value is not None else ""))
    except DateError as exc:
        raise FieldError.of(exc) from exc
    if not FIRST_YEAR <= result.year <= LAST_YEAR:
        raise FieldError(
            N_("%(result)s is not a plausible date (years %(first)s to %(last)s)"),
            result=result.isoformat(),
            first=FIRST_YEAR,
            last=LAST_YEAR,
        )
    return result


def optional_day(value) -> date | None:
    """An ISO date or blank/None."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return day(value)


#: Amounts are stored as integer thousandths in 64 bits (core/db.py Money): a bound well inside that, and far
#: above any real amount, so a typo of twenty digits is an error on its row, not a database failure.
AMOUNT_LIMIT = Decimal(10) ** 12


def amount(value, currency: str | None = None, *, positive: bool = False, allow_zero: bool = True) -> Decimal:
    """A decimal amount (never through float: JSON numbers must be parsed with parse_float=Decimal)."""
    if isinstance(value, float):
        raise FieldError(N_("%(value)s must be written as a string or an exact decimal"), value=value)
    if isinstance(value, bool):
        raise FieldError(N_("%(value)s is not an amount"), value=value)
    try:
        result = parse_amount(str(value) if value is not None else "", currency)
    except MoneyError as exc:
        raise FieldError.of(exc) from exc
    except InvalidOperation as exc:  # more digits than Decimal's precision: no real amount has them
        raise FieldError(N_("%(value)s is too large to be an amount"), value=repr(str(value)[:40])) from exc
    if abs(result) >= AMOUNT_LIMIT:
        raise FieldError(N_("%(value)s is too large to be an amount (at most 999999999999)"), value=str(value)[:40])
    if result < 0 or (positive and result == 0) or (not allow_zero and result == 0):
        if positive or not allow_zero:
            raise FieldError(N_("%(value)s must be more than 0"), value=value)
        raise FieldError(N_("%(value)s must be at least 0"), value=value)
    return result


def share(value, *, allow_one: bool = True) -> Decimal:
    """A share between 0 and 1 (coverage rate, subsidy share)."""
    result = amount(value)
    if result > 1 or (not allow_one and result == 1):
        raise FieldError(N_("%(value)s must be between 0 and 1"), value=value)
    return result


#: The largest whole number read from input: a PostgreSQL INTEGER column holds no more (tests/trust).
WHOLE_LIMIT = 2**31 - 1


def whole(value, *, minimum: int = 0, maximum: int = WHOLE_LIMIT) -> int:
    """A whole number from ``minimum`` to ``maximum`` (by default what an INTEGER column holds)."""
    if isinstance(value, bool):
        raise FieldError(N_("%(value)s is not a whole number"), value=value)
    if isinstance(value, int):
        result = value
    else:
        text = str(value if value is not None else "").strip()
        if not text.lstrip("-").isdigit() or not text.isascii() or len(text) > 20:
            raise FieldError(N_("%(value)s is not a whole number"), value=repr(str(value)[:40]))
        result = int(text)
    if result < minimum:
        raise FieldError(N_("%(value)s must be at least %(minimum)s"), value=value, minimum=minimum)
    if result > maximum:
        raise FieldError(N_("%(value)s is too large (at most %(maximum)s)"), value=str(value)[:40], maximum=maximum)
    return result


def choice(value, options: tuple[str, ...], what: str) -> str:
    """One of ``options``."""
    text = str(value if value is not None else "").strip()
    if text not in options:
        raise FieldError(
            N_("%(text)s is not a valid %(what)s (one of %(values)s)"),
            text=repr(text),
            what=Term(what),
            values=", ".join(options),
        )
    return text
