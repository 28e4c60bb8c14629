"""Per-scheme totals of the stored periods (``report_period``), kept current by the database itself (issue 17).

The earned sums of a report (reports/ledgers.py ``_earned_sums``, contributions.md §6) ask of a period only its
start, its end, whether it is paid by T and its gross and member dues. For a month-aligned window [F, T] (F the
first of a month, T the last day of one) "paid by T" is "paid in a month up to T's", so every condition and every
overlap of the sums is a function of (start, end, month paid): the sums over the periods equal the same sums over

- ``report_period_total``: (scheme, start, end, month paid or 0 when unpaid) → periods, Σ gross, Σ member_due,

a few thousand rows for a scheme of millions of periods (periods of one length starting on one day, paid in one
month, are one row). A month is ``year * 12 + month - 1`` (contributions/stored.py ``month_number``; 0 is "not
paid", never a real month). ``days`` (end − start) is carried along: the sums group by it.

Kept as the claim totals are (mhi/claims/totals.py, docs/decisions.md "Report totals kept by the writes"):
triggers on ``report_period`` — ``store_ledgers`` deletes a batch's periods and inserts (COPY on PostgreSQL) the
new ones, and any other write is seen too. On PostgreSQL one statement-level trigger per event reads the
statement's transition tables and applies one grouped upsert ordered by key; on SQLite row-level triggers do the
same per row. Attached to the metadata's ``after_create`` (dropped first, so ``create_all`` may run twice); the
migration runs the same statements. ``rebuild`` recounts a scheme's totals from its periods
(``flask report refresh-ledgers``).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import BigInteger, Integer, text
from sqlalchemy.orm import Mapped, mapped_column

from mhi.core.db import Money, db
from mhi.core.triggers import EVENTS, create_with_tables, pg_drop, pg_statement_trigger


class ReportPeriodTotal(db.Model):
    """Stored periods counted and summed by what a month-aligned report's earned sums ask (derived; see the
    module)."""

    __tablename__ = "report_period_total"

    scheme_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    start: Mapped[dt.date] = mapped_column(primary_key=True)
    end: Mapped[dt.date] = mapped_column(primary_key=True)
    paid_month: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)  # 0: not paid
    days: Mapped[int] = mapped_column(Integer)  # end − start
    periods: Mapped[int] = mapped_column(BigInteger)
    gross: Mapped[Decimal] = mapped_column(Money())  # Σ g_k
    member_due: Mapped[Decimal] = mapped_column(Money())  # Σ d_k


KEY = 'scheme_id, start, "end", paid_month'
COLUMNS = f"{KEY}, days, periods, gross, member_due"


def _month_sql(dialect: str, column: str) -> str:
    """The month number of a date column (NULL stays NULL)."""
    if dialect == "sqlite":
        return f"(CAST(substr({column}, 1, 4) AS INTEGER) * 12 + CAST(substr({column}, 6, 2) AS INTEGER) - 1)"
    return f"(CAST(extract(year FROM {column}) AS integer) * 12 + CAST(extract(month FROM {column}) AS integer) - 1)"


def _key_columns(dialect: str, prefix: str) -> str:
    """The key columns and ``days`` of a period row (``prefix`` names it: ``NEW.``, ``p.``, or nothing)."""
    p = prefix
    return f'{p}scheme_id, {p}start, {p}"end", COALESCE({_month_sql(dialect, p + "paid_on")}, 0), {p}days'


_UPSERT = (
    f" ON CONFLICT ({KEY}) DO UPDATE SET periods = report_period_total.periods + excluded.periods, "
    "gross = report_period_total.gross + excluded.gross, "
    "member_due = report_period_total.member_due + excluded.member_due"
)


def _sqlite_row_statement(prefix: str, sign: str) -> str:
    """The upsert of one period row (``NEW.`` counted +1 or ``OLD.`` counted −1), inside a SQLite trigger."""
    return (
        f"INSERT INTO report_period_total ({COLUMNS}) "
        f"SELECT {_key_columns('sqlite', prefix)}, {sign}1, {sign}{prefix}gross, {sign}{prefix}member_due "
        f"WHERE true{_UPSERT}; "
    )


def _pg_grouped(sources: list[tuple[str, str]]) -> str:
    """The PL/pgSQL body: one grouped, key-ordered upsert over the transition tables ``sources`` (name, sign);
    groups whose changes cancel out are left alone."""
    rows = " UNION ALL ".join(
        f"SELECT {_key_columns('postgresql', 'p.')}, {sign}1 AS n, {sign}p.gross AS g, {sign}p.member_due AS d "
        f"FROM {name} p"
        for name, sign in sources
    )
    return (
        f"INSERT INTO report_period_total ({COLUMNS}) "
        f"SELECT k1, k2, k3, k4, max(k5), sum(n), sum(g), sum(d) FROM ({rows}) AS r(k1, k2, k3, k4, k5, n, g, d) "
        "GROUP BY k1, k2, k3, k4 HAVING sum(n) <> 0 OR sum(g) <> 0 OR sum(d) <> 0 ORDER BY k1, k2, k3, k4"
        f"{_UPSERT}; "
    )


#: Each event's transition tables, with the sign its rows are counted with.
_SOURCES = {
    "insert": [("new_rows", "")],
    "update": [("old_rows", "-"), ("new_rows", "")],
    "delete": [("old_rows", "-")],
}

#: The statements that keep the totals current, per database (the migration runs the same ones).
TRIGGER_SQL: dict[str, tuple[str, ...]] = {
    "postgresql": tuple(
        statement
        for event_name, sources in _SOURCES.items()
        for statement in pg_statement_trigger(
            f"report_period_totals_{event_name}", "report_period", event_name, _pg_grouped(sources)
        )
    ),
    "sqlite": (
        "CREATE TRIGGER report_period_totals_insert AFTER INSERT ON report_period BEGIN "
        f"{_sqlite_row_statement('NEW.', '')}END",
        'CREATE TRIGGER report_period_totals_update AFTER UPDATE OF scheme_id, start, "end", days, gross, '
        "member_due, paid_on ON report_period BEGIN "
        f"{_sqlite_row_statement('OLD.', '-')}{_sqlite_row_statement('NEW.', '')}END",
        "CREATE TRIGGER report_period_totals_delete AFTER DELETE ON report_period BEGIN "
        f"{_sqlite_row_statement('OLD.', '-')}END",
    ),
}

DROP_TRIGGER_SQL: dict[str, tuple[str, ...]] = {
    "postgresql": tuple(
        statement for name in EVENTS for statement in pg_drop(f"report_period_totals_{name}", "report_period")
    ),
    "sqlite": tuple(f"DROP TRIGGER IF EXISTS report_period_totals_{name}" for name in EVENTS),
}

create_with_tables(TRIGGER_SQL, DROP_TRIGGER_SQL)


def rebuild_sql(dialect: str, scheme_filter: str = "") -> str:
    """Fill the totals from the periods (all, or those matching ``scheme_filter``, e.g. ``scheme_id = :scheme``):
    the repair path and the migration's backfill. The caller deletes the old rows first."""
    where = f" WHERE {scheme_filter}" if scheme_filter else ""
    return (
        f"INSERT INTO report_period_total ({COLUMNS}) "
        f"SELECT {_key_columns(dialect, '')}, count(*), sum(gross), sum(member_due) FROM report_period{where} "
        "GROUP BY 1, 2, 3, 4, 5"
    )


def rebuild(session, scheme_id: int) -> int:
    """Recompute one scheme's period totals from its periods, set-based; returns the rows written. On PostgreSQL
    the periods are locked against writers (SHARE) until the caller commits, so no write falls between the
    delete and the re-count."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        session.execute(text("LOCK TABLE report_period IN SHARE MODE"))
    params = {"scheme": scheme_id}
    session.execute(text("DELETE FROM report_period_total WHERE scheme_id = :scheme"), params)
    return session.execute(text(rebuild_sql(dialect, "scheme_id = :scheme")), params).rowcount or 0
