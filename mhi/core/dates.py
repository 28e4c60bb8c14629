"""Dates: ISO parsing and calendar arithmetic (conventions.md "Dates and periods")."""

from __future__ import annotations

import calendar
from bisect import bisect_right
from collections.abc import Callable, Sequence
from datetime import date
from functools import lru_cache
from typing import TypeVar

from mhi.core.errors import N_, UserError

T = TypeVar("T")


@lru_cache(maxsize=1 << 16)
def add_months(start: date, months: int) -> date:
    """``start`` plus ``months``, keeping the day and clamping to the month's end (2024-01-31 + 1 = 2024-02-29).

    Cached (a pure function of two immutable values): the engine steps every household's period grid from its
    enrolment day, and a register enrols on a few hundred days (issue 17: 17 calls a household, 4 µs each)."""
    total = start.year * 12 + (start.month - 1) + months
    year, month = divmod(total, 12)
    month += 1
    day = min(start.day, calendar.monthrange(year, month)[1])
    return date(year, month, day)


class DateError(UserError):
    """A text that is not an ISO date."""


def parse_date(text: str) -> date:
    """Read ``YYYY-MM-DD`` or raise ``DateError`` with a message a clerk understands."""
    raw = (text or "").strip()
    try:
        if len(raw) != 10:
            raise ValueError
        return date.fromisoformat(raw)
    except ValueError as exc:
        raise DateError(N_("%(text)s is not a date (expected YYYY-MM-DD)"), text=text) from exc


def overlap_days(a_start: date, a_end: date, b_start: date, b_end: date) -> int:
    """Days shared by the half-open ranges ``[a_start, a_end)`` and ``[b_start, b_end)``."""
    start = max(a_start, b_start)
    end = min(a_end, b_end)
    return max(0, (end - start).days)


def version_on(versions: Sequence[T], day: date, *, key: Callable[[T], date] | None = None, dates=None) -> T | None:
    """The effective-dated version in force on ``day``: the last one dated on or before it; before the first
    one's date the first applies (contributions.md, data-formats.md "scheme.json"). None when there is none.

    The one rule for product versions, their benefits and the pool's rules (decisions.md). ``versions`` are in
    date order; their date is ``key(version)`` (by default ``version.effective_from``), or ``dates`` gives the
    dates already listed, for callers asking many days of one list.
    """
    if not versions:
        return None
    if dates is None:
        read = key or _effective_from
        dates = [read(version) for version in versions]
    return versions[max(bisect_right(dates, day) - 1, 0)]


def _effective_from(version) -> date:
    """A stored version's effective date."""
    return version.effective_from
