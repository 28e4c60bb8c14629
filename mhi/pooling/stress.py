"""Stress test of the guarantee pool (pooling.md "Stress test (beyond settlement)").

Each scheme's year is simulated many times: per benefit, a Poisson number of claims (mean = utilisation ·
exposure) with lognormal amounts (fitted on the logs of the approved amounts). The pool's layers are applied
as in ``rules.settle`` — excess-of-loss claim by claim, stop-loss on the year's retained claims, both pro rata
when the pool is short — and ruin is compared alone and inside the pool.

These are simulation statistics, not money: floats throughout, nothing rounded to the currency. The simulation
is vectorised with NumPy; the only Python loops run over schemes, benefits and blocks of years, never over
simulated years or claims.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal

import numpy as np

from mhi.pooling.rules import PoolTerms, XolLayer

#: Default number of simulated years and seed: the same inputs always give the same report.
DEFAULT_YEARS = 100_000
DEFAULT_SEED = 20250101
#: Candidate contribution rates for the proposal: 0.000, 0.005, …, 0.300.
RATE_GRID: tuple[Decimal, ...] = tuple(Decimal(k) * Decimal("0.005") for k in range(61))
#: Severity draws held in memory at once per benefit (about 32 MB of float64); bounds memory for big schemes.
_DRAWS_PER_BLOCK = 4_000_000


@dataclass(frozen=True)
class BenefitRisk:
    """One benefit's claim process: ``frequency`` expected cases a year, amounts lognormal(mu, sigma)."""

    code: str
    frequency: float
    mu: float
    sigma: float


@dataclass(frozen=True)
class SchemeRisk:
    """One scheme's year as the simulation sees it; amounts are per year in the scheme's currency."""

    code: str
    reserves: float
    contributions: float
    admin_expenses: float
    benefits: tuple[BenefitRisk, ...]
    other_income: float = 0.0


@dataclass(frozen=True)
class RiskStats:
    """Statistics of the year's result.

    ``result_p95`` / ``result_p99`` are the results exceeded in 95 % / 99 % of years (the 5 % and 1 %
    quantiles: the loss side), ``ruin_probability`` the share of years with reserves + result < 0.
    """

    ruin_probability: float
    result_mean: float
    result_p95: float
    result_p99: float


@dataclass(frozen=True)
class Histogram:
    """The year's result alone and pooled on common bins, for a chart (``edges`` has one more item)."""

    edges: np.ndarray
    alone: np.ndarray
    pooled: np.ndarray


@dataclass(frozen=True)
class SchemeStress:
    """One scheme alone and inside the pool, with its mean flows to and from the pool."""

    code: str
    alone: RiskStats
    pooled: RiskStats
    pool_contribution: float
    mean_paid: float
    histogram: Histogram


@dataclass(frozen=True)
class PoolStress:
    """The pool's side: ``ruin_probability`` is the share of years its claims exceed what it holds.

    The pool never pays more than it holds (pooling.md "The pool"), so its balance cannot go below zero;
    its ruin is failing to pay the layers' claims in full.
    """

    available: float
    ruin_probability: float
    mean_claims: float
    claims_p95: float
    claims_p99: float
    mean_closing_balance: float


@dataclass(frozen=True)
class ClaimDraws:
    """The simulated years of every scheme: gross claims and excess-of-loss claims, shape (schemes, years)."""

    codes: tuple[str, ...]
    claims: np.ndarray
    excess_of_loss: np.ndarray


@dataclass(frozen=True)
class StressReport:
    """The stress test's outcome for one set of pool terms."""

    years: int
    seed: int
    contribution_rate: Decimal
    target: float
    schemes: tuple[SchemeStress, ...]
    pool: PoolStress
    minimum_contribution_rate: Decimal | None


def fit_lognormal(amounts: Sequence[Decimal | float]) -> tuple[float, float] | None:
    """Lognormal (mu, sigma) by the method of moments on the logs: their mean and standard deviation.

    Amounts at or below zero have no log and are left out; None when no amount is left. One amount gives
    sigma 0 (every simulated claim costs the same).
    """
    values = np.array([float(amount) for amount in amounts if amount > 0], dtype=np.float64)
    if values.size == 0:
        return None
    logs = np.log(values)
    return float(logs.mean()), float(logs.std())


