"""Every number the application hands out — claim references, receipt numbers, payment batches, member numbers,
guarantee letters — comes from one place: a counter row per (scheme, kind, scope).

Why a counter table rather than ``max()+1`` or ``count()+1``: two clerks (or two API clients) who read the
largest number at the same moment both write the same next one; the loser of the race got a 500 (issue 18).
``allocate_numbers`` increments the counter with ``UPDATE … SET last = last + n`` inside the caller's
transaction, so:

- on PostgreSQL the UPDATE locks the counter row until the caller commits or rolls back; a second transaction
  asking for the same counter waits there, then reads the committed value (READ COMMITTED re-reads the row) —
  numbers are distinct, and gapless, because a rolled-back request gives its number back;
- on SQLite the UPDATE takes the database's single write lock, so allocations are serialised by design.

The counter row is created on first use with ``INSERT … ON CONFLICT DO NOTHING`` (two first uses at once: the
second waits for the first's row and then just increments it). Numbers typed by hand or imported from a file
may already use values the counter has not reached: each candidate is checked against the table that holds the
numbers (``unique`` = its column and the scheme's condition), and used ones are skipped in growing chunks, so
a counter that starts behind ten thousand imported numbers catches up in a dozen queries.

Keep the counter's lock short: allocate as late as the flow allows, and commit soon after. A service that
allocates two kinds in one transaction must always allocate them in the same order (kind, then scope).

Usage (a service; it flushes, the view commits)::

    number = allocate_number(
        session, scheme_id=scheme.id, kind="letter", scope=str(day.year),
        render=lambda n: f"GL-{day.year}-{n:06d}",
        unique=(GuaranteeLetter.number, GuaranteeLetter.scheme_id == scheme.id),
    )
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sqlalchemy import ForeignKey, String, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, mapped_column

from mhi.core.db import db

#: The largest chunk of candidates checked in one query when the counter is behind numbers already used.
MAX_PROBE = 1024


class NumberCounter(db.Model):
    """The last number handed out for one kind of number in one scheme and scope (a year, a provider, a
    household reference). Only ``allocate_numbers`` writes it."""

    __tablename__ = "number_counter"

    scheme_id: Mapped[int] = mapped_column(ForeignKey("scheme.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    scope: Mapped[str] = mapped_column(String(60), primary_key=True)
    last: Mapped[int] = mapped_column(default=0)


def _ensure_counter(session, scheme_id: int, kind: str, scope: str) -> None:
    """Create the counter row at 0 unless it exists (a concurrent creator wins quietly)."""
    dialect = session.get_bind().dialect.name
    maker = {"postgresql": pg_insert, "sqlite": sqlite_insert}.get(dialect)
    values = {"scheme_id": scheme_id, "kind": kind, "scope": scope, "last": 0}
    if maker is None:  # another database: no upsert; the primary key still refuses a duplicate
        session.execute(insert(NumberCounter.__table__).values(**values))
        return
    session.execute(maker(NumberCounter.__table__).values(**values).on_conflict_do_nothing())


def _advance(session, scheme_id: int, kind: str, scope: str, by: int) -> int:
    """Add ``by`` to the counter (locking its row until the transaction ends) and return its new value."""
    table = NumberCounter.__table__
    where = (table.c.scheme_id == scheme_id, table.c.kind == kind, table.c.scope == scope)
    statement = update(table).where(*where).values(last=table.c.last + by).returning(table.c.last)
    last = session.execute(statement).scalar()
    if last is None:
        _ensure_counter(session, scheme_id, kind, scope)
        last = session.execute(statement).scalar_one()
    return last


def allocate_numbers(
    session,
    *,
    scheme_id: int,
    kind: str,
    scope: str,
    render: Callable[[int], str],
    unique: Sequence | None = None,
    count: int = 1,
    taken: set[str] | frozenset[str] = frozenset(),
) -> list[str]:
    """``count`` new numbers of ``kind`` in ``scope`` of the scheme, rendered by ``render(n)`` (n from 1).

    ``unique`` is ``(column, *conditions)``: the column holding these numbers and the conditions that make a
    value used (the scheme), so numbers already typed by hand or imported are skipped; ``taken`` adds numbers
    the caller is about to store itself. The counter row stays locked until the caller's transaction ends
    (see the module docstring); the service flushes, the view commits. Safe under concurrency on PostgreSQL
    and SQLite.
    """
    if count < 1:
        return []
    column, *conditions = unique if unique is not None else (None,)
    numbers: list[str] = []
    chunk = count
    while len(numbers) < count:
        last = _advance(session, scheme_id, kind, scope, chunk)
        candidates = [render(n) for n in range(last - chunk + 1, last + 1)]
        used = set(taken)
        if column is not None:
            used |= set(session.scalars(select(column).where(*conditions, column.in_(candidates))))
        free = [c for c in candidates if c not in used]
        wanted = count - len(numbers)
        numbers.extend(free[:wanted])
        if len(free) > wanted:
            # Give back the unused tail so the sequence stays gapless: the counter ends just after the last
            # number handed out (every skipped one was used).
            last_given = candidates.index(free[wanted - 1]) + (last - chunk + 1)
            _advance(session, scheme_id, kind, scope, last_given - last)
        chunk = min(max(chunk * 2, count - len(numbers)), MAX_PROBE) if len(numbers) < count else chunk
    return numbers


def allocate_number(
    session,
    *,
    scheme_id: int,
    kind: str,
    scope: str,
    render: Callable[[int], str],
    unique: Sequence | None = None,
    taken: set[str] | frozenset[str] = frozenset(),
) -> str:
    """One new number: ``allocate_numbers`` with ``count=1``."""
    return allocate_numbers(
        session, scheme_id=scheme_id, kind=kind, scope=scope, render=render, unique=unique, taken=taken
    )[0]
