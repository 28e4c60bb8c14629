"""The audit trail: every change to people, money, rules and decisions, append-only (who, when, before, after).

Services write a row with ``record(...)`` in the same transaction as the change it records. The table is
append-only in the database itself, not only by convention: a trigger refuses every UPDATE and DELETE on
``audit_event`` (PostgreSQL: a PL/pgSQL trigger function; SQLite: ``RAISE(ABORT)`` triggers). The triggers are
attached to the table's ``after_create`` event, so ``db.create_all()`` builds them; the migration that creates
the table runs the same statements (``APPEND_ONLY_SQL``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import DDL, JSON, ForeignKey, Index, String, event, func
from sqlalchemy.orm import Mapped, mapped_column

from mhi.core.db import db


class AuditEvent(db.Model):
    """One change. Rows are only ever inserted (the database refuses updates and deletes)."""

    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_event_entity", "entity", "entity_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(server_default=func.now(), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    scheme_id: Mapped[int | None] = mapped_column(ForeignKey("scheme.id"), index=True)
    entity: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[int | None]
    action: Mapped[str] = mapped_column(String(40))
    before: Mapped[dict | None] = mapped_column(JSON)
    after: Mapped[dict | None] = mapped_column(JSON)


#: The statements that make ``audit_event`` append-only, per database (the migration runs the same ones).
APPEND_ONLY_SQL: dict[str, tuple[str, ...]] = {
    "postgresql": (
        "CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN RAISE EXCEPTION 'audit_event is append-only: rows are never updated or deleted'; END $$",
        "CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON audit_event "
        "FOR EACH ROW EXECUTE FUNCTION audit_event_append_only()",
    ),
    "sqlite": (
        "CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event "
        "BEGIN SELECT RAISE(ABORT, 'audit_event is append-only: rows are never updated'); END",
        "CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_event "
        "BEGIN SELECT RAISE(ABORT, 'audit_event is append-only: rows are never deleted'); END",
    ),
}

#: Undoing them (a migration's downgrade; dropping the table drops its triggers too).
DROP_APPEND_ONLY_SQL: dict[str, tuple[str, ...]] = {
    "postgresql": (
        "DROP TRIGGER IF EXISTS audit_event_append_only ON audit_event",
        "DROP FUNCTION IF EXISTS audit_event_append_only()",
    ),
    "sqlite": (
        "DROP TRIGGER IF EXISTS audit_event_no_update",
        "DROP TRIGGER IF EXISTS audit_event_no_delete",
    ),
}

for _dialect, _statements in APPEND_ONLY_SQL.items():
    for _statement in _statements:
        # DDL formats its text with %: none of these statements has a percent sign.
        event.listen(AuditEvent.__table__, "after_create", DDL(_statement).execute_if(dialect=_dialect))


def record(
    session,
    *,
    actor,
    entity: str,
    entity_id: int | None,
    action: str,
    scheme_id: int | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    """Add an audit row to ``session`` (flushed with the change it records, committed by the caller)."""
    session.add(
        AuditEvent(
            actor_id=getattr(actor, "id", None),
            scheme_id=scheme_id,
            entity=entity,
            entity_id=entity_id,
            action=action,
            before=_jsonable(before),
            after=_jsonable(after),
        )
    )


def _jsonable(values: dict[str, Any] | None) -> dict[str, Any] | None:
    """Dates and Decimals as strings, so the JSON column never sees a float."""
    if values is None:
        return None
    return {k: (v if v is None or isinstance(v, (bool, int, str)) else str(v)) for k, v in values.items()}
