"""The shape shared by the derived totals kept by triggers (claims/totals.py, contributions/period_totals.py,
contributions/coverage_totals.py; docs/decisions.md "Report totals kept by the writes").

Each of those modules writes its own SQL: what it sums and how. What they share is here: on PostgreSQL one
statement-level AFTER trigger per event, reading the statement's transition tables (``new_rows``, ``old_rows``)
in a PL/pgSQL function of the trigger's name; the statements that drop them; and their attachment to the
metadata's ``after_create``, dropped first so that a second ``create_all`` neither fails nor doubles them. The
migrations keep frozen copies of the statements, compared with these by the tests.
"""

from __future__ import annotations

from sqlalchemy import DDL, event

from mhi.core.db import db

#: The transition tables of a PostgreSQL statement-level trigger, by event.
TRANSITION_TABLES = {
    "insert": "REFERENCING NEW TABLE AS new_rows",
    "update": "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows",
    "delete": "REFERENCING OLD TABLE AS old_rows",
}
EVENTS = tuple(TRANSITION_TABLES)


def pg_statement_trigger(name: str, table: str, event_name: str, body: str) -> tuple[str, str]:
    """The function ``name()`` running ``body`` (PL/pgSQL statements, each ending in "; ") and the trigger
    ``name`` calling it once per ``event_name`` statement on ``table``, with that event's transition tables."""
    return (
        f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN {body}RETURN NULL; END $$",
        f"CREATE TRIGGER {name} AFTER {event_name.upper()} ON {table} {TRANSITION_TABLES[event_name]} "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {name}()",
    )


def pg_drop(name: str, table: str) -> tuple[str, str]:
    """The statements dropping what ``pg_statement_trigger`` made, if there."""
    return (f"DROP TRIGGER IF EXISTS {name} ON {table}", f"DROP FUNCTION IF EXISTS {name}()")


def create_with_tables(trigger_sql: dict[str, tuple[str, ...]], drop_sql: dict[str, tuple[str, ...]]) -> None:
    """Have ``db.create_all()`` build the triggers of each dialect after every table (they read one table and
    write another), dropping them first: the metadata's ``after_create`` fires on every call, tables new or not.
    No percent sign may appear in the statements (DDL formats them)."""
    for dialect, statements in trigger_sql.items():
        for statement in (*drop_sql[dialect], *statements):
            event.listen(db.metadata, "after_create", DDL(statement).execute_if(dialect=dialect))
