"""Moving a household to another product from a date (issue 12; docs/decisions.md "Product changes"): the dues of
the periods from that day, claims decided on the product of their service date, waiting periods of new benefits,
the refusals, and the one "product on D" read by contributions and claims alike."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from mhi.claims.product_changes import ProductChangeError, change_product
from mhi.claims.services import ClaimEntry, eligibility, submit_claim
from mhi.contributions.queries import household_page, households_in_arrears
from mhi.contributions.services import ledger_for, record_receipt
from mhi.core.audit import AuditEvent
from mhi.members.models import Household, ProductChange
from mhi.members.products import household_versions, product_on, product_version_on
from mhi.schemes.models import Benefit, Product, ProductVersion, Provider, Tariff
from mhi.schemes.versions import _CLOSED_PERIODS
from tests.factories import make_scheme
from tests.members.helpers import enrol

E = date(2024, 6, 10)
D = date(2025, 2, 10)


def _product(session, scheme, code, *, amount, months=1, basis="person", benefits):
    product = Product(scheme_id=scheme.id, code=code, name=f"Product {code}")
    version = ProductVersion(
        product=product,
        effective_from=date(2024, 1, 1),
        basis=basis,
        amount=Decimal(amount),
        period_months=months,
        registration_fee=Decimal(5000),
        waiting_period_days=90,
        grace_period_days=30,
        lapse_after_days=180,
        submission_limit_days=90,
    )
    version.benefits = benefits
    session.add_all([product, version])
    return product


@pytest.fixture
def scheme(session):
    """make_scheme's BASE (300 a person a month; OPD 80 %, HOSP, DEATH), PLUS (500 a person a month; OPD 100 %, a
    dental benefit DENT BASE has not, waiting 60 days), YEAR (3000 a household a year; OPD 80 %) and a provider."""
    scheme = make_scheme(session)
    _product(session, scheme, "PLUS", amount=500, benefits=[
        Benefit(position=0, code="OPD", name="Consultation", kind="service", coverage_rate=Decimal(1),
                ceiling_per_year=Decimal(10000)),
        Benefit(position=1, code="DENT", name="Dental care", kind="service", coverage_rate=Decimal("0.5"),
                waiting_period_days=60),
    ])  # fmt: skip
    _product(session, scheme, "YEAR", amount=3000, months=12, basis="household", benefits=[
        Benefit(position=0, code="OPD", name="Consultation", kind="service", coverage_rate=Decimal("0.8")),
    ])  # fmt: skip
    provider = Provider(scheme_id=scheme.id, code="CS", name="Centre de santé", contract_from=date(2024, 1, 1))
    session.add(provider)
    session.flush()
    for code, amount in (("OPD", 4000), ("DENT", 10000)):
        session.add(Tariff(provider_id=provider.id, effective_from=date(2024, 1, 1), benefit_code=code, amount=amount))
    session.commit()
    return scheme


@pytest.fixture
def household(session, scheme):
    """H-001, one person on BASE from 2024-06-10, paid up to 2026 (registration 1000 and generously more)."""
    household = enrol(session, scheme, "H-001", E, others=0)
    record_receipt(session, household, date=E, amount=Decimal(20000))
    session.commit()
    return household


def claim(session, scheme, ref, benefit, service, amount=4000):
    number = session.scalar(select(Household).where(Household.ref == "H-001")).persons[0].member_no
    entry = ClaimEntry(ref, number, "CS", benefit, service, service, Decimal(amount))
    return submit_claim(session, scheme, entry, source="form", actor=None, recorded_on=service)


def member_no(session, household) -> str:
    return household.persons[0].member_no


def test_the_one_product_on_a_day():
    changes = [(date(2025, 1, 1), "B"), (date(2025, 6, 1), "A")]
    versions = {"A": [(date(2024, 1, 1), "a1"), (date(2025, 3, 1), "a2")], "B": [(date(2024, 1, 1), "b1")]}
    assert product_on("A", changes, date(2024, 12, 31)) == "A"
    assert product_version_on("A", changes, versions, date(2025, 2, 1)) == ("B", "b1")
    assert product_version_on("A", changes, versions, date(2025, 6, 1)) == ("A", "a2")
    merged = household_versions("A", changes, versions)
    assert merged == [(date(2024, 1, 1), "a1"), (date(2025, 1, 1), "b1"), (date(2025, 6, 1), "a2")]
    assert household_versions("A", [], versions) == versions["A"]


def test_a_dearer_product_is_owed_from_its_date_and_the_arrears_agree(session, scheme):
    household = enrol(session, scheme, "H-002", date(2025, 1, 10), others=0)
    record_receipt(session, household, date=date(2025, 1, 10), amount=Decimal(1900))  # fee + January to March
    change_product(session, household, product="PLUS", from_date="2025-04-10", reason="asked for dental care")
    session.commit()
    periods = {p.start: p.gross for p in ledger_for(session, household).periods_until(date(2025, 5, 31))}
    assert periods[date(2025, 3, 10)] == 300 and periods[date(2025, 4, 10)] == 500 and periods[date(2025, 5, 10)] == 500
    on = date(2025, 5, 15)
    owed = Decimal(1000 + 3 * 300 + 2 * 500 - 1900)  # the old product's 600 plus the difference, 400
    assert ledger_for(session, household).arrears(on) == owed
    listed = {line.ref: line.arrears for line in households_in_arrears(session, scheme, on)}
    assert listed["H-002"] == owed
    page = household_page(session, session.get(Household, household.id), on)
    assert page.account.arrears == owed
    assert page.product.code == "PLUS" and [c.product.code for c in page.product_changes] == ["PLUS"]
    assert household_page(session, household, date(2025, 4, 9)).product.code == "BASE"
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "product")).one()
    assert "BASE" in str(event.before) and "PLUS" in str(event.after) and "dental" in str(event.after)


def test_a_product_with_another_period_length_restarts_the_grid(session, scheme, household):
    change_product(session, household, product="YEAR", from_date="2025-02-10", reason="family package")
    periods = ledger_for(session, household).periods_until(date(2026, 3, 1))
    assert [(p.start, p.end, p.gross) for p in periods[-3:]] == [
        (date(2025, 1, 10), date(2025, 2, 10), Decimal(300)),
        (date(2025, 2, 10), date(2026, 2, 10), Decimal(3000)),
        (date(2026, 2, 10), date(2027, 2, 10), Decimal(3000)),
    ]


def test_claims_follow_the_product_of_their_service_date(session, scheme, household):
    before = claim(session, scheme, "C-1", "OPD", date(2025, 1, 15))
    change_product(session, household, product="PLUS", from_date=D, reason="asked for dental care")
    after = claim(session, scheme, "C-2", "OPD", date(2025, 3, 15))
    # DENT is new to the household on D: its 60 days wait from D, not from the enrolment in 2024.
    waiting = claim(session, scheme, "C-3", "DENT", date(2025, 3, 15), 10000)
    dental = claim(session, scheme, "C-4", "DENT", date(2025, 4, 20), 10000)
    session.commit()
    assert (before.status, before.amount_approved) == ("APPROVED", Decimal(3200)), before.reasons  # BASE: 80 %
    assert (after.status, after.amount_approved) == ("APPROVED", Decimal(4000))  # PLUS: 100 %
    assert waiting.status == "REJECTED" and "WAITING_PERIOD" in waiting.reasons
    assert (dental.status, dental.amount_approved) == ("APPROVED", Decimal(5000))
    # The annual ceiling counts the year's consumption across the change: PLUS's 10000 less 3200 (on BASE) and 4000.
    capped = claim(session, scheme, "C-5", "OPD", date(2025, 5, 15))
    assert (capped.status, capped.amount_approved) == ("REDUCED", Decimal(2800))
    desk = eligibility(session, scheme, member_no(session, household), date(2025, 3, 15))
    assert desk.product_code == "PLUS"
    assert {b.code: b.first_day for b in desk.benefits}["DENT"] == date(2025, 4, 11)


def test_a_change_on_or_before_a_decided_claim_is_refused(session, scheme, household):
    claim(session, scheme, "C-1", "OPD", date(2025, 3, 15))
    session.commit()
    with pytest.raises(ProductChangeError) as refused:
        change_product(session, household, product="PLUS", from_date=D, reason="late")
    message = str(refused.value)
    assert "claims already decided for care on or after 2025-02-10 (the last on 2025-03-15)" in message
    assert "choose 2025-04-10 or a later period start" in message
    session.rollback()
    # To a yearly product too, the day suggested is a start of the household's monthly grid as it stands.
    with pytest.raises(ProductChangeError) as yearly:
        change_product(session, household, product="YEAR", from_date=D, reason="late")
    assert "choose 2025-04-10 or a later period start" in str(yearly.value)
    session.rollback()
    change_product(session, household, product="PLUS", from_date="2025-04-10", reason="after the claim")
    assert session.scalar(select(func.count()).select_from(ProductChange)) == 1


@pytest.mark.parametrize(
    ("product", "day", "reason", "expected"),
    [
        ("PLUS", "2025-02-11", "r", "2025-02-11 is not the start of a contribution period of household H-001: a "
         "product changes on a period start, here 2025-02-10 or 2025-03-10"),
        ("PLUS", "2024-06-09", "r", "is before the household's enrolment on 2024-06-10"),
        ("BASE", "2025-02-10", "r", "household H-001 already has product BASE on 2025-02-10"),
        ("GOLD", "2025-02-10", "r", "GOLD is not a product of this scheme"),
        ("PLUS", "2025-02-10", "  ", "reason: is required"),
        ("PLUS", "2025-02-30", "r", "from_date"),
    ],
)  # fmt: skip
def test_bad_changes_are_refused_and_nothing_is_written(session, scheme, household, product, day, reason, expected):
    with pytest.raises(ProductChangeError) as refused:
        change_product(session, household, product=product, from_date=day, reason=reason)
    assert expected in str(refused.value)
    session.rollback()
    assert session.scalar(select(func.count()).select_from(ProductChange)) == 0


def test_refusals_are_in_french_too(app, session, scheme, household):
    with pytest.raises(ProductChangeError) as refused:
        change_product(session, household, product="PLUS", from_date="2025-02-11", reason="r")
    with app.test_request_context(), force_locale("fr"):
        text = refused.value.translated()
    assert "n'est pas le début d'une période de cotisation du ménage H-001" in text, text


def test_a_change_in_a_closed_pool_period_is_refused(session, scheme, household, monkeypatch):
    monkeypatch.setitem(_CLOSED_PERIODS, "test", lambda session, scheme: (date(2025, 1, 1), date(2025, 3, 31)))
    with pytest.raises(ProductChangeError) as refused:
        change_product(session, household, product="PLUS", from_date=D, reason="r")
    assert "falls in the closed pool settlement of 2025-01-01 to 2025-03-31" in str(refused.value)


def test_changes_go_in_date_order(session, scheme, household):
    change_product(session, household, product="PLUS", from_date="2025-04-10", reason="r")
    with pytest.raises(ProductChangeError) as refused:
        change_product(session, household, product="YEAR", from_date=D, reason="r")
    assert "already changes product on 2025-04-10" in str(refused.value)
    change_product(session, household, product="BASE", from_date="2025-06-10", reason="back")
    assert household_page(session, household, date(2025, 7, 1)).product.code == "BASE"


def test_lists_read_the_same_product_on_a_day_in_sql(app, session, scheme, household):
    """members.queries.product_id_on (cards, API, FHIR, statement) gives members.products.product_on's answer."""
    from mhi.api.queries import households as api_households
    from mhi.core import clock
    from mhi.members.queries import product_id_on

    change_product(session, household, product="PLUS", from_date=D, reason="r")
    change_product(session, household, product="YEAR", from_date="2025-06-10", reason="r")
    session.commit()
    ids = {p.code: p.id for p in session.scalars(select(Product))}
    dated = [(D, ids["PLUS"]), (date(2025, 6, 10), ids["YEAR"])]
    for day in (E, date(2025, 2, 9), D, date(2025, 6, 9), date(2025, 6, 10), date(2026, 1, 1)):
        in_sql = session.scalar(select(product_id_on(day)).where(Household.id == household.id))
        assert in_sql == product_on(ids["BASE"], dated, day), day
    with clock.frozen(date(2025, 3, 1)):
        rows = api_households(session, scheme, {"page": 1, "per_page": 10})
    assert [code for _, code in rows] == ["PLUS"]


