"""A household's product over time: the one "product (and version) of the household on day D" (docs/decisions.md
"Product changes"). Pure: no database.

Before its first dated change (``ProductChange``) a household has the product of its members.csv head row; from
each change's ``from_date`` on, the product that change names. Within a product, the version in force on D is
chosen by ``mhi.core.dates.version_on`` (the last dated on or before D; the first applies before its date).

The contributions engine (``HouseholdInput.terms``) and the claim rules (``PatientRule.product_at``) both read the
household's versions as ONE effective-dated list built by ``household_versions``: ``version_on`` of that list on D
is ``product_version_on(...)`` of D, so a period's amount and a claim's benefits on the same day come from the same
product version.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping, Sequence
from datetime import date
from typing import TypeVar

from mhi.core.dates import version_on

K = TypeVar("K")
V = TypeVar("V")


def product_on(initial: K, changes: Sequence[tuple[date, K]], day: date) -> K:
    """The household's product on ``day``: the product of the latest change dated on or before it, else
    ``initial``. ``changes`` are (from_date, product) in date order."""
    index = bisect_right([d for d, _ in changes], day) - 1
    return changes[index][1] if index >= 0 else initial


def product_version_on(
    initial: K, changes: Sequence[tuple[date, K]], versions: Mapping[K, Sequence[tuple[date, V]]], day: date
) -> tuple[K, V | None]:
    """(product, version) of the household on ``day``: the product by ``product_on``, its version by
    ``version_on`` over ``versions[product]`` ((effective_from, version) in date order); None when the product has
    no version."""
    product = product_on(initial, changes, day)
    chosen = version_on(list(versions.get(product, ())), day, key=lambda item: item[0])
    return product, None if chosen is None else chosen[1]


def household_versions(
    initial: K, changes: Sequence[tuple[date, K]], versions: Mapping[K, Sequence[tuple[date, V]]]
) -> list[tuple[date, V]]:
    """The household's product versions as one effective-dated list: ``version_on(result, D)`` gives the version
    of ``product_version_on(initial, changes, versions, D)`` for every D.

    Without changes it is the initial product's own list, unchanged. With changes: the initial product's versions
    dated before the first change (its first version at least), then for each change its product's version in force
    on the change's date, dated that day, and that product's later versions until the next change. A product
    without versions leaves its segment to the version before it (refused upstream: a change names a product with
    an active version).
    """
    if not changes:
        return list(versions.get(initial, ()))
    result: list[tuple[date, V]] = []
    first = list(versions.get(initial, ()))
    cut = changes[0][0]
    head = [item for item in first if item[0] < cut]
    if not head and first:
        head = [(date.min, first[0][1])]  # every version of it is dated after the change: the first applies before
    result.extend(head)
    for index, (start, product) in enumerate(changes):
        end = changes[index + 1][0] if index + 1 < len(changes) else None
        own = list(versions.get(product, ()))
        if not own:
            continue
        chosen = version_on(own, start, key=lambda item: item[0])
        result.append((start, chosen[1]))
        result.extend(item for item in own if start < item[0] and (end is None or item[0] < end))
    return result
