"""Numbers as people type them (issue 16): the locale's grouping and decimal signs in forms, rates as percentages.
Files keep their contract (plain decimals, conventions.md); only what a person types in a form is read this way."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from mhi.contributions.models import Receipt
from mhi.core.numbers import normalise_number, normalise_rate
from tests.factories import login, make_user, records
from tests.members.helpers import enrol, scheme_with_programme


@pytest.mark.parametrize(
    ("typed", "locale", "plain"),
    [
        ("1 250", "fr", "1250"),
        ("1\u00a0250", "fr", "1250"),
        ("1\u202f250,50", "fr", "1250.50"),
        ("1250,50", "fr", "1250.50"),
        ("0,90", "fr", "0.90"),
        ("0.90", "fr", "0.90"),
        ("1 250 000", "fr", "1250000"),
        ("1,250", "en", "1250"),
        ("1,250.5", "en", "1250.5"),
        ("1 250", "en", "1250"),
        ("60.00", "en_IN", "60.00"),
        ("-5", "fr", "-5"),
    ],
)
def test_typed_numbers_become_plain_decimals(typed, locale, plain):
    assert normalise_number(typed, locale) == plain


@pytest.mark.parametrize(
    ("typed", "locale"),
    [("12 34", "fr"), ("1,2,3", "fr"), ("1250,50", "en"), ("abc", "fr"), ("1,25,0", "en"), ("", "fr"), ("1..2", "fr")],
)
def test_what_is_not_a_number_is_left_for_the_service_to_refuse(typed, locale):
    assert normalise_number(typed, locale) is None


@pytest.mark.parametrize(
    ("typed", "locale", "share"),
    [
        ("80 %", "fr", "0.8"),
        ("80%", "en", "0.8"),
        ("12,5 %", "fr", "0.125"),
        ("0,80", "fr", "0.80"),
        ("100 %", "fr", "1"),
    ],
)
def test_rates_may_be_typed_as_percentages(typed, locale, share):
    assert normalise_rate(typed, locale) == share
    assert Decimal(normalise_rate(typed, locale)) == Decimal(share)


def test_a_french_clerk_types_an_amount_as_the_screen_shows_it(app, client):
    """'1 250' typed by a French clerk is a receipt of 1250 F; '1 250,5' is refused (XOF has no decimals)."""
    with records(app) as session:
        scheme = scheme_with_programme(session)
        household = enrol(session, scheme, "H-1", date(2025, 1, 10))
        clerk = make_user(session, "clerk", scheme, locale="fr")
        household_id = household.id
    login(client, clerk)
    url = f"/schemes/MUT-A/households/{household_id}/receipts/new"
    refused = client.post(url, data={"date": "2025-01-10", "amount": "1 250,5", "method": "cash"})
    assert refused.status_code == 200
    with records(app) as session:
        assert session.scalar(select(Receipt.id)) is None
    done = client.post(url, data={"date": "2025-01-10", "amount": "1 250", "method": "cash"})
    assert done.status_code == 302
    with records(app) as session:
        assert session.scalar(select(Receipt.amount)) == Decimal("1250")
