"""Stress test of the guarantee pool (pooling.md "Stress test"), on small simulations."""

from __future__ import annotations

import csv
import json
import math
from datetime import date
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from mhi.pooling.rules import PoolTerms, StopLossLayer, XolLayer
from mhi.pooling.stress import (
    BenefitRisk,
    SchemeRisk,
    fit_from_experience,
    fit_lognormal,
    minimum_contribution_rate,
    run_stress_test,
    simulate_claims,
    with_rate,
)

SPEC = Path(__file__).resolve().parents[2] / "docs" / "spec"
EXAMPLES = SPEC / "examples"
D = Decimal
YEARS = 20_000

TERMS = PoolTerms(
    contribution_rate=D("0.05"),
    excess_of_loss=XolLayer(threshold=D("50000"), share=D("0.7")),
    stop_loss=StopLossLayer(attachment_ratio=D("0.8"), share=D("0.5")),
)


def federation(count: int = 5) -> list[SchemeRisk]:
    """A generated federation of small mutuelles, priced at a loss ratio of about 75 %, thin reserves."""
    schemes = []
    for i in range(count):
        exposure = 200.0 + 120.0 * i
        benefits = (
            BenefitRisk("OPD", 0.7 * exposure, 7.2, 0.5),
            BenefitRisk("HOSP", 0.045 * exposure, 10.6, 0.9),
            BenefitRisk("DEATH", 0.015 * exposure, math.log(30000), 0.0),
        )
        expected = sum(b.frequency * math.exp(b.mu + b.sigma**2 / 2) for b in benefits)
        schemes.append(
            SchemeRisk(
                code=f"MUT-{i}",
                reserves=0.12 * expected,
                contributions=expected / 0.75,
                admin_expenses=0.15 * expected / 0.75,
                benefits=benefits,
            )
        )
    return schemes


def test_fit_lognormal_is_the_mean_and_deviation_of_the_logs():
    """Method of moments on the logs; non-positive amounts have no log and are left out."""
    mu, sigma = fit_lognormal([D("100"), D("10000"), D("0")])
    assert mu == pytest.approx(math.log(1000))
    assert sigma == pytest.approx(math.log(10))  # population deviation of ln 100, ln 10000
    assert fit_lognormal([D("500")]) == (pytest.approx(math.log(500)), 0.0)
    assert fit_lognormal([D("0")]) is None


def test_same_seed_gives_the_same_report_and_another_seed_another():
    """The simulation is seeded: the same inputs repeat exactly."""
    schemes = federation(3)
    first = run_stress_test(schemes, TERMS, D("150000"), years=YEARS, seed=7)
    second = run_stress_test(schemes, TERMS, D("150000"), years=YEARS, seed=7)
    assert first.schemes[0].alone == second.schemes[0].alone
    assert first.pool == second.pool
    assert first.minimum_contribution_rate == second.minimum_contribution_rate
    np.testing.assert_array_equal(first.schemes[2].histogram.pooled, second.schemes[2].histogram.pooled)
    other = run_stress_test(schemes, TERMS, D("150000"), years=YEARS, seed=8)
    assert other.schemes[0].alone.result_mean != first.schemes[0].alone.result_mean


def test_a_schemes_draws_do_not_depend_on_the_other_schemes():
    """Each scheme has its own random stream, so adding a scheme leaves the others' years unchanged."""
    schemes = federation(3)
    alone = simulate_claims(schemes[:1], TERMS.excess_of_loss, years=1000, seed=3)
    together = simulate_claims(schemes, TERMS.excess_of_loss, years=1000, seed=3)
    np.testing.assert_array_equal(alone.claims[0], together.claims[0])


def test_simulated_claims_match_the_model():
    """Mean yearly claims ≈ Σ frequency · E[severity]; a fixed severity gives the exact excess-of-loss."""
    scheme = SchemeRisk("X", 0.0, 0.0, 0.0, (BenefitRisk("HOSP", 3.0, math.log(100000), 0.0),))
    draws = simulate_claims([scheme], TERMS.excess_of_loss, years=YEARS, seed=1)
    counts = draws.claims[0] / 100000
    np.testing.assert_allclose(counts, np.round(counts), atol=1e-5)
    assert counts.mean() == pytest.approx(3.0, rel=0.03)
    # Every claim of 100000 gives 0.7 · (100000 − 50000) = 35000.
    np.testing.assert_allclose(draws.excess_of_loss[0], 35000 * np.round(counts), rtol=1e-5)
    capped = simulate_claims(
        [scheme], XolLayer(D("50000"), D("0.7"), limit=D("60000")), years=YEARS, seed=1
    ).excess_of_loss[0]
    np.testing.assert_allclose(capped, 7000 * np.round(counts), rtol=1e-5)

    mixed = federation(1)[0]
    claims = simulate_claims([mixed], None, years=YEARS, seed=2).claims[0]
    expected = sum(b.frequency * math.exp(b.mu + b.sigma**2 / 2) for b in mixed.benefits)
    assert claims.mean() == pytest.approx(expected, rel=0.02)


