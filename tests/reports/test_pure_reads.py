"""Reads never write (issue 17): every report page is a pure read, whether the stored ledgers are current (kept
by the writes) or missing (the report then reads the engine); and on PostgreSQL, reports running while clerks
record receipts neither fail nor leave a stored ledger behind its receipts."""

from __future__ import annotations

import threading
from contextlib import contextmanager
from datetime import date

import pytest
from sqlalchemy import delete, event, select

from mhi.contributions.models import ReportHousehold, ReportPeriod
from mhi.contributions.services import record_receipt
from mhi.core.db import db
from mhi.members.models import Household
from mhi.reports import indicators as ind
from mhi.reports import ledgers
from mhi.schemes.models import Scheme
from tests.factories import login, make_user, records
from tests.reports import builders
from tests.reports.test_ledgers import assert_same
from tests.trust.helpers import postgresql_only

QUERY = "kind=range&from=2025-01-01&to=2025-06-30"
SCHEME_PAGES = (
    f"/schemes/MUT-A/indicators?{QUERY}",
    f"/schemes/MUT-A/indicators.json?{QUERY}",
    f"/schemes/MUT-A/indicators.pdf?{QUERY}",
    f"/schemes/MUT-A/indicators/indicators.csv?{QUERY}",
    f"/schemes/MUT-A/indicators/benefits.csv?{QUERY}",
    f"/schemes/MUT-A/indicators/trend.csv?{QUERY}",
    f"/schemes/MUT-A/accounts?{QUERY}",
    f"/feasibility/schemes/MUT-A/experience?{QUERY}",
)
FEDERATION_PAGES = (
    f"/federations/UMT/report?{QUERY}",
    f"/federations/UMT/report.json?{QUERY}",
    f"/federations/UMT/report.pdf?{QUERY}",
    f"/federations/UMT/report/indicators.csv?{QUERY}",
    f"/federations/UMT/pool/statement?{QUERY}",
)
WRITES = ("INSERT", "UPDATE", "DELETE", "CREATE", "DROP", "ALTER", "TRUNCATE", "COPY")


@contextmanager
def no_writes(app):
    """Fails the test on any statement that writes, sent to the database inside the block."""
    written: list[str] = []

    def check(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().split(None, 1)[0].upper() in WRITES:
            written.append(statement.split("\n", 1)[0])

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", check)
    try:
        yield
    finally:
        event.remove(engine, "before_cursor_execute", check)
    assert written == []


@pytest.fixture
def setup(app):
    with records(app) as session:
        federation = builders.make_federation(session, "UMT")
        builders.build_hand_scheme(session, "MUT-A", federation="UMT")
        builders.build_hand_scheme(session, "MUT-B", federation="UMT")
        admin = make_user(session, "admin")
        session.commit()
        return federation, admin


def _get_all(app, client) -> dict[str, bytes]:
    pages = {}
    with no_writes(app):
        for url in (*SCHEME_PAGES, *FEDERATION_PAGES):
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)
            pages[url] = response.data
    return pages


def test_report_pages_write_nothing(app, client, setup):
    login(client, setup[1])
    kept = _get_all(app, client)
    # Without any stored ledger (a register loaded before they existed), the pages read the engine: still no
    # write, and the same figures.
    with records(app) as session:
        session.execute(delete(ReportPeriod))
        session.execute(delete(ReportHousehold))
        session.commit()
    engine = _get_all(app, client)
    for url in (f"/schemes/MUT-A/indicators.json?{QUERY}", f"/federations/UMT/report.json?{QUERY}"):
        assert engine[url] == kept[url]


def test_the_writes_keep_the_stored_ledgers_current(session):
    """Receipts, reversals, register edits and rule changes store the ledgers in their own transaction."""
    scheme = builders.build_hand_scheme(session)
    assert ledgers.covers(session, scheme, builders.T)
    assert ledgers.refresh(session, scheme, builders.T) == 0  # nothing stale after the writes
    household = session.scalar(select(Household).where(Household.scheme_id == scheme.id, Household.ref == "H6"))
    receipt = record_receipt(session, household, date=date(2025, 6, 10), amount=12000)
    assert ledgers.refresh(session, scheme, builders.T) == 0
    assert_same(session, scheme)
    from mhi.contributions.services import reverse_receipt

    reverse_receipt(session, receipt, reason="typed twice")
    assert ledgers.refresh(session, scheme, builders.T) == 0
    assert_same(session, scheme)


def test_reports_during_receipts_on_postgresql(app):
    """Reports and receipts at once: no error, and every stored ledger matches its receipts afterwards."""
    postgresql_only(app)
    with records(app) as session:
        scheme = builders.build_hand_scheme(session, "MUT-C")
        session.commit()
        households = list(session.scalars(select(Household.id).where(Household.scheme_id == scheme.id)))
    errors: list[BaseException] = []
    start = threading.Barrier(6)

    def clerk(offset: int) -> None:
        with app.app_context():
            try:
                start.wait(timeout=30)
                for round_ in range(4):
                    for hid in households[offset::2]:
                        household = db.session.get(Household, hid)
                        record_receipt(db.session, household, date=date(2025, 2, 1 + round_), amount=1000)
                        db.session.commit()
            except BaseException as exc:  # noqa: BLE001 — reported below
                errors.append(exc)
                db.session.rollback()
            finally:
                db.session.remove()

    def reader() -> None:
        with app.app_context():
            try:
                start.wait(timeout=30)
                scheme = db.session.scalar(select(Scheme).where(Scheme.code == "MUT-C"))
                for _ in range(4):
                    ind.scheme_indicators(db.session, scheme, builders.F, builders.T)
                    db.session.rollback()
            except BaseException as exc:  # noqa: BLE001 — reported below
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=clerk, args=(i,)) for i in range(2)]
    threads += [threading.Thread(target=reader) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert errors == []
    with records(app) as session:
        scheme = session.scalar(select(Scheme).where(Scheme.code == "MUT-C"))
        assert ledgers.refresh(session, scheme, builders.T) == 0  # no lost refresh: every ledger is current
        assert_same(session, scheme)
        session.rollback()
