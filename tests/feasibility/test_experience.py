"""Experience against assumptions (experience.py) on a scheme generated here, figures checked by hand."""

from __future__ import annotations

import itertools
import json
from datetime import date, datetime
from decimal import Decimal

import pytest

from mhi.claims.models import Claim
from mhi.contributions.models import CoverageSpan
from mhi.feasibility import services
from mhi.feasibility.experience import experience_study_input, last_twelve_months, product_experience
from mhi.feasibility.method import parse_study, run_study
from mhi.members.models import Household, Person
from mhi.schemes.models import Product, ProductVersion
from tests.conftest import EXAMPLES
from tests.factories import make_scheme

F, T = date(2025, 1, 1), date(2025, 12, 31)
_numbers = itertools.count(1)


def household(session, scheme, product, ref, spans, persons):
    """A household with its coverage spans [start, end) and persons (enrolment, exit)."""
    h = Household(scheme_id=scheme.id, ref=ref, product_id=product.id, enrolment_date=spans[0][0])
    session.add(h)
    session.flush()
    for start, end in spans:
        session.add(CoverageSpan(scheme_id=scheme.id, household_id=h.id, start=start, end=end))
    people = []
    for enrolment, exit_date in persons:
        n = next(_numbers)
        person = Person(
            scheme_id=scheme.id,
            household_id=h.id,
            member_no=f"M{n:04d}",
            first_name="A",
            last_name=f"P{n}",
            sex="F",
            date_of_birth=date(1990, 1, 1),
            relation="other",
            enrolment_date=enrolment,
            exit_date=exit_date,
        )
        session.add(person)
        people.append(person)
    session.flush()
    return people


def claim(session, person, code, day, claimed, status="APPROVED", approved=None):
    """A decided claim for ``person``."""
    n = next(_numbers)
    session.add(
        Claim(
            scheme_id=person.scheme_id,
            claim_ref=f"C{n}",
            member_no=person.member_no,
            person_id=person.id,
            benefit_code=code,
            date_of_service=day,
            date_submitted=day,
            recorded_on=day,
            amount_claimed=Decimal(claimed),
            status=status,
            amount_approved=Decimal(approved if approved is not None else claimed),
        )
    )


@pytest.fixture
def scheme(session):
    """MUT-X (product BASE: OPD 80 % up to 5000, HOSP 70 %, a DEATH cash benefit) with 5 persons in 3
    households, a household on another product and one of another scheme that must not count."""
    scheme = make_scheme(session, "MUT-X")
    base = scheme.products[0]
    p1, p2, p3 = household(
        session,
        scheme,
        base,
        "H1",
        [(date(2024, 6, 1), None)],
        [(date(2024, 6, 1), None), (date(2025, 3, 1), None), (date(2024, 6, 1), date(2025, 7, 1))],
    )
    (p4,) = household(
        session,
        scheme,
        base,
        "H2",
        [(date(2024, 1, 1), date(2025, 4, 1)), (date(2025, 6, 1), date(2025, 10, 1))],
        [(date(2024, 1, 1), None)],
    )
    (p5,) = household(session, scheme, base, "H3", [(date(2025, 11, 1), None)], [(date(2025, 11, 1), None)])
    other_product = Product(scheme=scheme, code="OTHER", name="Other")
    version = ProductVersion(
        product=other_product, effective_from=date(2024, 1, 1), basis="person", amount=Decimal(100), period_months=1
    )
    session.add_all([other_product, version])
    session.flush()
    (p6,) = household(session, scheme, other_product, "H4", [(date(2024, 1, 1), None)], [(date(2024, 1, 1), None)])
    elsewhere = make_scheme(session, "MUT-Y")
    (p7,) = household(
        session, elsewhere, elsewhere.products[0], "H1", [(date(2024, 1, 1), None)], [(date(2024, 1, 1), None)]
    )
    claim(session, p1, "OPD", date(2025, 2, 3), 1500)
    claim(session, p1, "OPD", date(2025, 8, 9), 2500)
    claim(session, p2, "OPD", date(2025, 5, 5), 2000)
    claim(session, p4, "OPD", date(2025, 3, 10), 8000, "REDUCED", 4000)
    claim(session, p4, "OPD", date(2025, 3, 11), 3000, "REJECTED", 0)  # not incurred
    claim(session, p1, "OPD", date(2024, 12, 31), 3000)  # before the period
    claim(session, p5, "HOSP", date(2025, 12, 31), 60000, approved=42000)
    claim(session, p6, "OPD", date(2025, 5, 5), 1000)  # another product
    claim(session, p7, "OPD", date(2025, 5, 5), 1000)  # another scheme
    session.commit()
    return scheme