def test_the_experience_of_a_product_follows_the_moved_household(session, scheme, household):
    """feasibility/experience.py (experience against assumptions): a household moved to PLUS on D counts its days
    and claims under BASE before D and under PLUS from D (members.queries.product_periods), not under its
    enrolment product for the whole year."""
    from mhi.feasibility.experience import product_experience

    before = claim(session, scheme, "C-1", "OPD", date(2025, 1, 15))
    change_product(session, household, product="PLUS", from_date=D, reason="asked for dental care")
    after = claim(session, scheme, "C-2", "OPD", date(2025, 3, 15))
    session.commit()
    assert before.status == after.status == "APPROVED"
    products = {p.code: p for p in session.scalars(select(Product).where(Product.scheme_id == scheme.id))}
    year = (date(2025, 1, 1), date(2025, 12, 31))
    base = product_experience(session, scheme, products["BASE"], *year)
    plus = product_experience(session, scheme, products["PLUS"], *year)
    # One person, covered the whole year: 40 days on BASE (1 January to 9 February), the rest on PLUS.
    assert (base.person_days, plus.person_days) == (40, 325)
    assert (base.households_start, base.households_end) == (1, 0)
    assert (plus.households_start, plus.households_end, plus.persons_end) == (0, 1, 1)
    cases = {p: {b.code: b.cases for b in e.benefits} for p, e in (("BASE", base), ("PLUS", plus))}
    assert cases["BASE"]["OPD"] == 1 and cases["PLUS"]["OPD"] == 1
