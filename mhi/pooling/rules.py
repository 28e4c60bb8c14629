"""Settlement arithmetic of the guarantee pool (pooling.md "Per scheme s", "The pool", "Output").

Pure functions over ``Decimal``: no database, no session. The caller gathers each scheme's figures over the
period [F, T] (indicators.md) and the pool balance at F; ``settle`` returns every number the settlement report
shows, and ``to_json`` gives pooling.md's JSON shape.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, localcontext

from mhi.core.money import ZERO, money_str, round_down, round_money

# Pro-rata shares divide money by money; a wide context keeps the quotient exact enough that rounding down
# never lands one unit low because of a truncated division (pooling.md "rounded down to the currency").
_DIVISION_PRECISION = 60


@dataclass(frozen=True)
class XolLayer:
    """Excess-of-loss layer: the pool pays ``share`` of each claim's part above ``threshold`` up to ``limit``.

    Without ``limit`` there is no cap (pooling.md "Per scheme s").
    """

    threshold: Decimal
    share: Decimal
    limit: Decimal | None = None

    def __post_init__(self) -> None:
        """Refuse layers whose formula would give negative or more-than-the-excess amounts."""
        if self.threshold < 0:
            raise ValueError(f"excess_of_loss threshold {self.threshold} is negative")
        if not ZERO <= self.share <= 1:
            raise ValueError(f"excess_of_loss share {self.share} is not between 0 and 1")
        if self.limit is not None and self.limit <= self.threshold:
            raise ValueError(f"excess_of_loss limit {self.limit} is not above the threshold {self.threshold}")


@dataclass(frozen=True)
class StopLossLayer:
    """The stop-loss layer: the pool pays ``share`` of retained claims above ``attachment_ratio`` · earned."""

    attachment_ratio: Decimal
    share: Decimal

    def __post_init__(self) -> None:
        """Refuse layers whose formula would give negative amounts."""
        if self.attachment_ratio < 0:
            raise ValueError(f"stop_loss attachment_ratio {self.attachment_ratio} is negative")
        if not ZERO <= self.share <= 1:
            raise ValueError(f"stop_loss share {self.share} is not between 0 and 1")


@dataclass(frozen=True)
class PoolTerms:
    """The pool's rules (federation.json ``pool``); a layer that is ``None`` pays nothing."""

    contribution_rate: Decimal
    excess_of_loss: XolLayer | None = None
    stop_loss: StopLossLayer | None = None

    def __post_init__(self) -> None:
        """Refuse a rate that would make a scheme pay more than it earns, or a negative one."""
        if not ZERO <= self.contribution_rate <= 1:
            raise ValueError(f"contribution_rate {self.contribution_rate} is not between 0 and 1")


@dataclass(frozen=True)
class SchemeFigures:
    """One scheme's inputs over [F, T].

    ``claim_amounts`` are the amount_approved of each APPROVED/REDUCED claim with date_of_service in [F, T]
    (the claims behind ``claims_incurred``); the excess-of-loss layer works claim by claim.
    """

    code: str
    contributions_earned: Decimal
    claims_incurred: Decimal
    claim_amounts: Sequence[Decimal] = ()


@dataclass(frozen=True)
class TriggeringClaim:
    """A claim that reached the excess-of-loss layer: its index in ``claim_amounts``, what the layer owes."""

    index: int
    amount_approved: Decimal
    excess_of_loss: Decimal


@dataclass(frozen=True)
class SchemeSettlement:
    """Every figure of one scheme in the settlement report (pooling.md "Output")."""

    code: str
    contributions_earned: Decimal
    claims_incurred: Decimal
    pool_contribution: Decimal
    excess_of_loss_claim: Decimal
    retained_claims: Decimal
    stop_loss_claim: Decimal
    excess_of_loss_paid: Decimal
    stop_loss_paid: Decimal
    paid: Decimal
    net_effect: Decimal
    triggering_claims: tuple[TriggeringClaim, ...] = ()


@dataclass(frozen=True)
class Settlement:
    """The pool's figures for one period; ``schemes`` are in code order."""

    currency: str
    opening_balance: Decimal
    contributions: Decimal
    available: Decimal
    paid: Decimal
    closing_balance: Decimal
    schemes: tuple[SchemeSettlement, ...]

    def scheme(self, code: str) -> SchemeSettlement:
        """The settlement line of scheme ``code`` (KeyError if it took no part)."""
        for line in self.schemes:
            if line.code == code:
                return line
        raise KeyError(code)


def terms_from_json(pool: Mapping) -> PoolTerms:
    """Read the ``pool`` object of federation.json (data-formats.md); amounts and rates are decimal text."""
    xol = pool.get("excess_of_loss")
    stop = pool.get("stop_loss")
    return PoolTerms(
        contribution_rate=Decimal(str(pool["contribution_rate"])),
        excess_of_loss=None
        if xol is None
        else XolLayer(
            threshold=Decimal(str(xol["threshold"])),
            share=Decimal(str(xol["share"])),
            limit=None if xol.get("limit") in (None, "") else Decimal(str(xol["limit"])),
        ),
        stop_loss=None
        if stop is None
        else StopLossLayer(attachment_ratio=Decimal(str(stop["attachment_ratio"])), share=Decimal(str(stop["share"]))),
    )


def xol_amount(amount_approved: Decimal, layer: XolLayer | None, currency: str) -> Decimal:
    """What the excess-of-loss layer owes for one claim.

    round(share · min(limit − threshold, max(0, amount_approved − threshold))), no cap without a limit,
    rounded claim by claim (pooling.md "Per scheme s"); 0 without the layer.
    """
    if layer is None:
        return round_money(ZERO, currency)
    excess = max(ZERO, amount_approved - layer.threshold)
    if layer.limit is not None:
        excess = min(layer.limit - layer.threshold, excess)
    return round_money(layer.share * excess, currency)


