"""Shared pieces of the trust tests: running two clerks' work at the same moment, counting every table, a scheme
that every importer accepts files for, and large generated files.

The concurrency helper lines two threads up with a ``threading.Barrier`` and then holds each one's commit back
until the other has finished its work too (or a short wait has passed because the other is blocked on a lock).
Without a lock both finish their reads before either commits — the lost update is then certain, not a matter of
timing; with the lock the second waits for the first's commit, and the gate simply times out.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from mhi.core.db import db

#: How long a thread that finished its work waits for the other before committing anyway (the other is then
#: blocked on a lock the first holds, which is exactly what the lock is for).
GATE_SECONDS = 1.5

MEMBERS_HEADER = (
    "household_ref,member_no,first_name,last_name,sex,date_of_birth,relationship,enrolment_date,exit_date,"
    "product_code,category,village,phone,national_id"
)


def postgresql_only(app) -> None:
    """Skip on SQLite: it has one writer at a time, so there is no race for a lock to prevent (and CI runs this
    suite again on PostgreSQL, where the locks matter)."""
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("concurrency needs PostgreSQL (SQLite serialises writers); set MHI_TEST_DATABASE_URL")


@dataclass
class Outcome:
    """What one thread's work returned or raised."""

    value: Any = None
    error: BaseException | None = None
    committed: bool = False
    gate_broken: bool = False


def run_together(app, *works: Callable, gate_seconds: float = GATE_SECONDS, pass_hold: bool = False) -> list[Outcome]:
    """Run each ``work(session)`` in its own thread, app context and database session, all starting together;
    each commits once every work has finished (or the gate's wait ran out), or rolls back on an exception.

    With ``pass_hold`` the work is called as ``work(session, hold)`` and calls ``hold()`` itself just before
    its own commit (for code that commits inside, such as an import command).
    """
    start = threading.Barrier(len(works))
    gate = threading.Barrier(len(works))
    outcomes = [Outcome() for _ in works]

    def run(index: int, work: Callable) -> None:
        outcome = outcomes[index]
        held = False

        def hold() -> None:
            nonlocal held
            if held:
                return
            held = True
            try:
                gate.wait(timeout=gate_seconds)
            except threading.BrokenBarrierError:
                outcome.gate_broken = True

        with app.app_context():
            session = db.session
            try:
                start.wait(timeout=10)
                outcome.value = work(session, hold) if pass_hold else work(session)
                hold()
                session.commit()
                outcome.committed = True
            except BaseException as exc:  # noqa: BLE001 — reported to the test, which asserts on it
                outcome.error = exc
                session.rollback()
                gate.abort()  # never leave the other thread waiting on a failed one
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i, w), daemon=True) for i, w in enumerate(works)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
        assert not thread.is_alive(), "a concurrent worker hung (a deadlock?)"
    return outcomes


def table_counts(session) -> dict[str, int]:
    """Rows in every table of the application."""
    return {table.name: session.scalar(select(func.count()).select_from(table)) for table in db.metadata.sorted_tables}


def members_csv(households: int, *, prefix: str = "H", enrolment: str = "2025-01-10", start: int = 1) -> str:
    """A valid members.csv of ``households`` households of three persons (head, spouse, child). The persons of
    different households are different people (born on different days, no shared village or phone): none is a
    likely duplicate of another (members/duplicates.py)."""
    lines = [MEMBERS_HEADER]
    for n in range(start, start + households):
        ref = f"{prefix}-{n:06d}"
        back = timedelta(days=n - 1)
        head, spouse, child = (date.fromisoformat(d) - back for d in ("1980-02-03", "1978-05-06", "2015-07-08"))
        lines.append(f"{ref},{ref}-01,Awa,Ndiaye,F,{head},head,{enrolment},,BASE,,,,")
        lines.append(f"{ref},{ref}-02,Moussa,Ndiaye,M,{spouse},spouse,{enrolment},,,,,,")
        lines.append(f"{ref},{ref}-03,Fatou,Ndiaye,F,{child},child,{enrolment},,,,,,")
    return "\n".join(lines) + "\n"


def write(tmp_path: Path, name: str, text: str) -> Path:
    """A UTF-8 file in ``tmp_path``."""
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def everything_scheme(session, code: str = "MUT-TRUST"):
    """A scheme every importer has something to work with: make_scheme's BASE product (300 a person a month,
    fee 1000, OPD with a 20,000 yearly ceiling), a provider CS with tariffs and a subsidy programme CMU-IND."""
    from mhi.schemes.models import Provider, SubsidyProgramme
    from tests.factories import make_scheme

    scheme = make_scheme(session, code)
    session.add(
        SubsidyProgramme(
            scheme_id=scheme.id,
            position=0,
            code="CMU-IND",
            funder="Etat",
            categories=["indigent"],
            share=Decimal("0.5"),
            valid_from=date(2024, 1, 1),
            valid_to=None,
        )
    )
    session.add(
        Provider(
            scheme_id=scheme.id,
            code="CS",
            name="Centre de santé",
            kind="health_centre",
            contract_from=date(2024, 1, 1),
            contract_to=None,
        )
    )
    session.commit()
    return scheme
