"""The eligibility desk with patient limits and newborns (issue 13): per benefit, may this person use it on the
day and from when; no plain "covered" headline for someone every benefit still refuses."""

from __future__ import annotations

import copy
from datetime import date

from sqlalchemy import select

from mhi.claims.services import eligibility
from mhi.members.models import Person
from mhi.schemes.models import Scheme
from mhi.schemes.services import load_scheme
from tests.claims.claim_helpers import SCHEME, make_household


def limited_scheme(session) -> Scheme:
    """The test scheme with a women's benefit aged 12–50, a children's benefit up to 4, newborns within 30 days."""
    data = copy.deepcopy(SCHEME)
    product = data["products"][0]
    product["newborn_days"] = 30
    product["benefits"] += [
        {"code": "MAT", "name": "Accouchement", "kind": "service", "coverage_rate": "1", "sex": "F",
         "min_age_years": 12, "max_age_years": 50, "waiting_period_days": 270},
        {"code": "PED", "name": "Enfant", "kind": "service", "coverage_rate": "1", "max_age_years": 4},
    ]  # fmt: skip
    load_scheme(session, data, today=date(2024, 1, 1))
    session.flush()
    return session.scalar(select(Scheme).where(Scheme.code == "MUT-TEST"))


def person(session, member_no: str, **values) -> None:
    """Change a stored person (sex, date of birth, relationship, enrolment)."""
    row = session.scalar(select(Person).where(Person.member_no == member_no))
    for key, value in values.items():
        setattr(row, key, value)
    session.flush()


def by_code(answer):
    return {b.code: b for b in answer.benefits}


def test_each_benefit_says_whether_and_from_when(session):
    scheme = limited_scheme(session)
    make_household(session, scheme, "H-1", [("M-1", "head"), ("M-2", "spouse"), ("C-1", "child")])
    person(session, "M-1", sex="M")
    person(session, "C-1", date_of_birth=date(2020, 6, 15))
    man = by_code(eligibility(session, scheme, "M-1", date(2025, 3, 1)))
    assert (man["OPD"].usable, man["OPD"].usable_from) == (True, date(2024, 1, 31))
    assert (man["MAT"].usable, man["MAT"].refusal, man["MAT"].usable_from) == (False, "not_for_patient", None)
    assert (man["PED"].usable, man["PED"].refusal) == (False, "not_for_patient")  # born 1990
    woman = by_code(eligibility(session, scheme, "M-2", date(2024, 6, 1)))
    assert (woman["MAT"].refusal, woman["MAT"].usable_from) == ("waiting", date(2024, 9, 27))
    # The child: PED until the day before the fifth birthday.
    child = eligibility(session, scheme, "C-1", date(2025, 6, 14))
    assert by_code(child)["PED"].usable and by_code(child)["PED"].usable_until == date(2025, 6, 14)
    assert by_code(eligibility(session, scheme, "C-1", date(2025, 6, 15)))["PED"].refusal == "age"


def test_a_newborn_is_covered_from_birth_and_someone_waiting_is_told_until_when(session):
    scheme = limited_scheme(session)
    make_household(session, scheme, "H-1", [("M-1", "head"), ("B-1", "child")])
    person(session, "B-1", date_of_birth=date(2025, 3, 10), enrolment_date=date(2025, 4, 9))  # day 30
    baby = eligibility(session, scheme, "B-1", date(2025, 4, 9))
    assert baby.covered and baby.waiting_until is None
    assert by_code(baby)["OPD"].usable_from == date(2025, 3, 10)
    # Registered on day 31: not a newborn, the product's 30-day waiting period applies from enrolment.
    person(session, "B-1", enrolment_date=date(2025, 4, 10))
    late = eligibility(session, scheme, "B-1", date(2025, 4, 10))
    assert late.covered and late.waiting_until == date(2025, 5, 10)
    assert not any(b.usable for b in late.benefits)
    message, params = late.reasons[0]
    assert message.startswith("Covered on %(day)s, waiting until %(until)s") and params["until"] == date(2025, 5, 10)
