"""Time the pool stress test: 10 schemes × 100,000 simulated years (pooling.md "Stress test"; target < 10 s).

Run with ``.venv/bin/python bench/bench_pool_stress.py`` from the repository root; prints the wall time.
"""

from __future__ import annotations

import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mhi.pooling.rules import PoolTerms, StopLossLayer, XolLayer  # noqa: E402
from mhi.pooling.stress import BenefitRisk, SchemeRisk, run_stress_test  # noqa: E402

SCHEMES = 10
YEARS = 100_000


def make_schemes(count: int) -> list[SchemeRisk]:
    """Schemes shaped like the example's mutuelles (about 250–700 members, 200–500 claims a year)."""
    schemes = []
    for i in range(count):
        size = 1 + (i % 3)  # 250, 500 or 750 person-years of exposure
        exposure = 250.0 * size
        benefits = (
            BenefitRisk("OPD", 0.72 * exposure, 7.2, 0.45),
            BenefitRisk("HOSP", 0.045 * exposure, 10.9, 0.8),
            BenefitRisk("MAT", 0.024 * exposure, 9.8, 0.4),
            BenefitRisk("DEATH", 0.016 * exposure, 10.3, 0.0),
        )
        expected = sum(b.frequency * 2.718281828 ** (b.mu + b.sigma**2 / 2) for b in benefits)
        schemes.append(
            SchemeRisk(
                code=f"MUT-{i:02d}",
                reserves=0.3 * expected,
                contributions=expected / (0.80 + 0.01 * i),
                admin_expenses=0.12 * expected,
                benefits=benefits,
            )
        )
    return schemes


def main() -> None:
    """Run the stress test once and print the time it took."""
    terms = PoolTerms(
        contribution_rate=Decimal("0.05"),
        excess_of_loss=XolLayer(threshold=Decimal("100000"), share=Decimal("0.7")),
        stop_loss=StopLossLayer(attachment_ratio=Decimal("1.0"), share=Decimal("0.5")),
    )
    schemes = make_schemes(SCHEMES)
    claims_a_year = sum(b.frequency for s in schemes for b in s.benefits)
    started = time.perf_counter()
    report = run_stress_test(schemes, terms, Decimal("150000"), years=YEARS, seed=1)
    elapsed = time.perf_counter() - started
    print(f"{SCHEMES} schemes x {YEARS:,} years ({claims_a_year:,.0f} claims a simulated year): {elapsed:.2f} s")
    print(f"pool ruin {report.pool.ruin_probability:.4f}, proposed rate {report.minimum_contribution_rate}")
    for line in report.schemes:
        alone, pooled = line.alone.ruin_probability, line.pooled.ruin_probability
        print(f"  {line.code}: ruin alone {alone:.4f} pooled {pooled:.4f}")


if __name__ == "__main__":
    main()
