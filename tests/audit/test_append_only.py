"""The audit trail is append-only in the database itself (mhi/core/audit.py): an UPDATE or DELETE on
audit_event is refused by a trigger, on SQLite and on PostgreSQL, whatever path the statement takes."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import DatabaseError

from mhi.core.audit import APPEND_ONLY_SQL, AuditEvent, record
from mhi.core.db import db


@pytest.fixture
def event(session):
    """One committed audit row."""
    record(session, actor=None, entity="household", entity_id=7, action="enrol", after={"ref": "H-1"})
    session.commit()
    return session.scalar(select(AuditEvent))


def refused(session, statement) -> bool:
    """True when the database refuses ``statement`` as append-only (and the transaction is rolled back)."""
    try:
        session.execute(statement)
        session.flush()
    except DatabaseError as exc:
        session.rollback()
        assert "append-only" in str(exc)
        return True
    session.rollback()
    return False


def test_rows_are_inserted(session, event):
    assert event.entity == "household" and event.after == {"ref": "H-1"} and event.at is not None


def test_update_is_refused_by_sql(session, event):
    assert refused(session, text("UPDATE audit_event SET action = 'forged'"))
    assert session.scalar(select(AuditEvent.action)) == "enrol"


def test_update_is_refused_through_the_orm(session, event):
    assert refused(session, update(AuditEvent).where(AuditEvent.id == event.id).values(after={"ref": "H-2"}))

    event.action = "forged"
    with pytest.raises(DatabaseError, match="append-only"):
        session.commit()
    session.rollback()
    assert session.scalar(select(AuditEvent.action)) == "enrol"


def test_delete_is_refused(session, event):
    assert refused(session, text("DELETE FROM audit_event"))
    assert refused(session, delete(AuditEvent).where(AuditEvent.id == event.id))

    session.delete(event)
    with pytest.raises(DatabaseError, match="append-only"):
        session.commit()
    session.rollback()
    assert session.scalar(select(AuditEvent.id)) == event.id


def test_an_unfiltered_delete_is_refused_outside_the_test_suites_cleanup(app, session, event):
    # The suite's own emptying (a bare DELETE of a TESTING app on SQLite) is the only exception.
    app.testing = False
    try:
        assert refused(session, delete(AuditEvent))
    finally:
        app.testing = True
    assert session.scalar(select(AuditEvent.id)) == event.id


def test_the_guard_is_built_with_the_table(session):
    dialect = db.engine.dialect.name
    if dialect == "sqlite":
        names = set(session.scalars(text("SELECT name FROM sqlite_master WHERE type = 'trigger'")))
        assert {"audit_event_no_update", "audit_event_no_delete"} <= names
    else:
        names = set(session.scalars(text("SELECT tgname FROM pg_trigger WHERE tgrelid = 'audit_event'::regclass")))
        assert "audit_event_append_only" in names
    assert dialect in APPEND_ONLY_SQL
