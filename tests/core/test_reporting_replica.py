"""A reporting replica (issue 17, a national deployment): with ``MHI_REPORTING_DATABASE_URL`` set, the SELECTs of
the report and export views go to its engine; the desk's pages, every write, raw SQL and locking reads stay on
the primary. Here the "replica" is the test database itself under a second engine, so the figures are the same
and what is checked is which engine ran which statement."""

from __future__ import annotations

from contextlib import contextmanager

from flask import g
from sqlalchemy import event, select, text

from mhi import create_app
from mhi.core.db import REPORTING_ENGINE, db
from mhi.members.models import Household
from mhi.schemes.models import Federation, Scheme
from tests.factories import login, make_user
from tests.reports import builders


def _replica_app(app):
    return create_app({**app.config, "MHI_REPORTING_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"]})


@contextmanager
def _statements(replica_app):
    """The SQL each engine of ``replica_app`` runs inside the block: {"primary": [...], "replica": [...]}."""
    seen = {"primary": [], "replica": []}
    with replica_app.app_context():
        engines = {"primary": db.engines[None], "replica": replica_app.extensions[REPORTING_ENGINE]}
    listeners = {}
    for name, engine in engines.items():

        def record(conn, cursor, statement, parameters, context, executemany, name=name):
            seen[name].append(statement)

        listeners[name] = record
        event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        for name, engine in engines.items():
            event.remove(engine, "before_cursor_execute", listeners[name])
            engine.dispose()


def test_report_views_read_from_the_replica_and_the_desk_from_the_primary(app, session):
    scheme = builders.build_hand_scheme(session)
    manager = make_user(session, "scheme_manager", scheme=scheme)
    household_id = session.scalar(select(Household.id).where(Household.scheme_id == scheme.id).limit(1))
    replica_app = _replica_app(app)
    client = replica_app.test_client()
    login(client, manager)
    with _statements(replica_app) as seen:
        page = client.get(f"/schemes/{scheme.code}/indicators?kind=year&value=2025")
        assert page.status_code == 200
        for path in ("indicators.pdf?kind=year&value=2025", "indicators/trend", "year-end?year=2025"):
            assert client.get(f"/schemes/{scheme.code}/{path}").status_code == 200, path
    assert any("report_period" in statement for statement in seen["replica"])
    assert any("claim" in statement for statement in seen["replica"])
    # The figures' reads all went to the replica: the primary only checked who was asking.
    assert not [s for s in seen["primary"] if "report_period" in s or "coverage_span" in s or "receipt" in s]

    with _statements(replica_app) as seen:
        assert client.get(f"/schemes/{scheme.code}/households/{household_id}").status_code == 200
    assert seen["primary"] and not seen["replica"]  # the desk reads what was just written


def test_only_plain_reads_go_to_the_replica(app, session):
    replica_app = _replica_app(app)
    with _statements(replica_app) as seen, replica_app.test_request_context():
        g.mhi_reporting_read = True
        session = db.session
        session.execute(select(Scheme.id)).all()
        assert seen["replica"] and not seen["primary"]
        for step in (
            lambda: session.execute(select(Scheme.id).with_for_update()).all(),  # a locking read
            lambda: session.execute(text("SELECT 1")),  # raw SQL
            lambda: (session.add(Federation(code="RPL", name="Union RPL", currency="XOF")), session.flush()),  # a write
        ):
            seen["primary"].clear()
            seen["replica"].clear()
            step()
            assert seen["primary"] and not seen["replica"]
        assert any("INSERT" in statement for statement in seen["primary"])
        session.rollback()
        db.session.remove()
    with _statements(replica_app) as seen, replica_app.test_request_context():
        db.session.execute(select(Scheme.id)).all()  # a view that did not ask for the replica
        db.session.remove()
    assert seen["primary"] and not seen["replica"]


def test_report_memory_is_set_for_the_report_only(app, session):
    """On PostgreSQL a report's transaction gets MHI_REPORT_WORK_MEM (SET LOCAL), on the connection that runs
    the report's queries; a wrong size stops the application at start-up with a message."""
    import pytest

    from mhi.reports import queries

    with pytest.raises(RuntimeError, match="MHI_REPORT_WORK_MEM"):
        create_app({**app.config, "MHI_REPORT_WORK_MEM": "lots"})
    if session.get_bind().dialect.name != "postgresql":
        queries.prepare(session)  # nothing to set on SQLite, and no error
        return
    before = session.scalar(text("SHOW work_mem"))
    queries.prepare(session)
    assert session.scalar(text("SHOW work_mem")) == queries.REPORT_WORK_MEM
    session.rollback()
    assert session.scalar(text("SHOW work_mem")) == before  # the transaction's only
