"""Issue 17, import speed: the stored ledger's fingerprint and encoded due parts are built from cached texts,
and must stay byte for byte what they were (a changed fingerprint would make every stored ledger look stale to
``flask report refresh-ledgers``; the due parts are parsed in SQL)."""

from __future__ import annotations

import hashlib
import json
import random
from datetime import date, timedelta
from decimal import Decimal

from mhi.contributions import stored
from mhi.contributions.models import ReportPeriod
from mhi.contributions.rules import HouseholdInput, PersonDates, Terms, build_ledger
from mhi.contributions.stored import PERIOD_COLUMNS, encode_due_parts, input_fingerprint, ledger_rows

MONTHLY = [(date(2024, 1, 1), Terms("person", Decimal(300), 1, Decimal(1000), 30, 180))]
TWO_VERSIONS = [
    (date(2024, 1, 1), Terms("person", Decimal("300.00"), 1, Decimal(1000), 30, 180)),
    (date(2025, 7, 1), Terms("household", Decimal("1500.5"), 3, Decimal(0), 0, None)),
]
HORIZON = date(2027, 1, 31)
MONEY = ("gross", "member_due", "cumulative")


def _reference(rules: str, h: HouseholdInput) -> str:
    """The fingerprint's definition: the digest of the repr of one tuple."""
    text = repr(
        (
            rules,
            h.enrolment,
            h.category or "standard",
            sorted((p.enrolment, p.exit or date.min) for p in h.persons),
            sorted((day, Decimal(amount).normalize()) for day, amount in h.receipts),
            list(h.terms),
            sorted(h.category_changes or ()),
            *([sorted(h.product_changes)] if h.product_changes else []),
        )
    )
    return hashlib.sha1(text.encode()).hexdigest()


def _random_input(rng: random.Random) -> HouseholdInput:
    start = date(2024, 1, 1) + timedelta(days=rng.randrange(700))
    persons = [
        PersonDates(start + timedelta(days=rng.choice((0, 0, 10, 40))), rng.choice((None, None, start + timedelta(90))))
        for _ in range(rng.randrange(1, 7))
    ]
    amounts = [Decimal(300), Decimal("300.00"), Decimal("1500.5"), Decimal("-300"), Decimal("0.125"), 600]
    receipts = [(start + timedelta(days=rng.randrange(400)), rng.choice(amounts)) for _ in range(rng.randrange(0, 14))]
    if receipts and rng.random() < 0.3:  # a same-day receipt of the same value written another way
        day, amount = receipts[0]
        receipts.append((day, Decimal(amount).quantize(Decimal("0.001"))))
    changes = [(start + timedelta(days=200), "indigent")] if rng.random() < 0.3 else []
    products = [start + timedelta(days=100)] if rng.random() < 0.2 else []
    rng.shuffle(receipts)
    return HouseholdInput(
        enrolment=start,
        category=rng.choice(("", "standard", "indigent")),
        persons=persons,
        receipts=receipts,
        terms=rng.choice((MONTHLY, TWO_VERSIONS, list(MONTHLY))),
        programmes=[],
        currency="XOF",
        category_changes=changes,
        product_changes=products,
    )


def test_the_fingerprint_is_the_digest_of_its_tuple():
    rng = random.Random(17)
    inputs = [_random_input(rng) for _ in range(400)]
    for h in inputs:
        assert input_fingerprint("rules-a", h) == _reference("rules-a", h)
    # Again from the cached texts, and after the cache was emptied.
    for h in inputs:
        assert input_fingerprint("rules-a", h) == _reference("rules-a", h)
    stored._TEXTS.clear()
    stored._TERMS_TEXTS.clear()
    assert input_fingerprint("rules-b", inputs[0]) == _reference("rules-b", inputs[0])


def test_the_fingerprint_changes_with_each_input():
    h = _random_input(random.Random(3))
    base = input_fingerprint("r", h)
    h.receipts = [*h.receipts, (date(2026, 1, 1), Decimal(1))]
    assert input_fingerprint("r", h) != base
    h.terms = TWO_VERSIONS if h.terms is not TWO_VERSIONS else MONTHLY
    assert input_fingerprint("r", h) == _reference("r", h)


def test_the_due_parts_encode_as_json():
    rng = random.Random(5)
    for _ in range(300):
        parts = {
            (rng.randrange(24_000, 24_400), rng.randrange(24_000, 24_400)): [
                rng.randrange(-(10**9), 10**9) for _ in "abc"
            ]
            for _ in range(rng.randrange(0, 30))
        }
        left = rng.choice((10**6, rng.randrange(24_000, 24_400)))
        flat = [left]
        for key, values in parts.items():
            flat += (*key, *values)
        encoded = encode_due_parts(left, parts)
        assert encoded == json.dumps(flat, separators=(",", ":"))
        assert json.loads(encoded) == flat


def test_the_stored_periods_are_the_periods_as_stored():
    """``ledger_rows(..., stored=True)`` (PostgreSQL's COPY) gives the values the column types would store for
    the dict rows (SQLite's insert): same periods, amounts in thousandths."""
    money = ReportPeriod.__table__.c.gross.type
    rng = random.Random(11)
    compared = 0
    for hid in range(1, 300):
        h = _random_input(rng)
        h.product_changes = ()
        h.currency = "TND"  # three decimals: the amounts' thousandths are whole minor units
        h.terms = rng.choice((MONTHLY, TWO_VERSIONS))
        ledger = build_ledger(h)
        household, rows, due = ledger_rows(7, hid, h, ledger, HORIZON, "r")
        household_too, tuples, due_too = ledger_rows(7, hid, h, ledger, HORIZON, "r", stored=True)
        assert (household_too, due_too) == (household, due)
        compared += len(rows)
        assert tuples == [
            tuple(money.process_bind_param(row[name], None) if name in MONEY else row[name] for name in PERIOD_COLUMNS)
            for row in rows
        ]
    assert compared > 1000  # periods compared, not only households without any


def test_a_list_of_terms_changed_in_place_is_written_again():
    h = _random_input(random.Random(8))
    h.terms = list(MONTHLY)
    first = input_fingerprint("r", h)
    h.terms.append(TWO_VERSIONS[1])
    assert input_fingerprint("r", h) == _reference("r", h) != first
