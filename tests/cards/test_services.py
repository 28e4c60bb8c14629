"""Who gets a card: the four scopes, leavers and struck-off households left out, the job row."""

from __future__ import annotations

from datetime import date

import pytest

from mhi.cards.services import (
    CARD_JOB,
    NOBODY,
    CardScope,
    CardScopeError,
    card_person_ids,
    cards_for_scope,
    create_card_job,
    make_scope,
)
from mhi.core.jobs import Job, result_file
from mhi.core.storage import read_file
from mhi.members.models import Person
from tests.cards.helpers import make_household, pdf_text
from tests.factories import make_scheme

ON = date(2024, 2, 1)


def numbers(session, scheme, scope, on=ON) -> list[str]:
    """The member numbers of ``scope``'s cards, in printing order."""
    ids = card_person_ids(session, scheme, scope, on=on)
    by_id = {p.id: p.member_no for p in session.query(Person).filter(Person.id.in_(ids))}
    return [by_id[i] for i in ids]


@pytest.fixture
def register(session):
    """Two villages, three households; the second village's household enrolled later."""
    scheme = make_scheme(session)
    make_household(session, scheme, "H-002", village="Ndiagane", first_no=10)
    make_household(session, scheme, "H-001", village="Ndiagane", first_no=1)
    make_household(session, scheme, "H-003", village="Pout", first_no=20, enrolment=date(2024, 1, 20))
    return scheme


def test_scopes(session, register):
    scheme = register
    everyone = numbers(session, scheme, make_scope("all"))
    # Village, then household reference, head first.
    assert everyone == [
        "M-00001",
        "M-00002",
        "M-00003",
        "M-00010",
        "M-00011",
        "M-00012",
        "M-00020",
        "M-00021",
        "M-00022",
    ]
    assert numbers(session, scheme, make_scope("household", household_ref="H-002")) == ["M-00010", "M-00011", "M-00012"]
    assert numbers(session, scheme, make_scope("village", village="Pout")) == ["M-00020", "M-00021", "M-00022"]
    assert numbers(session, scheme, make_scope("since", since=date(2024, 1, 15))) == ["M-00020", "M-00021", "M-00022"]
    assert numbers(session, scheme, make_scope("household", household_ref="NOPE")) == []


def test_leavers_and_struck_off_households_get_no_card(session, register):
    scheme = register
    leaver = session.query(Person).filter_by(member_no="M-00002").one()
    leaver.exit_date = date(2024, 1, 25)
    session.commit()
    assert "M-00002" not in numbers(session, scheme, make_scope("all"))
    # Nobody paid: with lapse_after_days 180 every household is struck off 180 days after enrolment (contributions.md §5).
    assert numbers(session, scheme, make_scope("all"), on=date(2024, 8, 1)) == []


def test_scope_checks():
    with pytest.raises(CardScopeError):
        make_scope("household")
    with pytest.raises(CardScopeError):
        make_scope("village", village="  ")
    with pytest.raises(CardScopeError):
        make_scope("since")
    with pytest.raises(CardScopeError):
        make_scope("planet")
    scope = make_scope("since", since=date(2024, 1, 1), village="ignored")
    assert scope == CardScope(kind="since", since=date(2024, 1, 1))
    assert CardScope.from_json(scope.as_json()) == scope


def test_household_layout_counts_cards(session, register):
    scheme = register
    scheme.settings = {"card_layout": "household"}
    session.commit()
    total, cards = cards_for_scope(session, scheme, make_scope("all"), on=ON)
    cards = list(cards)
    assert total == len(cards) == 3
    assert [c.household_ref for c in cards] == ["H-001", "H-002", "H-003"]
    assert [m.member_no for m in cards[0].members] == ["M-00001", "M-00002", "M-00003"]


def test_job_row(session, register):
    scheme = register
    job = create_card_job(session, scheme, make_scope("village", village="Pout"), actor=None, on=ON)
    assert (job.kind, job.state, job.total) == (CARD_JOB, "queued", 3)
    assert job.params == {"scope": {"kind": "village", "village": "Pout"}, "on": "2024-02-01"}
    with pytest.raises(CardScopeError):
        create_card_job(session, scheme, make_scope("village", village="Nowhere"), actor=None, on=ON)
    assert session.query(Job).count() == 1


def test_job_prints_the_cards_when_committed(session, register):
    scheme = register
    job = create_card_job(session, scheme, make_scope("village", village="Pout"), actor=None, on=ON)
    session.commit()  # the suite's queue is immediate: the job runs now
    session.refresh(job)
    assert (job.state, job.progress, job.total, job.result, job.attempts) == (
        "done",
        3,
        3,
        {"cards": 3, "card_ready_sms": 0},
        1,
    )
    stored = result_file(session, job)
    assert "M-00020" in pdf_text(read_file(stored))
    # Its household has no phone: no "card ready" SMS (tests/messaging covers those that do).


def test_job_fails_with_a_message_id_when_the_selection_emptied(session, register):
    scheme = register
    job = create_card_job(session, scheme, make_scope("village", village="Pout"), actor=None, on=ON)
    # Everyone of Pout leaves before a worker takes the job.
    for person in session.query(Person).filter(Person.member_no.in_(["M-00020", "M-00021", "M-00022"])):
        person.exit_date = date(2024, 1, 25)
    session.commit()
    session.refresh(job)
    assert (job.state, job.error) == ("failed", NOBODY)
    assert result_file(session, job) is None
