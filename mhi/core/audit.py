"""The audit trail: every change to people, money, rules and decisions, append-only (who, when, before, after)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, func
from sqlalchemy.orm import Mapped, mapped_column

from mhi.core.db import db


class AuditEvent(db.Model):
    """One change. Rows are only ever inserted."""

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
