"""Per-scheme changes of coverage by day, kept current by the database itself (docs/scale.md, issue 17).

``coverage_change_total``: (scheme, day) → Δ households, Δ persons covered from that day on. A coverage span
[start, end) (contributions.md §4, end NULL = open) counts +1 household on its start and −1 on its end. A person
of the span's household is covered on the intersection [max(start, enrolment), min(end, exit)) when it is not
empty: +1 person on its first day, −1 on the day after its last (none when open). So, for any window [F, T]
(any days, not only month-aligned ones):

- covered on D = Σ Δ over the rows with day ≤ D;
- covered person-days over [F, T] = Σ over the rows with day ≤ T of Δ persons × (T + 1 − max(day, F)): a pair
  starting at s and ending at e contributes (T + 1 − max(s, F)) − (T + 1 − max(e, F)) = |[s, e) ∩ [F, T + 1)|
  when e ≤ T + 1, and T + 1 − max(s, F) when it is open or ends after T: the scan's overlap, exactly.

These are the figures of ``reports.queries.membership`` (but retention, a pairwise figure) and
``beneficiaries_covered_on``, counted as the scan counts them: one per (span, person of the household) pair,
the scheme being the span's.

They are kept by triggers on ``coverage_span`` and on ``person``, so every write counts whatever path it takes
(docs/decisions.md "Report totals kept by the writes"). A changed span counts against the household's current
persons, a changed person against the household's current spans: exact as long as one statement changes one of
the two tables, which every write does (the refresh deletes and inserts spans, the register writes persons). On
PostgreSQL one statement-level trigger per event and table reads the statement's transition tables and applies
one grouped, key-ordered upsert; the other table is read by its household_id index (a LATERAL … OFFSET 0
subquery: a probe per changed row, whatever the size of the statement), and an UPDATE's old and new rows cancel
out by grouping when the columns the totals read are unchanged. Concurrent writers: spans are written by
``refresh_households`` under its household locks (FOR NO KEY UPDATE); the person triggers take the same locks on
the changed persons' households before they read the spans, so a person written while a refresh rewrites the
household is counted against the spans the refresh commits. On SQLite (one writer) row-level triggers do the
same per row, skipped for persons of households without spans (a register being imported). The triggers are
attached to the metadata's ``after_create`` so ``db.create_all()`` builds them; the migration runs the same
statements (``TRIGGER_SQL``). ``rebuild`` recomputes a scheme's rows from its spans and persons
(``flask report refresh-ledgers``).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Date, Integer, case, func, select, text
from sqlalchemy.orm import Mapped, mapped_column

from mhi.core.db import SCHEME_TOTALS_LOCK, db
from mhi.core.triggers import EVENTS, create_with_tables, pg_drop, pg_statement_trigger


class CoverageChangeTotal(db.Model):
    """Households and persons whose coverage starts (+) or stops (−) on a day, per scheme (derived; see the
    module)."""

    __tablename__ = "coverage_change_total"

    scheme_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    households: Mapped[int] = mapped_column(BigInteger)
    persons: Mapped[int] = mapped_column(BigInteger)


KEY = "scheme_id, day"
_UPSERT = (
    f" ON CONFLICT ({KEY}) DO UPDATE SET households = coverage_change_total.households + excluded.households, "
    "persons = coverage_change_total.persons + excluded.persons"
)
#: A row per edge of a range: +1 on its first day, −1 on its end.
_EDGES = "(SELECT 1 AS edge UNION ALL SELECT -1) AS e"

SPAN_COLUMNS = ("scheme_id", "household_id", "start", "end")
PERSON_COLUMNS = ("household_id", "enrolment_date", "exit_date")


def _later(a: str, b: str) -> str:
    """The later of two dates, neither NULL (written with CASE: SQLite's max() and PostgreSQL's greatest()
    differ)."""
    return f"CASE WHEN {a} > {b} THEN {a} ELSE {b} END"


def _earlier_end(a: str, b: str) -> str:
    """The earlier of two ends, NULL meaning open (PostgreSQL's least() skips NULLs, SQLite's min() returns
    NULL)."""
    return f"CASE WHEN {a} IS NULL THEN {b} WHEN {b} IS NULL THEN {a} WHEN {a} < {b} THEN {a} ELSE {b} END"


def _household_rows(spans: str, sign: str) -> str:
    """(scheme, day, Δ households, Δ persons) of the spans ``spans`` (a FROM item aliased s), each counted
    ``sign`` times (1, -1, or a column of the source)."""
    return (
        f'SELECT s.scheme_id AS k1, CASE WHEN e.edge = 1 THEN s.start ELSE s."end" END AS k2, {sign} * e.edge AS h, '
        f"0 AS n FROM {spans} CROSS JOIN {_EDGES} "
        f'WHERE s."end" IS NULL AND e.edge = 1 OR s."end" > s.start'
    )


def _person_rows(pairs: str, sign: str) -> str:
    """(scheme, day, Δ households, Δ persons) of the (span, person) pairs ``pairs``: a FROM list giving the
    span's columns as s and the person's as p; each pair counted ``sign`` times."""
    lo = _later("s.start", "p.enrolment_date")
    hi = _earlier_end('s."end"', "p.exit_date")
    return (
        "SELECT r.scheme_id AS k1, CASE WHEN e.edge = 1 THEN r.lo ELSE r.hi END AS k2, 0 AS h, r.sign * e.edge AS n "
        f"FROM (SELECT s.scheme_id AS scheme_id, {lo} AS lo, {hi} AS hi, {sign} AS sign FROM {pairs}) AS r "
        f"CROSS JOIN {_EDGES} WHERE r.hi IS NULL AND e.edge = 1 OR r.hi > r.lo"
    )


def _grouped(rows: list[str], *, upsert: bool) -> str:
    """One insert of the rows' sums by (scheme, day), key-ordered; groups that cancel out are left alone."""
    union = " UNION ALL ".join(rows)
    return (
        f"INSERT INTO coverage_change_total ({KEY}, households, persons) "
        f"SELECT k1, k2, sum(h), sum(n) FROM ({union}) AS c WHERE true "
        "GROUP BY k1, k2 HAVING sum(h) <> 0 OR sum(n) <> 0 ORDER BY k1, k2" + (_UPSERT if upsert else "")
    )


