"""The bulk helpers the imports rest on (issue 17, import speed): ``one_of`` selects what an IN list selects, and
``bulk_insert`` (COPY on PostgreSQL) stores each row's values in their own columns, Money converted exactly."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.exc import StatementError

from mhi.contributions.models import Receipt
from mhi.core.db import one_of
from mhi.core.tabular import bulk_insert
from mhi.members.models import Household, Person
from tests.members.helpers import enrol, scheme_with_programme


def test_one_of_selects_what_an_in_list_selects(session):
    scheme = scheme_with_programme(session)
    households = [enrol(session, scheme, ref=f"H-{i:03d}") for i in range(1, 5)]
    ids = [households[0].id, households[2].id, 10**6]
    wanted = select(Person.id).where(Person.household_id.in_(ids)).order_by(Person.id)
    assert sorted(session.scalars(select(Household.id).where(one_of(session, Household.id, ids)))) == [
        households[0].id,
        households[2].id,
    ]
    persons = list(session.scalars(wanted))
    assert len(persons) == 4  # two households of a head and one other
    assert persons == list(
        session.scalars(select(Person.id).where(one_of(session, Person.household_id, ids)).order_by(Person.id))
    )
    assert list(session.scalars(select(Household.id).where(one_of(session, Household.id, [])))) == []


def test_bulk_insert_keeps_each_value_in_its_column(session):
    scheme = scheme_with_programme(session)
    household = enrol(session, scheme)
    rows = [
        {
            "scheme_id": scheme.id,
            "household_id": household.id,
            "receipt_no": f"R-{i}",
            "date": date(2025, 1, i),
            "amount": Decimal(amount),
            "method": method,
            "collector": "Awa",
            "reason": "",
            "created_by_id": None,
        }
        for i, (amount, method) in enumerate((("1500", "cash"), ("300", "bank"), ("2.5", "mobile_money")), start=1)
    ]
    bulk_insert(session, Receipt.__table__, rows)
    stored = session.execute(
        select(Receipt.receipt_no, Receipt.date, Receipt.amount, Receipt.method).order_by(Receipt.receipt_no)
    ).all()
    assert [tuple(r) for r in stored] == [
        ("R-1", date(2025, 1, 1), Decimal("1500"), "cash"),
        ("R-2", date(2025, 1, 2), Decimal("300"), "bank"),
        ("R-3", date(2025, 1, 3), Decimal("2.5"), "mobile_money"),
    ]
    with pytest.raises((ValueError, StatementError)):  # finer than Money's thousandths: refused, never rounded
        bulk_insert(session, Receipt.__table__, [{**rows[0], "receipt_no": "R-9", "amount": Decimal("1.0005")}])


def test_a_streamed_insert_runs_meanwhile_once_its_rows_are_made(session):
    """Issue 17: an import may give ``bulk_insert`` an iterator (the members import's persons, the stored
    ledgers' periods) and work to do meanwhile: every row is stored, each once, and ``meanwhile`` runs once, after
    the iterator has given its last row."""
    scheme = scheme_with_programme(session)
    household = enrol(session, scheme)
    made: list[int] = []
    calls: list[int] = []

    def rows():
        for i in range(1, 2001):
            made.append(i)
            yield {
                "scheme_id": scheme.id,
                "household_id": household.id,
                "receipt_no": f"S-{i:04d}",
                "date": date(2025, 1, 1 + i % 28),
                "amount": Decimal(i),
                "method": "cash",
                "collector": "Awa",
                "reason": "",
                "created_by_id": None,
            }

    bulk_insert(session, Receipt.__table__, rows(), meanwhile=lambda: calls.append(len(made)))
    assert calls == [2000]
    stored = session.execute(
        select(Receipt.receipt_no, Receipt.amount).where(Receipt.receipt_no.like("S-%")).order_by(Receipt.receipt_no)
    ).all()
    assert [tuple(r) for r in stored] == [(f"S-{i:04d}", Decimal(i)) for i in range(1, 2001)]
