"""Issue 17, import speed: households with equal inputs and no receipts share one ledger (built once), and
their stored rows are exactly those of a ledger built for each alone."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from mhi.contributions.rules import HouseholdInput, PersonDates, Terms, build_ledger
from mhi.contributions.services import _shared_ledger
from mhi.contributions.stored import ledger_rows

TERMS = [(date(2024, 1, 1), Terms("person", Decimal(300), 1, Decimal(1000), 30, 180))]
PROGRAMMES: list = []  # one object for the whole refresh, as services._scheme_rules gives it
HORIZON = date(2026, 6, 30)


def _input(enrolment=date(2025, 1, 10), persons=2, receipts=(), exit_=None) -> HouseholdInput:
    people = [PersonDates(enrolment, None)] + [PersonDates(enrolment, exit_) for _ in range(persons - 1)]
    return HouseholdInput(enrolment, "standard", people, list(receipts), TERMS, PROGRAMMES, "XOF", [])


def test_equal_inputs_without_receipts_share_one_ledger():
    shared: dict = {}
    first = _shared_ledger(shared, _input())
    assert _shared_ledger(shared, _input()) is first
    assert _shared_ledger(shared, _input(enrolment=date(2025, 1, 11))) is not first
    assert _shared_ledger(shared, _input(persons=3)) is not first
    assert _shared_ledger(shared, _input(exit_=date(2025, 6, 1))) is not first
    paid = [(date(2025, 1, 10), Decimal(1600))]
    assert _shared_ledger(shared, _input(receipts=paid)) is not _shared_ledger(shared, _input(receipts=paid))


def test_a_shared_ledger_stores_the_rows_of_its_own():
    shared: dict = {}
    inputs = {hid: _input(persons=1 + hid % 3, enrolment=date(2025, 1, 1 + hid % 2)) for hid in range(1, 9)}
    for hid, h in inputs.items():
        mine = ledger_rows(1, hid, h, build_ledger(h), HORIZON, "rules")
        assert ledger_rows(1, hid, h, _shared_ledger(shared, h), HORIZON, "rules") == mine
    assert len(shared) == 6  # three sizes × two enrolment days