def test_pooling_lowers_every_schemes_ruin_probability():
    """On a generated 5-scheme federation, ruin inside the pool is at most ruin alone, scheme by scheme.

    The pool is priced so each scheme pays in more than it gets back on average: the lower ruin comes from
    sharing the bad years, not from the pool's opening balance.
    """
    terms = PoolTerms(D("0.08"), XolLayer(D("100000"), D("0.7")), StopLossLayer(D("1.0"), D("0.5")))
    report = run_stress_test(federation(5), terms, D("150000"), years=YEARS, seed=11)
    assert len(report.schemes) == 5
    for line in report.schemes:
        assert line.mean_paid < line.pool_contribution
        assert 0 < line.alone.ruin_probability < 1
        assert line.pooled.ruin_probability <= line.alone.ruin_probability, line.code
        assert line.alone.result_p99 <= line.alone.result_p95 <= line.alone.result_mean
        assert line.pooled.result_p99 <= line.pooled.result_p95
        assert line.histogram.alone.sum() == YEARS == line.histogram.pooled.sum()
        assert len(line.histogram.edges) == len(line.histogram.alone) + 1
    assert 0 <= report.pool.ruin_probability <= 1


def test_minimum_contribution_rate_is_the_smallest_safe_rate_on_the_grid():
    """With the proposed rate the pool's ruin is within target; 0.005 less and it is not."""
    schemes = federation(5)
    target = 0.01
    rate = minimum_contribution_rate(schemes, TERMS, D("150000"), target=target, years=YEARS, seed=5)
    assert rate is not None and D("0") <= rate <= D("0.300")
    with_it = run_stress_test(schemes, with_rate(TERMS, rate), D("150000"), years=YEARS, seed=5, target=target)
    assert with_it.pool.ruin_probability <= target
    assert with_it.minimum_contribution_rate == rate
    if rate > 0:
        lower = run_stress_test(schemes, with_rate(TERMS, rate - D("0.005")), D("150000"), years=YEARS, seed=5)
        assert lower.pool.ruin_probability > target


def test_minimum_contribution_rate_is_none_when_no_rate_is_enough():
    """A pool promising too much for its schemes' size has no safe rate on the grid."""
    generous = PoolTerms(D("0.05"), XolLayer(D("0"), D("1")), None)  # pays every claim in full
    assert minimum_contribution_rate(federation(2), generous, D("0"), years=2000, seed=1) is None


def test_fit_from_experience_on_the_example():
    """MUT-POUT 2025 is one year: expected cases a year = the paying cases, money flows as reported."""
    report = json.loads((EXAMPLES / "ndiagane-expected" / "MUT-POUT" / "indicators.json").read_text("utf-8"))
    with open(EXAMPLES / "ndiagane" / "MUT-POUT" / "claims.csv", encoding="utf-8-sig", newline="") as handle:
        service = {row["claim_ref"]: row for row in csv.DictReader(handle)}
    with open(EXAMPLES / "ndiagane-expected" / "MUT-POUT" / "claims.csv", encoding="utf-8", newline="") as handle:
        decided = list(csv.DictReader(handle))
    amounts: dict[str, list[Decimal]] = {}
    for row in decided:
        served = date.fromisoformat(service[row["claim_ref"]]["date_of_service"])
        if row["status"] in ("APPROVED", "REDUCED") and date(2025, 1, 1) <= served <= date(2025, 12, 31):
            amounts.setdefault(row["benefit_code"], []).append(D(row["amount_approved"]))
    risk = fit_from_experience(report, amounts)
    assert risk.code == "MUT-POUT"
    assert (risk.reserves, risk.contributions, risk.admin_expenses) == (327771.0, 935450.0, 150000.0)
    frequencies = {benefit.code: benefit.frequency for benefit in risk.benefits}
    for code in report["benefits"]:
        paying = sum(1 for amount in amounts.get(code, []) if amount > 0)
        assert frequencies[code] == pytest.approx(paying, rel=1e-4), code
    death = next(benefit for benefit in risk.benefits if benefit.code == "DEATH")
    assert (death.mu, death.sigma) == (pytest.approx(math.log(30000)), pytest.approx(0.0, abs=1e-12))
    report_years = run_stress_test([risk], TERMS, D("150000"), years=2000, seed=1)
    assert report_years.schemes[0].code == "MUT-POUT"