def _quoted(columns: tuple[str, ...]) -> str:
    return ", ".join(f'"{c}"' for c in columns)


def _pg_source(event_name: str, columns: tuple[str, ...]) -> str:
    """The changed rows of a statement as a FROM item: ``columns`` and ``sign`` (+1 new, −1 old). For an UPDATE,
    old and new rows that are equal on ``columns`` (and the id) cancel out in one grouping: an update of columns
    the totals ignore (a name, a photo) counts nothing, whatever its size, without a join of the two transition
    tables (the planner takes them for one row each)."""
    cols = _quoted(columns)
    if event_name == "insert":
        return f"(SELECT {cols}, 1 AS sign FROM new_rows)"
    if event_name == "delete":
        return f"(SELECT {cols}, -1 AS sign FROM old_rows)"
    return (
        f"(SELECT {cols}, sum(sign) AS sign FROM (SELECT id, {cols}, -1 AS sign FROM old_rows UNION ALL "
        f"SELECT id, {cols}, 1 FROM new_rows) AS u GROUP BY id, {cols} HAVING sum(sign) <> 0)"
    )


def _pg_span_rows(source: str) -> list[str]:
    """The changed spans against the current persons of their households (read by person's household_id index;
    the LATERAL … OFFSET 0 keeps it a probe per span)."""
    pairs = (
        f"{source} AS s CROSS JOIN LATERAL (SELECT p.enrolment_date, p.exit_date FROM person p "
        "WHERE p.household_id = s.household_id OFFSET 0) AS p"
    )
    return [_household_rows(f"{source} AS s", "s.sign"), _person_rows(pairs, "s.sign")]


def _pg_person_rows(source: str) -> list[str]:
    """The changed persons against the current spans of their households (coverage_span's household_id index)."""
    pairs = (
        f'{source} AS p CROSS JOIN LATERAL (SELECT s.scheme_id, s.start, s."end" FROM coverage_span s '
        "WHERE s.household_id = p.household_id OFFSET 0) AS s"
    )
    return [_person_rows(pairs, "p.sign")]