def _period_days(report: Mapping) -> int:
    """Days of the report's period [from, to], both ends included (conventions.md)."""
    period = report["period"]
    return (date.fromisoformat(period["to"]) - date.fromisoformat(period["from"])).days + 1


def fit_from_experience(
    report: Mapping,
    amounts_by_benefit: Mapping[str, Sequence[Decimal]],
    *,
    exposure_years: float | None = None,
) -> SchemeRisk:
    """A scheme's risk from its indicators report (cli.md's ``report indicators`` JSON) and claim amounts.

    ``amounts_by_benefit`` holds the amount_approved of the claims of the period per benefit code. Flows are
    scaled to one year (365 days); expected cases a year = utilisation · exposure, the exposure being the
    period's unless ``exposure_years`` projects another membership. Reserves are those at the period's end.
    Claims approved at zero are left out of the severity, and the frequency counts only the paying ones, so
    frequency × mean severity still matches the claims incurred.
    """
    per_year = 365 / _period_days(report)
    indicators = report["indicators"]
    exposure = float(indicators["exposure_years"]) * per_year if exposure_years is None else exposure_years
    benefits = []
    for code in sorted(report["benefits"]):
        figures = report["benefits"][code]
        utilisation = figures.get("utilization_per_1000")
        if not figures.get("cases") or not utilisation:
            continue
        amounts = list(amounts_by_benefit.get(code, ()))
        fitted = fit_lognormal(amounts)
        if fitted is None:
            continue
        paying_share = sum(1 for amount in amounts if amount > 0) / len(amounts)
        frequency = float(utilisation) / 1000 * exposure * paying_share
        benefits.append(BenefitRisk(code=code, frequency=frequency, mu=fitted[0], sigma=fitted[1]))
    return SchemeRisk(
        code=report["scheme"],
        reserves=float(indicators["reserves"]),
        contributions=float(indicators["contributions_earned"]) * per_year,
        admin_expenses=float(indicators["admin_expenses"]) * per_year,
        other_income=float(indicators.get("registration_fees") or 0) * per_year,
        benefits=tuple(benefits),
    )


