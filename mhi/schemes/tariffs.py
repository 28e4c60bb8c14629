"""Providers' dated tariffs: the one read of "the tariff list a provider's convention gives on a day".

Stored as ``Tariff`` rows ``(effective_from, benefit_code, amount)``; the rows of one date are the whole list from
that date (an amount of None: the code is no longer capped). A claim reads the list in force on its date of service
(adjudication.md check 9's tariff cap), so an amendment never changes a claim for earlier care. Pure functions.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Mapping
from datetime import date
from decimal import Decimal


def history(rows: Iterable[tuple[date, str, Decimal | None]]) -> list[tuple[date, dict[str, Decimal]]]:
    """Rows ``(effective_from, benefit_code, amount)`` as dated full lists, oldest first."""
    lists: dict[date, dict[str, Decimal]] = {}
    for day, code, amount in rows:
        entry = lists.setdefault(day, {})
        if amount is not None:
            entry[code] = amount
    return sorted(lists.items())


def on(dated: list[tuple[date, Mapping[str, Decimal]]], day: date) -> dict[str, Decimal]:
    """The list in force on ``day``: the last dated on or before it; before the first one's date the first
    (``core.dates.version_on``'s rule); empty when there is none."""
    if not dated:
        return {}
    index = max(bisect_right([d for d, _ in dated], day) - 1, 0)
    return dict(dated[index][1])


def rows_for_change(previous: Mapping[str, Decimal], tariffs: Mapping[str, Decimal]) -> dict[str, Decimal | None]:
    """The rows a new list from a date needs: every code of the new list, and None for a code it drops."""
    out: dict[str, Decimal | None] = dict(tariffs)
    for code in previous:
        out.setdefault(code, None)
    return out
