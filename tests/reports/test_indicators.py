"""Each indicator of indicators.md on the hand-worked scheme of ``builders`` (figures worked out in comments)."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from fractions import Fraction

import pytest

from mhi.reports import indicators as ind
from tests.reports import builders
from tests.reports.builders import F, T

D = Decimal


def q(value, places: int = 4) -> Decimal:
    """Exact value rounded half up, as the report rounds it."""
    return ind.round_half_up(Fraction(value), places)


@pytest.fixture
def report(session):
    scheme = builders.build_hand_scheme(session)
    return ind.scheme_indicators(session, scheme, F, T)


def test_membership(report):
    i = report.indicators
    # Covered on F: H1 (3), H2 (1), H4 in grace (head + spouse), H5 in grace (1). On T: H1 (2), H2, H4 (3).
    assert i["households_covered_start"] == 4
    assert i["households_covered_end"] == 3
    assert i["beneficiaries_covered_start"] == 7
    assert i["beneficiaries_covered_end"] == 6
    assert i["new_households"] == 4  # H1, H2, H3, H6
    assert i["new_beneficiaries"] == 8  # H1 3, H2 1, H3 2, H4's child, H6 1
    assert i["households_struck_off"] == 2  # H3 on 2025-04-30, H5 on 2025-03-02
    assert i["penetration_rate"] == D("0.06")  # 6 / 100
    assert i["growth_rate"] == q(Fraction(-1, 7))  # −0.1429
    assert i["retention_rate"] == D("0.75")  # H1, H2, H4 of the 4
    # Person-days: H1 2·181 + 151 (child to 2025-06-01), H2 181, H4 2·(30 + 136) + 136, H5 30.
    person_days = 362 + 151 + 181 + 468 + 30
    assert report.parts.person_days == person_days
    assert i["exposure_years"] == q(Fraction(person_days, 365))


def test_contributions(report):
    i = report.indicators
    # Expected: H1 1000 + 12000, H2 500 + 6000, H3 1000 + 12000, H4 12000, H5 12000 (due until struck off),
    # H6 1000 + 12000.
    assert i["contributions_expected"] == D(69500)
    assert i["period_dues_paid"] == D(13000 + 6500 + 12000 + 1000)
    assert i["collection_rate"] == q(Fraction(32500, 69500))
    assert i["contributions_collected"] == D(13000 + 6500 + 12000 + 1000)
    # Earned: a year of 12 000 for H1, H2, H4, 181 of its 365 days, summed exactly and rounded once.
    assert i["contributions_earned"] == D(17852)  # 3 · 12000 · 181 / 365 = 17852.05…
    assert i["member_contributions_earned"] == D(14877)  # (12000 + 6000 + 12000) · 181 / 365 = 14876.71…
    assert i["own_resources_share"] == q(Fraction(14877, 17852))
    assert i["subsidies_due"] == D(6500)  # H2's half of the year and of the registration fee
    assert i["subsidies_received"] == D(4000)  # S0 is dated before the period
    assert i["registration_fees"] == D(4000)  # H1, H2, H3, H6
    assert i["arrears"] == D(12000)  # H6; H3 and H5 are struck off


def test_claims(report):
    i = report.indicators
    assert i["claims_submitted"] == 5  # C1–C5
    assert i["claims_rejected"] == 1
    assert i["claim_rejection_ratio"] == D("0.2")
    assert i["claims_incurred"] == D(2000 + 3000 + 60000 + 1500)  # C1, C2, C3, C6
    assert i["claims_paid"] == D(2000 + 3000 + 10000)  # C1, C2, C5; C4's paid_on is ignored
    assert i["claims_outstanding"] == D(60000)  # C3; C6 was received after T
    assert i["incurred_claims_ratio"] == q(Fraction(66500, 17852))
    assert i["paid_claims_ratio"] == q(Fraction(15000, 17852))
    assert i["median_days_to_payment"] == D("20.0")  # 15, 20, 40
    assert i["paid_within_30_days_ratio"] == q(Fraction(2, 3))


def test_benefits(report):
    person_days = 1192
    assert list(report.benefits) == ["HOSP", "MAT", "OPD"]
    assert report.benefits["OPD"] == {
        "cases": 3,
        "amount": D(6500),
        "average_cost": D(2167),  # 2166.67 rounded to the franc
        "utilization_per_1000": q(Fraction(1000 * 3 * 365, person_days)),
    }
    assert report.benefits["HOSP"]["cases"] == 1
    assert report.benefits["HOSP"]["average_cost"] == D(60000)
    # A benefit without claims is listed with zeros and no average.
    assert report.benefits["MAT"] == {"cases": 0, "amount": D(0), "average_cost": None, "utilization_per_1000": D(0)}


def test_finance(report):
    i = report.indicators
    assert i["admin_expenses"] == D(5000)
    assert i["expense_ratio"] == q(Fraction(5000, 17852))
    assert i["net_result"] == D(17852 + 4000 - 66500 - 5000)
    # Since 2024-01-01: earned 24 000 (H4's and H5's 2024) + 17 852; fees 6 000; claims 77 500; expenses 7 000.
    reserves = 100000 + (24000 + 17852) + 6000 - 77500 - 7000
    assert i["reserves"] == D(reserves)
    assert i["reserve_months"] == q(Fraction(reserves) / (Fraction(66500) / (Fraction(181) / (Fraction(365) / 12))))
    # Cash: 50 000 + receipts 58 500 + subsidies 5 000 − claims paid 16 000 − expenses 7 000.
    assert i["cash"] == D(90500)
    assert i["liquidity_ratio"] == q(Fraction(90500, 60000))


def test_thresholds_and_json_shape(report):
    assert report.thresholds == {
        "collection_rate": "red",  # 0.4676
        "retention_rate": "amber",  # 0.75
        "incurred_claims_ratio": "red",  # 3.73
        "expense_ratio": "amber",  # 0.28
        "reserve_months": "green",
        "liquidity_ratio": "green",
        "median_days_to_payment": "green",
        "claim_rejection_ratio": "amber",  # 0.20 is not above 0.20
    }
    document = json.loads(json.dumps(ind.to_json(report)))
    assert list(document) == ["scheme", "currency", "period", "indicators", "benefits", "thresholds"]
    assert list(document["indicators"]) == [key for key, _ in ind.INDICATORS]
    assert document["period"] == {"from": "2025-01-01", "to": "2025-06-30"}
    assert document["indicators"]["contributions_earned"] == "17852"
    assert document["indicators"]["collection_rate"] == 0.4676
    assert document["indicators"]["median_days_to_payment"] == 20.0
    assert document["benefits"]["MAT"] == {"cases": 0, "amount": "0", "average_cost": None, "utilization_per_1000": 0.0}


def test_scheme_thresholds_override_defaults(session):
    scheme = builders.build_hand_scheme(session)
    scheme.settings = {"thresholds": {"collection_rate": {"green": "0.45", "red": "0.30"}}}
    session.commit()
    report = ind.scheme_indicators(session, scheme, F, T)
    assert report.thresholds["collection_rate"] == "green"


def test_period_without_claims_gives_nulls(session):
    scheme = builders.build_hand_scheme(session)
    report = ind.scheme_indicators(session, scheme, date(2023, 1, 1), date(2023, 12, 31))
    i = report.indicators
    assert i["households_covered_start"] == 0 and i["claims_submitted"] == 0
    for key in (
        "penetration_rate",
        "growth_rate",
        "retention_rate",
        "collection_rate",
        "own_resources_share",
        "claim_rejection_ratio",
        "incurred_claims_ratio",
        "paid_claims_ratio",
        "median_days_to_payment",
        "paid_within_30_days_ratio",
        "expense_ratio",
        "reserve_months",
        "liquidity_ratio",
    ):
        if key == "penetration_rate":
            assert i[key] == D(0)  # nobody covered out of a known target population
        else:
            assert i[key] is None, key
    assert i["exposure_years"] == D(0)
    assert report.benefits["OPD"] == {"cases": 0, "amount": D(0), "average_cost": None, "utilization_per_1000": None}
    assert all(light is None for light in report.thresholds.values())
    document = json.loads(json.dumps(ind.to_json(report)))
    assert document["indicators"]["reserve_months"] is None


def test_money_never_float(report):
    for key, kind in ind.INDICATORS:
        value = report.indicators[key]
        assert not isinstance(value, float), key
        if kind == "amount":
            assert isinstance(value, Decimal), key