def stop_loss_amount(
    retained_claims: Decimal, contributions_earned: Decimal, layer: StopLossLayer | None, currency: str
) -> Decimal:
    """What the stop-loss layer owes a scheme: round(share · max(0, retained − attachment_ratio · earned))."""
    if layer is None:
        return round_money(ZERO, currency)
    excess = max(ZERO, retained_claims - layer.attachment_ratio * contributions_earned)
    return round_money(layer.share * excess, currency)


def share_out(claims: Sequence[Decimal], funds: Decimal, currency: str) -> list[Decimal]:
    """Pay ``claims`` from ``funds``: in full if they fit, else each claim · funds / Σ claims rounded down.

    Rounding down means the parts never pass the funds; what the rounding leaves stays in the pool
    (pooling.md "The pool"). Funds at or below zero pay nothing.
    """
    total = sum(claims, ZERO)
    if total <= funds:
        return [round_money(claim, currency) for claim in claims]
    if funds <= 0:
        return [round_money(ZERO, currency) for _ in claims]
    with localcontext() as context:
        context.prec = _DIVISION_PRECISION
        return [round_down(claim * funds / total, currency) for claim in claims]


def settle(terms: PoolTerms, opening_balance: Decimal, schemes: Sequence[SchemeFigures], currency: str) -> Settlement:
    """Settle the pool for one period: contributions in, excess-of-loss paid first, then stop-loss.

    ``opening_balance`` is the pool balance at F (pooling.md: opening_balance at opening_date, then after
    every earlier settlement). The result lists the schemes in code order.
    """
    ordered = sorted(schemes, key=lambda figures: figures.code)
    codes = [figures.code for figures in ordered]
    if len(set(codes)) != len(codes):
        raise ValueError(f"a scheme appears twice in the settlement: {codes}")

    contributions: list[Decimal] = []
    xol_claims: list[Decimal] = []
    retained: list[Decimal] = []
    stop_claims: list[Decimal] = []
    triggers: list[tuple[TriggeringClaim, ...]] = []
    for figures in ordered:
        # On the gross earned contributions, subsidy share included (pooling.md "Per scheme s").
        contributions.append(round_money(terms.contribution_rate * figures.contributions_earned, currency))
        scheme_triggers = []
        for index, amount in enumerate(figures.claim_amounts):
            owed = xol_amount(amount, terms.excess_of_loss, currency)
            if owed > 0:
                scheme_triggers.append(TriggeringClaim(index=index, amount_approved=amount, excess_of_loss=owed))
        triggers.append(tuple(scheme_triggers))
        xol_claim = sum((trigger.excess_of_loss for trigger in scheme_triggers), round_money(ZERO, currency))
        xol_claims.append(xol_claim)
        retained_claims = figures.claims_incurred - xol_claim
        retained.append(retained_claims)
        stop_claims.append(stop_loss_amount(retained_claims, figures.contributions_earned, terms.stop_loss, currency))

    available = opening_balance + sum(contributions, ZERO)
    # Excess-of-loss first; stop-loss shares only what is left after it (pooling.md "The pool").
    xol_paid = share_out(xol_claims, available, currency)
    stop_paid = share_out(stop_claims, available - sum(xol_paid, ZERO), currency)

    lines = []
    for i, figures in enumerate(ordered):
        paid = xol_paid[i] + stop_paid[i]
        lines.append(
            SchemeSettlement(
                code=figures.code,
                contributions_earned=figures.contributions_earned,
                claims_incurred=figures.claims_incurred,
                pool_contribution=contributions[i],
                excess_of_loss_claim=xol_claims[i],
                retained_claims=retained[i],
                stop_loss_claim=stop_claims[i],
                excess_of_loss_paid=xol_paid[i],
                stop_loss_paid=stop_paid[i],
                paid=paid,
                net_effect=paid - contributions[i],
                triggering_claims=triggers[i],
            )
        )
    total_paid = sum((line.paid for line in lines), ZERO)
    return Settlement(
        currency=currency,
        opening_balance=opening_balance,
        contributions=sum(contributions, ZERO),
        available=available,
        paid=total_paid,
        closing_balance=available - total_paid,
        schemes=tuple(lines),
    )


_SCHEME_KEYS = (
    "contributions_earned",
    "claims_incurred",
    "pool_contribution",
    "excess_of_loss_claim",
    "retained_claims",
    "stop_loss_claim",
    "excess_of_loss_paid",
    "stop_loss_paid",
    "paid",
    "net_effect",
)


def to_json(settlement: Settlement, federation: str, period: tuple[date, date]) -> dict:
    """pooling.md's JSON object: amounts as strings in the currency's decimals, schemes keyed by code."""
    currency = settlement.currency
    start, end = period
    return {
        "federation": federation,
        "currency": currency,
        "period": {"from": start.isoformat(), "to": end.isoformat()},
        "opening_balance": money_str(settlement.opening_balance, currency),
        "contributions": money_str(settlement.contributions, currency),
        "available": money_str(settlement.available, currency),
        "paid": money_str(settlement.paid, currency),
        "closing_balance": money_str(settlement.closing_balance, currency),
        "schemes": {
            line.code: {key: money_str(getattr(line, key), currency) for key in _SCHEME_KEYS}
            for line in sorted(settlement.schemes, key=lambda line: line.code)
        },
    }
