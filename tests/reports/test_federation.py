"""The federation's consolidated report: totals from summed parts, never averages of ratios; mixed currencies."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from fractions import Fraction

import pytest

from mhi.core.db import db
from mhi.reports import indicators as ind
from tests.reports import builders
from tests.reports.builders import F, T

D = Decimal


@pytest.fixture
def federation(session):
    federation = builders.make_federation(session, "UMT")
    builders.build_hand_scheme(session, "MUT-A", federation="UMT")
    scheme_b = builders.build_hand_scheme(session, "MUT-B", federation="UMT")
    # MUT-B has one more paying household and a large claim: its denominators differ from MUT-A's.
    h7 = builders.add_household(session, scheme_b, "H7", F, [("head", F, None), ("spouse", F, None)])
    builders.pay(session, h7, F, 13000)
    builders.add_claim(
        session, scheme_b, "C9", "HOSP", "APPROVED", 90000, date(2025, 5, 1), date(2025, 5, 3), date(2025, 6, 20)
    )
    session.flush()
    from mhi.contributions.services import refresh_households

    refresh_households(session, scheme_b)
    session.commit()
    session.refresh(federation)
    return federation


def test_total_from_summed_parts(session, federation):
    report = ind.federation_indicators(session, federation, F, T)
    a, b = report.schemes
    total = report.total_indicators
    assert [s.code for s in report.schemes] == ["MUT-A", "MUT-B"]
    assert b.indicators["contributions_earned"] == D(23803)  # 4 · 12000 · 181 / 365 = 23802.7…
    for key in ("contributions_earned", "claims_incurred", "reserves", "cash", "arrears"):
        assert total[key] == a.indicators[key] + b.indicators[key]
    # Ratios from the summed numerators and denominators, which here differ from the mean of the ratios.
    incurred = a.indicators["claims_incurred"] + b.indicators["claims_incurred"]
    earned = a.indicators["contributions_earned"] + b.indicators["contributions_earned"]
    assert total["incurred_claims_ratio"] == ind.quotient(incurred, earned)
    mean = (a.indicators["incurred_claims_ratio"] + b.indicators["incurred_claims_ratio"]) / 2
    assert total["incurred_claims_ratio"] != mean.quantize(D("0.0001"))
    collection = ind.quotient(
        a.parts.period_dues_paid + b.parts.period_dues_paid,
        a.parts.contributions_expected + b.parts.contributions_expected,
    )
    assert total["collection_rate"] == collection
    assert total["retention_rate"] == ind.quotient(
        a.parts.households_retained + b.parts.households_retained, total["households_covered_start"]
    )
    assert total["penetration_rate"] == ind.quotient(total["beneficiaries_covered_end"], 200)
    assert total["exposure_years"] == ind.round_half_up(Fraction(a.parts.person_days + b.parts.person_days, 365), 4)
    # The median of all paid claims together: 15, 20, 40 and 15, 20, 40, 48 → 20.
    assert total["median_days_to_payment"] == D("20.0")
    assert report.total_benefits["HOSP"]["cases"] == 3
    assert report.total_benefits["HOSP"]["amount"] == D(60000 + 60000 + 90000)


def test_federation_json_shape(session, federation):
    document = json.loads(json.dumps(ind.federation_to_json(ind.federation_indicators(session, federation, F, T))))
    assert list(document) == ["federation", "currency", "period", "schemes", "total"]
    assert list(document["schemes"]) == ["MUT-A", "MUT-B"]
    assert list(document["schemes"]["MUT-A"]) == ["indicators", "benefits"]
    assert list(document["total"]) == ["indicators", "benefits"]


def test_mixed_currencies_are_refused(session):
    federation = builders.make_federation(session, "MIX")
    builders.build_hand_scheme(session, "MUT-X", federation="MIX")
    scheme = builders.build_hand_scheme(session, "MUT-G", federation=None, currency="GHS")
    scheme.federation_id = federation.id  # a scheme moved into the federation by hand
    session.commit()
    session.refresh(federation)
    with pytest.raises(ind.MixedCurrencies, match="MUT-G \\(GHS\\)"):
        ind.federation_indicators(session, federation, F, T)


def test_cli_federation_mixed_currencies_exit_1(app, runner, session):
    test_mixed_currencies_are_refused(session)
    db.session.commit()
    result = runner.invoke(
        args=["report", "federation", "--federation", "MIX", "--from", "2025-01-01", "--to", "2025-06-30"]
    )
    assert result.exit_code == 1
    assert "different currencies" in result.stderr
