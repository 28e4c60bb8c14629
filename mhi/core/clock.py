"""The one clock: every "now" and "today" of the application comes from here.

Times are stored as aware UTC (``now()``); the calendar day that rules and screens use is the day in the
deployment's zone (``MHI_TIME_ZONE``, default UTC: the schemes of one deployment share a country's zone; they
carry no zone of their own). Tests set the clock with ``frozen(day)`` instead of patching ``date.today`` in
every module.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context

_frozen: datetime | None = None


def zone() -> ZoneInfo:
    """The zone days are counted in: the app's ``MHI_TIME_ZONE``, else UTC."""
    name = current_app.config.get("MHI_TIME_ZONE") if has_app_context() else None
    return ZoneInfo(name or "UTC")


def now() -> datetime:
    """The current time, aware, in UTC (what is stored)."""
    return _frozen if _frozen is not None else datetime.now(UTC)


def stored_now() -> datetime:
    """The current UTC time without its zone, for the ``DateTime`` columns (they hold UTC, naive)."""
    return now().replace(tzinfo=None)


def today() -> date:
    """Today's date in the deployment's zone (what the rules and the screens use)."""
    return now().astimezone(zone()).date()


def local(moment: datetime) -> datetime:
    """A stored time as shown: in the deployment's zone (naive stored times are read as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(zone())


@contextmanager
def frozen(moment: date | datetime) -> Iterator[None]:
    """Set the clock for a test: a ``date`` stands for noon UTC of that day."""
    global _frozen
    previous = _frozen
    if not isinstance(moment, datetime):
        moment = datetime.combine(moment, time(12), tzinfo=UTC)
    elif moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    _frozen = moment
    try:
        yield
    finally:
        _frozen = previous
