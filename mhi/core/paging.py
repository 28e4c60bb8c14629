"""Long lists page through all their rows with counts ("201–400 of 590"), keeping their filters.

``paginate`` runs a list's query twice: ``count(*)`` over it (order dropped), then one page with LIMIT/OFFSET —
two queries whatever the list's size. A page number past the end shows the last page. The template macro
``pager`` (templates/_macros.html) writes the counts and the links, carrying every other query argument along.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select


@dataclass
class Paged:
    """One page of a list: its rows, which page, how many rows a page holds and in all."""

    items: list[Any]
    page: int
    per_page: int
    total: int

    @property
    def first(self) -> int:
        """The number of the page's first row (1-based; 0 when the list is empty)."""
        return 0 if not self.total else (self.page - 1) * self.per_page + 1

    @property
    def last(self) -> int:
        """The number of the page's last row."""
        return min(self.page * self.per_page, self.total)

    @property
    def pages(self) -> int:
        """How many pages the list has (at least 1)."""
        return max(1, -(-self.total // self.per_page))

    @property
    def has_previous(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


def page_number(value) -> int:
    """A ?page= argument as a page number: anything not a positive whole number is page 1."""
    try:
        return max(1, int(value))
    except (TypeError, ValueError):
        return 1


def paginate(session, query, page: int, per_page: int, *, scalars: bool = True) -> Paged:
    """The ``page``-th page of ``query`` (a select) with the total count of its rows."""
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    page = min(max(1, page), max(1, -(-total // per_page)))
    sliced = query.limit(per_page).offset((page - 1) * per_page)
    items = list(session.scalars(sliced)) if scalars else list(session.execute(sliced))
    return Paged(items, page, per_page, total)