def _simulate_scheme(
    rng: np.random.Generator, scheme: SchemeRisk, layer: XolLayer | None, years: int
) -> tuple[np.ndarray, np.ndarray]:
    """Gross claims and excess-of-loss claims of ``years`` simulated years of one scheme.

    Severities are drawn for all claims of a block of years at once and summed per year with
    ``np.add.reduceat``; only claims above the threshold are kept for the excess-of-loss layer, which works
    claim by claim (pooling.md "Per scheme s").
    """
    claims = np.zeros(years)
    xol = np.zeros(years)
    total_frequency = sum(benefit.frequency for benefit in scheme.benefits)
    block = int(min(years, max(1, _DRAWS_PER_BLOCK // max(1.0, total_frequency))))
    if layer is not None:
        threshold = float(layer.threshold)
        cap = np.inf if layer.limit is None else float(layer.limit - layer.threshold)
        share = float(layer.share)
    for start in range(0, years, block):
        size = min(block, years - start)
        for benefit in scheme.benefits:
            if benefit.frequency <= 0:
                continue
            counts = rng.poisson(benefit.frequency, size)
            ends = np.cumsum(counts)
            drawn = int(ends[-1])
            if drawn == 0:
                continue
            # Single precision halves the cost of the draws (the bulk of the run); sums are taken in double.
            severities = rng.standard_normal(drawn, dtype=np.float32)
            severities *= np.float32(benefit.sigma)
            severities += np.float32(benefit.mu)
            np.exp(severities, out=severities)
            with_claims = counts > 0
            # reduceat on the first index of each non-empty year: its segment runs to the next one.
            claims[start : start + size][with_claims] += np.add.reduceat(
                severities, (ends - counts)[with_claims], dtype=np.float64
            )
            if layer is None:
                continue
            large = np.flatnonzero(severities > threshold)
            if large.size:
                year_of_claim = np.searchsorted(ends, large, side="right")
                excess = np.minimum(severities[large].astype(np.float64) - threshold, cap)
                xol[start : start + size] += share * np.bincount(year_of_claim, weights=excess, minlength=size)
    return claims, xol


def simulate_claims(
    schemes: Sequence[SchemeRisk],
    excess_of_loss: XolLayer | None,
    *,
    years: int = DEFAULT_YEARS,
    seed: int = DEFAULT_SEED,
) -> ClaimDraws:
    """Simulate ``years`` years of claims for every scheme, seeded so the same inputs give the same draws.

    Each scheme gets its own stream spawned from ``seed``, so a scheme's draws do not depend on the others.
    """
    if years < 1:
        raise ValueError("the stress test needs at least one simulated year")
    streams = np.random.SeedSequence(seed).spawn(len(schemes))
    claims = np.zeros((len(schemes), years))
    xol = np.zeros((len(schemes), years))
    for i, (scheme, stream) in enumerate(zip(schemes, streams, strict=True)):
        claims[i], xol[i] = _simulate_scheme(np.random.default_rng(stream), scheme, excess_of_loss, years)
    return ClaimDraws(codes=tuple(scheme.code for scheme in schemes), claims=claims, excess_of_loss=xol)


def _pool_claims(schemes: Sequence[SchemeRisk], terms: PoolTerms, draws: ClaimDraws) -> tuple[np.ndarray, ...]:
    """Excess-of-loss and stop-loss claims on the pool, shape (schemes, years); the rate does not enter."""
    xol = draws.excess_of_loss
    if terms.stop_loss is None:
        return xol, np.zeros_like(xol)
    contributions = np.array([[scheme.contributions] for scheme in schemes])
    attachment = float(terms.stop_loss.attachment_ratio) * contributions
    retained = draws.claims - xol
    return xol, float(terms.stop_loss.share) * np.maximum(0.0, retained - attachment)


def _available(schemes: Sequence[SchemeRisk], rate: float, opening_balance: float) -> float:
    """What the pool holds in a simulated year: opening balance + rate · Σ contributions (one formula)."""
    return opening_balance + rate * sum(scheme.contributions for scheme in schemes)


def _pro_rata(claims: np.ndarray, funds: np.ndarray | float) -> np.ndarray:
    """Pay claims (schemes, years) in full where they fit the year's funds, else in proportion to them."""
    total = claims.sum(axis=0)
    funds = np.maximum(0.0, funds)
    factor = np.where(total > funds, funds / np.where(total > 0, total, 1.0), 1.0)
    return claims * factor


def _stats(result: np.ndarray, reserves: float) -> RiskStats:
    """Ruin probability, mean and loss-side quantiles of one scheme's simulated results."""
    p01, p05 = np.quantile(result, [0.01, 0.05])
    return RiskStats(
        ruin_probability=float(np.mean(reserves + result < 0)),
        result_mean=float(result.mean()),
        result_p95=float(p05),
        result_p99=float(p01),
    )


def _histogram(alone: np.ndarray, pooled: np.ndarray, bins: int) -> Histogram:
    """Both results on common bins spanning their 0.1 %–99.9 % range; tails are counted in the end bins."""
    low = float(min(np.quantile(alone, 0.001), np.quantile(pooled, 0.001)))
    high = float(max(np.quantile(alone, 0.999), np.quantile(pooled, 0.999)))
    if high <= low:
        high = low + 1.0
    edges = np.linspace(low, high, bins + 1)
    alone_counts, _ = np.histogram(np.clip(alone, low, high), edges)
    pooled_counts, _ = np.histogram(np.clip(pooled, low, high), edges)
    return Histogram(edges=edges, alone=alone_counts, pooled=pooled_counts)


def _rate_ruin(total_claims: np.ndarray, schemes: Sequence[SchemeRisk], rate: Decimal, opening: float) -> float:
    """The pool's ruin probability at ``rate``: years whose claims on it exceed what it holds."""
    return float(np.mean(total_claims > _available(schemes, float(rate), opening)))


def minimum_contribution_rate(
    schemes: Sequence[SchemeRisk],
    terms: PoolTerms,
    opening_balance: Decimal | float,
    *,
    target: float = 0.01,
    years: int = DEFAULT_YEARS,
    seed: int = DEFAULT_SEED,
    draws: ClaimDraws | None = None,
    grid: Sequence[Decimal] = RATE_GRID,
) -> Decimal | None:
    """The smallest rate of ``grid`` keeping the pool's ruin probability at or below ``target``, else None.

    The claims on the pool do not depend on the rate, so one simulation serves every candidate (the same
    draws as ``run_stress_test`` with the same seed); ruin only falls as the rate rises.
    """
    if draws is None:
        draws = simulate_claims(schemes, terms.excess_of_loss, years=years, seed=seed)
    xol, stop = _pool_claims(schemes, terms, draws)
    total = (xol + stop).sum(axis=0)
    for rate in sorted(grid):
        if _rate_ruin(total, schemes, rate, float(opening_balance)) <= target:
            return rate
    return None


def run_stress_test(
    schemes: Sequence[SchemeRisk],
    terms: PoolTerms,
    opening_balance: Decimal | float,
    *,
    years: int = DEFAULT_YEARS,
    seed: int = DEFAULT_SEED,
    target: float = 0.01,
    bins: int = 50,
) -> StressReport:
    """Simulate the schemes' years alone and inside the pool and propose the smallest safe contribution rate.

    Each simulated year starts from the given reserves and pool balance. Inside the pool a scheme pays
    rate · contributions and receives its layers' claims, excess-of-loss first and stop-loss from what is
    left, pro rata when the pool is short (pooling.md "The pool").
    """
    if not schemes:
        raise ValueError("the stress test needs at least one scheme")
    draws = simulate_claims(schemes, terms.excess_of_loss, years=years, seed=seed)
    opening = float(opening_balance)
    rate = float(terms.contribution_rate)
    available = _available(schemes, rate, opening)
    xol, stop = _pool_claims(schemes, terms, draws)
    xol_paid = _pro_rata(xol, available)
    stop_paid = _pro_rata(stop, available - xol_paid.sum(axis=0))
    paid = xol_paid + stop_paid
    total_claims = (xol + stop).sum(axis=0)

    lines = []
    for i, scheme in enumerate(schemes):
        alone = scheme.contributions + scheme.other_income - scheme.admin_expenses - draws.claims[i]
        contribution = rate * scheme.contributions
        pooled = alone - contribution + paid[i]
        lines.append(
            SchemeStress(
                code=scheme.code,
                alone=_stats(alone, scheme.reserves),
                pooled=_stats(pooled, scheme.reserves),
                pool_contribution=contribution,
                mean_paid=float(paid[i].mean()),
                histogram=_histogram(alone, pooled, bins),
            )
        )
    claims_p99, claims_p95 = np.quantile(total_claims, [0.99, 0.95])
    pool = PoolStress(
        available=available,
        ruin_probability=_rate_ruin(total_claims, schemes, terms.contribution_rate, opening),
        mean_claims=float(total_claims.mean()),
        claims_p95=float(claims_p95),
        claims_p99=float(claims_p99),
        mean_closing_balance=float(available - paid.sum(axis=0).mean()),
    )
    return StressReport(
        years=years,
        seed=seed,
        contribution_rate=terms.contribution_rate,
        target=target,
        schemes=tuple(lines),
        pool=pool,
        minimum_contribution_rate=minimum_contribution_rate(schemes, terms, opening, target=target, draws=draws),
    )


def with_rate(terms: PoolTerms, rate: Decimal) -> PoolTerms:
    """The same pool terms at another contribution rate (to compare a proposal with the current rules)."""
    return replace(terms, contribution_rate=rate)
