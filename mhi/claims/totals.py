"""Per-scheme totals of claims, kept current by the database itself (docs/scale.md, issue 17).

Every figure of ``reports.queries.claim_totals`` and ``monthly_claims_incurred`` for a month-aligned window
[F, T] (F the first of a month, T the last day of one) is a sum over these rows, a few thousand for a scheme of
ten million claims:

- ``claim_month_total``: (scheme, benefit code, status, month of service, month submitted, month paid or 0 when
  unpaid) → claims, Σ amount_approved;
- ``claim_delay_total``: (scheme, month paid, days from submission to payment) → claims, over the payable
  claims that are paid (the payment-delay histogram).

A month is ``year * 12 + month - 1`` (January of year 1 is 12; 0 is "not paid", never a real month).

They are kept by triggers on ``claim``, so every write counts whatever path it takes: the ORM, bulk
``update(Claim)``, raw UPDATE statements of batch payments, imports, COPY (docs/decisions.md). On PostgreSQL one
statement-level trigger per event reads the statement's transition tables and applies one grouped upsert,
ordered by key (two writers take the total rows' locks in the same order); on SQLite row-level triggers do the
same per row. The triggers are attached to the metadata's ``after_create`` so ``db.create_all()`` builds them;
the migration runs the same statements (``TRIGGER_SQL``). ``rebuild`` recomputes a scheme's totals from its
claims (``flask report refresh-ledgers``).
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import BigInteger, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from mhi.core.db import Money, db
from mhi.core.triggers import EVENTS, create_with_tables, pg_drop, pg_statement_trigger

PAYABLE_SQL = "('APPROVED','REDUCED')"


class ClaimMonthTotal(db.Model):
    """Claims counted and summed by what a month-aligned report asks of them (derived; see the module)."""

    __tablename__ = "claim_month_total"

    scheme_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    benefit_code: Mapped[str] = mapped_column(String(40), primary_key=True)
    status: Mapped[str] = mapped_column(String(10), primary_key=True)
    service_month: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    submitted_month: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    paid_month: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)  # 0: not paid
    claims: Mapped[int] = mapped_column(BigInteger)
    amount: Mapped[Decimal] = mapped_column(Money())  # Σ amount_approved


class ClaimDelayTotal(db.Model):
    """Payable paid claims counted by month paid and days from submission to payment (derived)."""

    __tablename__ = "claim_delay_total"

    scheme_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    paid_month: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    delay_days: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    claims: Mapped[int] = mapped_column(BigInteger)


def month_number(day) -> int:
    """The month of ``day`` as the tables key it."""
    return day.year * 12 + day.month - 1


MONTH_KEY = "scheme_id, benefit_code, status, service_month, submitted_month, paid_month"
DELAY_KEY = "scheme_id, paid_month, delay_days"


def _month_sql(dialect: str, column: str) -> str:
    if dialect == "sqlite":
        return f"(CAST(substr({column}, 1, 4) AS INTEGER) * 12 + CAST(substr({column}, 6, 2) AS INTEGER) - 1)"
    return f"(CAST(extract(year FROM {column}) AS integer) * 12 + CAST(extract(month FROM {column}) AS integer) - 1)"


def _delay_sql(dialect: str, prefix: str) -> str:
    if dialect == "sqlite":
        return f"CAST(julianday({prefix}paid_on) - julianday({prefix}date_submitted) AS INTEGER)"
    return f"({prefix}paid_on - {prefix}date_submitted)"


def _month_columns(dialect: str, prefix: str) -> str:
    """The key columns of claim_month_total computed from a claim row (``prefix`` names it: ``NEW.``, ``c.``)."""
    p = prefix
    return (
        f"{p}scheme_id, {p}benefit_code, {p}status, {_month_sql(dialect, p + 'date_of_service')}, "
        f"{_month_sql(dialect, p + 'date_submitted')}, "
        f"COALESCE({_month_sql(dialect, p + 'paid_on')}, 0)"
    )


def _delay_columns(dialect: str, prefix: str) -> str:
    return f"{prefix}scheme_id, {_month_sql(dialect, prefix + 'paid_on')}, {_delay_sql(dialect, prefix)}"


def _delay_where(prefix: str) -> str:
    return f"{prefix}status IN {PAYABLE_SQL} AND {prefix}paid_on IS NOT NULL"


_UPSERT_MONTH = (
    f" ON CONFLICT ({MONTH_KEY}) DO UPDATE SET claims = claim_month_total.claims + excluded.claims, "
    "amount = claim_month_total.amount + excluded.amount"
)
_UPSERT_DELAY = f" ON CONFLICT ({DELAY_KEY}) DO UPDATE SET claims = claim_delay_total.claims + excluded.claims"


def _sqlite_row_statements(prefix: str, sign: str) -> str:
    """The two upserts of one claim row (``NEW.`` counted +1 or ``OLD.`` counted −1), inside a SQLite trigger."""
    return (
        f"INSERT INTO claim_month_total ({MONTH_KEY}, claims, amount) "
        f"SELECT {_month_columns('sqlite', prefix)}, {sign}1, {sign}{prefix}amount_approved WHERE true"
        f"{_UPSERT_MONTH}; "
        f"INSERT INTO claim_delay_total ({DELAY_KEY}, claims) "
        f"SELECT {_delay_columns('sqlite', prefix)}, {sign}1 WHERE {_delay_where(prefix)}{_UPSERT_DELAY}; "
    )


def _pg_grouped(sources: list[tuple[str, str]]) -> str:
    """The PL/pgSQL body: one grouped, key-ordered upsert per table over the transition tables ``sources``
    (name, sign); groups whose changes cancel out (an update of columns the totals ignore) are left alone."""
    month_rows = " UNION ALL ".join(
        f"SELECT {_month_columns('postgresql', 'c.')}, {sign}1 AS n, {sign}c.amount_approved AS a FROM {name} c"
        for name, sign in sources
    )
    delay_rows = " UNION ALL ".join(
        f"SELECT {_delay_columns('postgresql', 'c.')}, {sign}1 AS n FROM {name} c WHERE {_delay_where('c.')}"
        for name, sign in sources
    )
    return (
        f"INSERT INTO claim_month_total ({MONTH_KEY}, claims, amount) "
        f"SELECT k1, k2, k3, k4, k5, k6, sum(n), sum(a) FROM ({month_rows}) AS r(k1, k2, k3, k4, k5, k6, n, a) "
        "GROUP BY k1, k2, k3, k4, k5, k6 HAVING sum(n) <> 0 OR sum(a) <> 0 ORDER BY k1, k2, k3, k4, k5, k6"
        f"{_UPSERT_MONTH}; "
        f"INSERT INTO claim_delay_total ({DELAY_KEY}, claims) "
        f"SELECT k1, k2, k3, sum(n) FROM ({delay_rows}) AS r(k1, k2, k3, n) "
        f"GROUP BY k1, k2, k3 HAVING sum(n) <> 0 ORDER BY k1, k2, k3{_UPSERT_DELAY}; "
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
        for statement in pg_statement_trigger(f"claim_totals_{event_name}", "claim", event_name, _pg_grouped(sources))
    ),
    "sqlite": (
        f"CREATE TRIGGER claim_totals_insert AFTER INSERT ON claim BEGIN {_sqlite_row_statements('NEW.', '')}END",
        "CREATE TRIGGER claim_totals_update AFTER UPDATE OF scheme_id, benefit_code, status, amount_approved, "
        "date_of_service, date_submitted, paid_on ON claim BEGIN "
        f"{_sqlite_row_statements('OLD.', '-')}{_sqlite_row_statements('NEW.', '')}END",
        f"CREATE TRIGGER claim_totals_delete AFTER DELETE ON claim BEGIN {_sqlite_row_statements('OLD.', '-')}END",
    ),
}

DROP_TRIGGER_SQL: dict[str, tuple[str, ...]] = {
    "postgresql": tuple(statement for name in EVENTS for statement in pg_drop(f"claim_totals_{name}", "claim")),
    "sqlite": tuple(f"DROP TRIGGER IF EXISTS claim_totals_{name}" for name in EVENTS),
}

create_with_tables(TRIGGER_SQL, DROP_TRIGGER_SQL)


def rebuild_sql(dialect: str, scheme_filter: str = "") -> tuple[str, ...]:
    """Fill the totals from the claims (all, or those matching ``scheme_filter``, e.g. ``scheme_id = :scheme``):
    the repair path and the migration's backfill. The caller deletes the old rows first."""
    where = f" WHERE {scheme_filter}" if scheme_filter else ""
    and_where = f" AND {scheme_filter}" if scheme_filter else ""
    return (
        f"INSERT INTO claim_month_total ({MONTH_KEY}, claims, amount) "
        f"SELECT {_month_columns(dialect, '')}, count(*), sum(amount_approved) FROM claim{where} "
        "GROUP BY 1, 2, 3, 4, 5, 6",
        f"INSERT INTO claim_delay_total ({DELAY_KEY}, claims) "
        f"SELECT {_delay_columns(dialect, '')}, count(*) FROM claim WHERE {_delay_where('')}{and_where} "
        "GROUP BY 1, 2, 3",
    )


def rebuild(session, scheme_id: int) -> int:
    """Recompute one scheme's claim totals from its claims, set-based; returns the rows written. On PostgreSQL
    the claims are locked against writers (SHARE) until the caller commits, so no write falls between the
    delete and the re-count."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        session.execute(text("LOCK TABLE claim IN SHARE MODE"))
    params = {"scheme": scheme_id}
    session.execute(text("DELETE FROM claim_month_total WHERE scheme_id = :scheme"), params)
    session.execute(text("DELETE FROM claim_delay_total WHERE scheme_id = :scheme"), params)
    written = 0
    for statement in rebuild_sql(dialect, "scheme_id = :scheme"):
        written += session.execute(text(statement), params).rowcount or 0
    return written