def assumed_study(session, scheme):
    """The study BASE was decided on: OPD 1.0 a year at 3500, HOSP 0.3 at 40000."""
    data = json.loads((EXAMPLES / "fandene-study.json").read_text(encoding="utf-8"))
    data["services"] = [
        {
            "code": "OPD",
            "name": "Consultation",
            "frequency": "1.0",
            "unit_cost": "3500",
            "coverage_rate": "0.8",
            "ceiling_per_case": "5000",
        },
        {
            "code": "HOSP",
            "name": "Hospitalisation",
            "frequency": "0.3",
            "unit_cost": "40000",
            "coverage_rate": "0.7",
            "ceiling_per_case": "100000",
        },
    ]
    data["renewal_rate"] = "0.80"
    study = services.save_study(session, data, scheme=scheme, federation_id=None, actor=None, now=datetime(2024, 12, 1))
    scheme.products[0].versions[0].study_id = study.id
    session.commit()
    return study


def test_exposure_and_frequencies_match_the_hand_count(session, scheme):
    """Person-days by hand: H1 365 + 306 + 181, H2 90 + 122, H3 61 = 1125; OPD 4 cases, HOSP 1."""
    found = product_experience(session, scheme, scheme.products[0], F, T, collection_rate=Decimal("0.85"))
    assert found.person_days == 365 + 306 + 181 + (90 + 122) + 61
    exposure = Decimal(1125) / 365
    assert found.exposure_years == exposure
    by_code = {b.code: b for b in found.benefits}
    assert [b.code for b in found.benefits] == ["OPD", "HOSP", "DEATH"]
    assert by_code["OPD"].cases == 4
    assert by_code["OPD"].frequency == Decimal(4) / exposure
    assert round(by_code["OPD"].frequency, 4) == Decimal("1.2978")
    assert by_code["OPD"].average_cost == Decimal(3500)  # (1500 + 2500 + 2000 + 8000) / 4, amounts claimed
    assert by_code["HOSP"].frequency == Decimal(1) / exposure
    assert by_code["HOSP"].average_cost == Decimal(60000)
    assert (by_code["DEATH"].cases, by_code["DEATH"].frequency) == (0, Decimal(0))
    assert by_code["DEATH"].average_cost is None
    # H1 and H2 covered on 2025-01-01, only H1 still on 2025-12-31; H1 (2 persons) and H3 (1) at the end.
    assert (found.households_start, found.households_retained, found.renewal_rate) == (2, 1, Decimal("0.5"))
    assert found.household_size == Decimal("1.5")
    assert found.new_beneficiaries == 2
    assert found.assumptions is None and found.flagged == []


def test_assumptions_more_than_20_percent_off_are_flagged(session, scheme):
    """OPD frequency +29.8 % and HOSP cost +50 % are flagged; HOSP frequency +8.1 % and OPD cost are not."""
    assumed_study(session, scheme)
    found = product_experience(session, scheme, scheme.products[0], F, T, collection_rate=Decimal("0.85"))
    opd, hosp, death = found.benefits
    assert opd.frequency_vs.assumed == Decimal("1.0") and opd.frequency_vs.off is True
    assert opd.cost_vs.off is False and opd.cost_vs.gap == 0
    assert hosp.frequency_vs.off is False and hosp.cost_vs.off is True
    assert death.frequency_vs.off is None  # not in the study: nothing to compare
    assert found.flagged == ["OPD", "HOSP"]
    assert found.renewal_vs.off is True  # 0.5 against 0.8
    assert found.collection_vs.off is False  # 0.85 against 0.90


def test_prefilled_study_runs(session, scheme):
    """The study pre-filled from experience is a valid study: observed figures, the rest from the old study."""
    assumed_study(session, scheme)
    found = product_experience(session, scheme, scheme.products[0], F, T, collection_rate=Decimal("0.85"))
    data = experience_study_input(found)
    assert data["services"] == [
        {
            "code": "OPD",
            "name": "Consultation",
            "frequency": "1.2978",
            "unit_cost": "3500",
            "coverage_rate": "0.8",
            "ceiling_per_case": "5000",
        },
        {
            "code": "HOSP",
            "name": "Hospitalisation",
            "frequency": "0.3244",
            "unit_cost": "60000",
            "coverage_rate": "0.7",
            "ceiling_per_case": "100000",
        },
    ]
    assert (data["insurance_effect"], data["household_size"]) == ("0", "1.50")
    assert (data["collection_rate"], data["renewal_rate"]) == ("0.8500", "0.5000")
    assert data["waiting_period_months"] == 3  # BASE waits 90 days
    result = run_study(parse_study(data))
    assert result["currency"] == "XOF"


def test_last_twelve_months():
    """The 12 full months that end the day before."""
    assert last_twelve_months(date(2026, 1, 1)) == (date(2025, 1, 1), date(2025, 12, 31))
