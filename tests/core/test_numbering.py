"""core/numbering.py on its own (either database): numbers in order from 1, numbers already used skipped in
few queries, a rolled-back allocation given back, counters independent per scheme, kind and scope."""

from __future__ import annotations

from sqlalchemy import event

from mhi.core.numbering import allocate_number, allocate_numbers
from mhi.members.models import Person
from tests.factories import make_scheme


def _render(n: int) -> str:
    return f"T-{n:04d}"


def test_numbers_in_order_and_independent_counters(session):
    a, b = make_scheme(session, "MUT-A"), make_scheme(session, "MUT-B")
    assert allocate_numbers(session, scheme_id=a.id, kind="test", scope="2025", render=_render, count=3) == [
        "T-0001",
        "T-0002",
        "T-0003",
    ]
    assert allocate_number(session, scheme_id=a.id, kind="test", scope="2025", render=_render) == "T-0004"
    assert allocate_number(session, scheme_id=a.id, kind="test", scope="2026", render=_render) == "T-0001"
    assert allocate_number(session, scheme_id=a.id, kind="other", scope="2025", render=_render) == "T-0001"
    assert allocate_number(session, scheme_id=b.id, kind="test", scope="2025", render=_render) == "T-0001"


def test_rolled_back_numbers_are_given_back(session):
    scheme_id = make_scheme(session, "MUT-A").id
    allocate_number(session, scheme_id=scheme_id, kind="test", scope="x", render=_render)
    session.commit()
    allocate_number(session, scheme_id=scheme_id, kind="test", scope="x", render=_render)
    session.rollback()
    assert allocate_number(session, scheme_id=scheme_id, kind="test", scope="x", render=_render) == "T-0002"


def test_numbers_already_used_are_skipped_in_few_queries(session):
    scheme_id = make_scheme(session, "MUT-A").id
    statements = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(session.get_bind(), "before_cursor_execute", count)
    try:
        numbers = allocate_numbers(
            session,
            scheme_id=scheme_id,
            kind="test",
            scope="x",
            render=_render,
            taken={_render(n) for n in range(1, 3000)},
            unique=(Person.member_no, Person.scheme_id == scheme_id),
            count=2,
        )
    finally:
        event.remove(session.get_bind(), "before_cursor_execute", count)
    assert numbers == ["T-3000", "T-3001"]
    assert len(statements) < 40
    # Nothing beyond the last number handed out was consumed.
    assert allocate_number(session, scheme_id=scheme_id, kind="test", scope="x", render=_render) == "T-3002"
