"""Check 3 NOT_FOR_PATIENT (sex, age bounds inclusive) and "Start day and newborns" (adjudication.md), on the
pure engine: one test per rule and per boundary."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from mhi.claims.rules import (
    APPROVED,
    CHECK_CODES,
    NOT_ENROLLED,
    NOT_FOR_PATIENT,
    PROVIDER_NOT_CONTRACTED,
    REJECTED,
    WAITING_PERIOD,
    BenefitRule,
    ClaimInput,
    History,
    PatientRule,
    ProductRule,
    ProviderRule,
    StaticContext,
    age_on,
    decide,
    first_covered_day,
)

D = Decimal
E = date(2024, 1, 1)  # the household's enrolment
OPD = BenefitRule("OPD", "service", coverage_rate=D("0.8"))
PED = BenefitRule("PED", "service", coverage_rate=D("1"), max_age_years=4)
MAT = BenefitRule(
    "MAT", "service", coverage_rate=D("1"), waiting_period_days=270, sex="F", min_age_years=12, max_age_years=50
)
BASE = ProductRule(60, 90, {b.code: b for b in (OPD, PED, MAT)}, newborn_days=30)
FAMILY = ProductRule(60, 90, {b.code: b for b in (OPD, PED, MAT)})  # no newborn rule
PROVIDERS = {"CS": ProviderRule("CS", date(2020, 1, 1), None, {})}


def person(member_no, *, sex="F", born=date(1990, 6, 15), enrolled=E, relationship="spouse", product=BASE):
    """A person of a household enrolled on E and covered all along."""
    return PatientRule(
        member_no, enrolled, None, "H", lambda day: product, sex, born, relationship, household_enrolment=E
    )


def decide_one(patient: PatientRule, benefit: str, day: date, provider: str | None = "CS"):
    """Decide one claim of ``patient`` for ``benefit`` on ``day``, submitted and recorded that day."""
    ctx = StaticContext({patient.member_no: patient}, PROVIDERS, lambda key, d: d >= E)
    claim = ClaimInput("C1", patient.member_no, provider, benefit, day, day, D("2000"), day)
    return decide(claim, ctx, History(), "XOF")


def test_not_for_patient_is_the_third_check():
    assert CHECK_CODES[2] == NOT_FOR_PATIENT
    assert len(CHECK_CODES) == 13


def test_maternity_for_a_man_is_refused():
    decision = decide_one(person("M", sex="M"), "MAT", date(2025, 3, 1))
    assert (decision.status, decision.reasons) == (REJECTED, (NOT_FOR_PATIENT,))
    assert "for sex F only" in decision.checks[2].detail


def test_sex_limit_comes_before_the_provider():
    decision = decide_one(person("M", sex="M"), "MAT", date(2025, 3, 1), provider=None)
    assert decision.reasons == (NOT_FOR_PATIENT,)
    decision = decide_one(person("W"), "MAT", date(2025, 3, 1), provider=None)
    assert decision.reasons == (PROVIDER_NOT_CONTRACTED,)


@pytest.mark.parametrize(
    ("day", "status"),
    [
        (date(2025, 6, 14), APPROVED),  # the day before the fifth birthday: 4 years old
        (date(2025, 6, 15), REJECTED),  # the fifth birthday: 5
    ],
)
def test_child_benefit_around_the_fifth_birthday(day, status):
    child = person("C", born=date(2020, 6, 15), relationship="child")
    decision = decide_one(child, "PED", day)
    assert decision.status == status
    if status == REJECTED:
        assert decision.reasons == (NOT_FOR_PATIENT,)
        assert "up to age 4; this person is 5" in decision.checks[2].detail


@pytest.mark.parametrize(
    ("born", "status"),
    [
        (date(2013, 3, 2), REJECTED),  # 11 on 2025-03-01: below min_age_years 12
        (date(2013, 3, 1), APPROVED),  # 12 that day: the lower bound is inclusive
        (date(1974, 3, 2), APPROVED),  # 50 that day: the upper bound is inclusive
        (date(1974, 3, 1), REJECTED),  # 51 that day
    ],
)
def test_age_bounds_are_inclusive(born, status):
    decision = decide_one(person("W", born=born), "MAT", date(2025, 3, 1))
    assert decision.status == status, decision.checks[2].detail


def test_age_counts_whole_years_and_clamps_29_february():
    assert age_on(date(2020, 6, 15), date(2025, 6, 14)) == 4
    assert age_on(date(2020, 6, 15), date(2025, 6, 15)) == 5
    assert age_on(date(2020, 6, 15), date(2020, 6, 15)) == 0
    # Born on 29 February: the birthday of a common year is 28 February (conventions.md).
    assert age_on(date(2020, 2, 29), date(2021, 2, 27)) == 0
    assert age_on(date(2020, 2, 29), date(2021, 2, 28)) == 1


BIRTH = date(2025, 3, 10)


@pytest.mark.parametrize(("days", "newborn"), [(30, True), (31, False)])
def test_newborn_registered_on_day_30_or_31_after_birth(days, newborn):
    baby = person("B", born=BIRTH, enrolled=BIRTH + timedelta(days=days), relationship="child")
    # The birth bill, before registration.
    decision = decide_one(baby, "OPD", BIRTH)
    if newborn:
        assert decision.status == APPROVED
        assert "covered from birth" in decision.checks[6].detail
        assert "no waiting period" in decision.checks[7].detail
    else:
        assert decision.reasons == (NOT_ENROLLED,)
    # A day after registration: the newborn has no waiting period, the others wait the product's 60 days.
    later = decide_one(baby, "OPD", BIRTH + timedelta(days=days + 1))
    assert later.status == APPROVED if newborn else later.reasons == (WAITING_PERIOD,)


def test_newborn_rule_needs_the_product_a_child_and_a_birth_after_enrolment():
    registered = BIRTH + timedelta(days=5)
    baby = person("B", born=BIRTH, enrolled=registered, relationship="child", product=FAMILY)
    assert decide_one(baby, "OPD", BIRTH).reasons == (NOT_ENROLLED,)
    other = person("B", born=BIRTH, enrolled=registered, relationship="other")
    assert decide_one(other, "OPD", BIRTH).reasons == (NOT_ENROLLED,)
    born_before = person("B", born=E - timedelta(days=1), enrolled=E + timedelta(days=5), relationship="child")
    assert decide_one(born_before, "OPD", E + timedelta(days=6)).reasons == (WAITING_PERIOD,)


def test_newborn_born_on_the_household_enrolment_day_counts():
    baby = person("B", born=E, enrolled=E + timedelta(days=10), relationship="child")
    assert decide_one(baby, "OPD", E).status == APPROVED


def test_first_covered_day_is_shared_by_claims_and_the_desk():
    adult = person("W")
    assert first_covered_day(adult, BASE, MAT) == E + timedelta(days=270)
    assert first_covered_day(adult, BASE, OPD) == E + timedelta(days=60)
    baby = person("B", born=BIRTH, enrolled=BIRTH + timedelta(days=3), relationship="child")
    assert first_covered_day(baby, BASE, OPD) == BIRTH