def _pg_lock_households(source: str) -> str:
    """Lock the changed persons' households as ``contributions.services.lock_households`` does (FOR NO KEY
    UPDATE, in id order) before reading their spans: a refresh that rewrites those spans at the same time holds
    the same locks, so one of the two waits for the other to commit, and the upsert that follows (a new snapshot,
    read committed) counts against the spans the refresh left. Without it, a person added while a receipt's
    refresh rewrites the household's spans would be counted against the old spans and never against the new."""
    return (
        f"PERFORM 1 FROM household h WHERE h.id IN (SELECT c.household_id FROM {source} AS c) "
        "ORDER BY h.id FOR NO KEY UPDATE; "
    )


_TABLES = {
    # table: (trigger name prefix, columns the totals read, rows of a source)
    "coverage_span": ("coverage_totals_span", SPAN_COLUMNS, _pg_span_rows),
    "person": ("coverage_totals_person", PERSON_COLUMNS, _pg_person_rows),
}


def _pg_lock_schemes(event_name: str) -> str:
    """Take the totals lock of the changed persons' schemes (core/db.py ``lock_scheme_totals``), in scheme order,
    before their households: the order every writer of a scheme's totals follows (a register edit writes its
    persons, and so these totals, before its refresh takes the lock)."""
    tables = {"insert": ("new_rows",), "update": ("old_rows", "new_rows"), "delete": ("old_rows",)}[event_name]
    schemes = " UNION ".join(f"SELECT scheme_id FROM {name}" for name in tables)
    return f"PERFORM pg_advisory_xact_lock({SCHEME_TOTALS_LOCK}, x.scheme_id) FROM ({schemes} ORDER BY 1) AS x; "


def _pg_body(table: str, event_name: str) -> str:
    _, columns, rows_of = _TABLES[table]
    source = _pg_source(event_name, columns)
    lock = _pg_lock_schemes(event_name) + _pg_lock_households(source) if table == "person" else ""
    return f"{lock}{_grouped(rows_of(source), upsert=True)}; "


def _sqlite_span(prefix: str, sign: str) -> str:
    """The upsert of one span row (``NEW.`` counted +1 or ``OLD.`` counted −1), inside a SQLite trigger."""
    p = prefix
    span = f'(SELECT {p}scheme_id AS scheme_id, {p}household_id AS household_id, {p}start AS start, {p}"end" AS "end")'
    pairs = f"{span} AS s JOIN person p ON p.household_id = s.household_id"
    return _grouped([_household_rows(f"{span} AS s", sign), _person_rows(pairs, sign)], upsert=True) + "; "


def _sqlite_person(prefix: str, sign: str) -> str:
    """The upsert of one person row, inside a SQLite trigger."""
    p = prefix
    person = f"(SELECT {p}enrolment_date AS enrolment_date, {p}exit_date AS exit_date)"
    pairs = f"coverage_span s CROSS JOIN {person} AS p WHERE s.household_id = {p}household_id"
    return _grouped([_person_rows(pairs, sign)], upsert=True) + "; "


def _sqlite_when(columns: tuple[str, ...]) -> str:
    return " OR ".join(f'OLD."{c}" IS NOT NEW."{c}"' for c in columns)


def _has_spans(prefix: str) -> str:
    """The person's household has a span: else a person's write changes nothing (a register being imported),
    and the check is a fraction of the grouped upsert's cost."""
    return f"EXISTS (SELECT 1 FROM coverage_span WHERE household_id = {prefix}household_id)"


