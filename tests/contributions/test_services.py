"""contributions/services.py by hand-worked cases on make_scheme's BASE product: 300 per person per month,
registration fee 1000, grace 30 days, lapse 180 days (contributions.md §1–§5)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from mhi.contributions.models import CoverageSpan, Receipt
from mhi.contributions.services import (
    ContributionError,
    household_account,
    household_inputs,
    record_receipt,
    refresh_households,
    reverse_receipt,
)
from mhi.core.audit import AuditEvent
from mhi.members.models import Household
from mhi.members.services import add_person, record_exit
from mhi.schemes.models import Scheme
from tests.members.helpers import enrol, person, scheme_with_programme

E = date(2025, 1, 10)


def spans(session, household) -> list[tuple]:
    return [
        tuple(row)
        for row in session.execute(
            select(CoverageSpan.start, CoverageSpan.end)
            .where(CoverageSpan.household_id == household.id)
            .order_by(CoverageSpan.start)
        )
    ]


@pytest.fixture
def scheme(session):
    return scheme_with_programme(session)


@pytest.fixture
def household(session, scheme):
    """Head and one child, enrolled on 2025-01-10: r = 1000, d_k = 600 a month."""
    return enrol(session, scheme, enrolment=E)


def test_unpaid_household_is_not_covered(session, household):
    account = household_account(session, household, E)
    assert (account.status, account.reason, account.reason_date) == ("not_covered", "unpaid", E)
    assert account.arrears == Decimal(1600)
    assert (account.next_due_amount, account.next_due_date) == (Decimal(1600), E)
    assert spans(session, household) == []
    # §5: X = E, never paid: struck off on E + 180.
    assert household.strike_off_date == date(2025, 7, 9)


def test_receipt_recorded_covers_the_household(session, household):
    receipt = record_receipt(session, household, date=E, amount=Decimal(1600), method="cash", collector="Awa")
    session.commit()
    assert receipt.receipt_no == "R-2025-000001"
    # Registration fee and period 0 paid: paid_until 2025-02-10, covered 30 days more.
    assert spans(session, household) == [(E, date(2025, 3, 12))]
    assert household.strike_off_date == date(2025, 8, 9)
    account = household_account(session, household, date(2025, 2, 1))
    assert (account.status, account.paid_until, account.covered_until) == (
        "covered",
        date(2025, 2, 10),
        date(2025, 3, 11),
    )
    assert (account.next_due_amount, account.next_due_date) == (Decimal(600), date(2025, 2, 10))
    assert account.arrears == 0
    grace = household_account(session, household, date(2025, 2, 20))
    assert (grace.status, grace.arrears) == ("grace", Decimal(600))
    lapsed = household_account(session, household, date(2025, 3, 12))
    assert (lapsed.status, lapsed.reason, lapsed.reason_date) == ("not_covered", "unpaid", date(2025, 2, 10))
    assert [(p.start, p.member_due, p.status) for p in lapsed.periods] == [
        (E, Decimal(600), "paid"),
        (date(2025, 2, 10), Decimal(600), "unpaid"),
        (date(2025, 3, 10), Decimal(600), "unpaid"),
    ]
    assert session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.entity == "receipt")) == 1


def test_partial_payment_and_numbering(session, household):
    record_receipt(session, household, date=E, amount=Decimal(1000))
    second = record_receipt(session, household, date=date(2025, 1, 20), amount=Decimal(300))
    assert second.receipt_no == "R-2025-000002"
    account = household_account(session, household, date(2025, 1, 25))
    assert account.periods[0].status == "partly_paid" and account.periods[0].paid == Decimal(300)
    assert (account.status, account.next_due_amount) == ("not_covered", Decimal(300))


def test_reversal_restores_coverage_and_deletes_nothing(session, household):
    before = (spans(session, household), household.strike_off_date)
    receipt = record_receipt(session, household, date=E, amount=Decimal(1600))
    session.commit()
    counter = reverse_receipt(session, receipt, reason="wrong household")
    session.commit()
    assert (counter.receipt_no, counter.amount, counter.date) == ("R-2025-000001-R", Decimal(-1600), E)
    assert (spans(session, household), household.strike_off_date) == before
    assert session.scalar(select(func.count(Receipt.id))) == 2
    lines = household_account(session, household, E).receipts
    assert [(r.receipt_no, r.is_reversal, r.reversed_by) for r in lines] == [
        ("R-2025-000001", False, "R-2025-000001-R"),
        ("R-2025-000001-R", True, None),
    ]
    # The next automatic number skips the reversal.
    assert record_receipt(session, household, date=E, amount=Decimal(100)).receipt_no == "R-2025-000002"


def test_reversing_twice_or_a_reversal_or_without_reason_is_refused(session, household):
    receipt = record_receipt(session, household, date=E, amount=Decimal(1600))
    with pytest.raises(ContributionError, match="reason is required"):
        reverse_receipt(session, receipt, reason="  ")
    counter = reverse_receipt(session, receipt, reason="typo")
    with pytest.raises(ContributionError, match="already been reversed"):
        reverse_receipt(session, receipt, reason="again")
    with pytest.raises(ContributionError, match="itself a reversal"):
        reverse_receipt(session, counter, reason="undo")
    assert session.scalar(select(func.count(Receipt.id))) == 2


def test_receipt_input_errors(session, household):
    with pytest.raises(ContributionError, match="more than 0") as error:
        record_receipt(session, household, date=E, amount=Decimal(0))
    assert error.value.field == "amount"
    with pytest.raises(ContributionError, match="more decimals"):
        record_receipt(session, household, date=E, amount=Decimal("10.5"))
    with pytest.raises(ContributionError, match="payment method"):
        record_receipt(session, household, date=E, amount=Decimal(10), method="cheque")
    record_receipt(session, household, receipt_no="RC-1", date=E, amount=Decimal(10))
    with pytest.raises(ContributionError, match="already used"):
        record_receipt(session, household, receipt_no="RC-1", date=E, amount=Decimal(10))


def test_automatic_numbers_skip_numbers_typed_by_hand(session, household):
    record_receipt(session, household, date=E, amount=Decimal(100))
    record_receipt(session, household, receipt_no="R-2025-000002", date=E, amount=Decimal(100))
    record_receipt(session, household, receipt_no="R-2025-000003", date=E, amount=Decimal(100))
    receipt = record_receipt(session, household, date=E, amount=Decimal(100))
    assert receipt.receipt_no == "R-2025-000004"
    session.commit()
    assert session.scalar(select(func.count(Receipt.id))) == 4


def test_reversal_number_already_taken(session, household):
    receipt = record_receipt(session, household, receipt_no="RC-9", date=E, amount=Decimal(100))
    record_receipt(session, household, receipt_no="RC-9-R", date=E, amount=Decimal(100))
    with pytest.raises(ContributionError, match="RC-9-R is already used"):
        reverse_receipt(session, receipt, reason="typo")


def test_newborn_counts_from_the_next_period(session, household):
    add_person(session, household, person("Bébé", "child", date(2025, 2, 20), born=date(2025, 2, 19)))
    session.commit()
    account = household_account(session, household, date(2025, 3, 10))
    assert [(p.start, p.persons, p.member_due) for p in account.periods] == [
        (E, 2, Decimal(600)),
        (date(2025, 2, 10), 2, Decimal(600)),
        (date(2025, 3, 10), 3, Decimal(900)),
    ]
    assert account.arrears == Decimal(1000 + 600 + 600 + 900)


def test_exit_of_every_member_ends_the_household(session, household):
    record_receipt(session, household, date=E, amount=Decimal(1000 + 6 * 600))
    session.commit()
    assert spans(session, household) == [(E, date(2025, 8, 9))]
    head, child = sorted(household.persons, key=lambda p: p.relation != "head")
    record_exit(session, child, date=date(2025, 3, 1), reason="resignation")
    refresh_households(
        session, session.get(Scheme, household.scheme_id), [household.id]
    )  # the caller refreshes (members/services.py)
    assert household.exit_date is None
    # The child counts until the period after leaving: periods from 2025-03-10 cost 300.
    account = household_account(session, household, date(2025, 3, 10))
    assert account.periods[2].member_due == Decimal(300)
    record_exit(session, head, date=date(2025, 4, 15), reason="death")
    refresh_households(session, session.get(Scheme, household.scheme_id), [household.id])
    session.commit()
    assert household.exit_date == date(2025, 4, 15)
    assert spans(session, household)[-1][1] == date(2025, 4, 15)
    gone = household_account(session, household, date(2025, 4, 15))
    assert (gone.status, gone.reason, gone.next_due_date, gone.arrears) == ("not_covered", "exited", None, 0)


def test_subsidised_household_needs_no_receipt(session, scheme):
    household = enrol(session, scheme, "H-IND", E, others=0, category="indigent")
    account = household_account(session, household, date(2025, 6, 1))
    # Half of 300 and of the 1000 fee is the programme's: the member owes 500 + 150 a month.
    assert account.registration_fee == Decimal(500)
    assert account.periods[0].subsidy == Decimal(150) and account.periods[0].member_due == Decimal(150)


def test_household_inputs_bulk_loads_in_fixed_queries(session, scheme, app):
    from sqlalchemy import event

    from mhi.core.db import db

    households = [enrol(session, scheme, f"H-{i:03d}", E) for i in range(12)]
    for h in households[:6]:
        record_receipt(session, h, date=E, amount=Decimal(1600))
    session.commit()
    assert scheme.currency == "XOF"  # reloaded after the commit, before counting
    statements = []

    def count(*args):
        statements.append(args[2])

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        inputs = household_inputs(session, scheme)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert (
        len(inputs) == 12 and len(statements) == 9
    )  # ids, versions, programmes, programme terms, households, persons, receipts, categories, product changes
    assert inputs[households[0].id].receipts == [(E, Decimal(1600))]
    assert inputs[households[0].id].terms[0][1].amount == Decimal(300)


def test_receipt_after_strike_off_is_flagged(session, household):
    session.commit()
    late = record_receipt(session, household, date=date(2025, 7, 9), amount=Decimal(1600))
    assert household.strike_off_date == date(2025, 7, 9)
    account = household_account(session, household, date(2025, 7, 10))
    assert account.reason == "struck_off"
    assert [(r.receipt_no, r.refund_or_reenrol) for r in account.receipts] == [(late.receipt_no, True)]
    assert session.get(Household, household.id).strike_off_date == date(2025, 7, 9)