#: The statements that keep the totals current, per database (the migration runs the same ones).
TRIGGER_SQL: dict[str, tuple[str, ...]] = {
    "postgresql": tuple(
        statement
        for table, (name, _, _) in _TABLES.items()
        for event_name in EVENTS
        for statement in pg_statement_trigger(f"{name}_{event_name}", table, event_name, _pg_body(table, event_name))
    ),
    "sqlite": (
        f"CREATE TRIGGER coverage_totals_span_insert AFTER INSERT ON coverage_span BEGIN {_sqlite_span('NEW.', '1')}END",
        'CREATE TRIGGER coverage_totals_span_update AFTER UPDATE OF scheme_id, household_id, start, "end" '
        f"ON coverage_span WHEN {_sqlite_when(SPAN_COLUMNS)} BEGIN "
        f"{_sqlite_span('OLD.', '-1')}{_sqlite_span('NEW.', '1')}END",
        f"CREATE TRIGGER coverage_totals_span_delete AFTER DELETE ON coverage_span BEGIN {_sqlite_span('OLD.', '-1')}END",
        f"CREATE TRIGGER coverage_totals_person_insert AFTER INSERT ON person WHEN {_has_spans('NEW.')} "
        f"BEGIN {_sqlite_person('NEW.', '1')}END",
        "CREATE TRIGGER coverage_totals_person_update AFTER UPDATE OF household_id, enrolment_date, exit_date "
        f"ON person WHEN ({_sqlite_when(PERSON_COLUMNS)}) AND ({_has_spans('OLD.')} OR {_has_spans('NEW.')}) "
        "BEGIN "
        f"{_sqlite_person('OLD.', '-1')}{_sqlite_person('NEW.', '1')}END",
        f"CREATE TRIGGER coverage_totals_person_delete AFTER DELETE ON person WHEN {_has_spans('OLD.')} "
        f"BEGIN {_sqlite_person('OLD.', '-1')}END",
    ),
}

DROP_TRIGGER_SQL: dict[str, tuple[str, ...]] = {
    "postgresql": tuple(
        statement
        for table, (name, _, _) in _TABLES.items()
        for event_name in EVENTS
        for statement in pg_drop(f"{name}_{event_name}", table)
    ),
    "sqlite": tuple(
        f"DROP TRIGGER IF EXISTS {name}_{event_name}" for name, _, _ in _TABLES.values() for event_name in EVENTS
    ),
}

create_with_tables(TRIGGER_SQL, DROP_TRIGGER_SQL)


def rebuild_sql(dialect: str, scheme_filter: str = "") -> tuple[str, ...]:
    """Fill the totals from the spans and persons (all, or the spans matching ``scheme_filter``, e.g.
    ``s.scheme_id = :scheme``): the repair path and the migration's backfill. The caller deletes the old rows
    first. The same statement on both databases (``dialect`` kept for the shape of ``claims.totals``)."""
    where = f" WHERE {scheme_filter}" if scheme_filter else ""
    spans = f"(SELECT * FROM coverage_span s{where}) AS s"
    pairs = f"{spans} JOIN person p ON p.household_id = s.household_id"
    return (_grouped([_household_rows(spans, "1"), _person_rows(pairs, "1")], upsert=False),)


def rebuild(session, scheme_id: int) -> int:
    """Recompute one scheme's coverage changes from its spans and persons, set-based; returns the rows written.
    On PostgreSQL the spans and persons are locked against writers (SHARE) until the caller commits, so no write
    falls between the delete and the re-count."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        session.execute(text("LOCK TABLE coverage_span, person IN SHARE MODE"))
    params = {"scheme": scheme_id}
    session.execute(text("DELETE FROM coverage_change_total WHERE scheme_id = :scheme"), params)
    written = 0
    for statement in rebuild_sql(dialect, "s.scheme_id = :scheme"):
        written += session.execute(text(statement), params).rowcount or 0
    return written


def covered_on(session, scheme_ids: list[int], days: list[dt.date]) -> dict[int, list[tuple[int, int]]]:
    """(households, persons) covered on each of ``days``, for each of ``scheme_ids``: the sums of the stored
    changes on days up to each, in one query over a few hundred rows a scheme. The one reading of "covered on D"
    from the totals (reports' membership and trend, the dashboard); a scheme without rows is covered by nobody."""
    t = CoverageChangeTotal
    if not scheme_ids or not days:
        return {scheme_id: [(0, 0)] * len(days) for scheme_id in scheme_ids}
    columns = [
        func.coalesce(func.sum(case((t.day <= day, column), else_=0)), 0)
        for day in days
        for column in (t.households, t.persons)
    ]
    rows = session.execute(
        select(t.scheme_id, *columns).where(t.scheme_id.in_(scheme_ids), t.day <= max(days)).group_by(t.scheme_id)
    ).all()
    result = {scheme_id: [(0, 0)] * len(days) for scheme_id in scheme_ids}
    for scheme_id, *sums in rows:
        result[scheme_id] = [(int(sums[2 * i]), int(sums[2 * i + 1])) for i in range(len(days))]
    return result
