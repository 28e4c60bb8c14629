"""Pool settlements on the database (pooling.md): gather each scheme's figures, settle, keep drafts and closed
settlements.

A settlement for [F, T] takes each scheme's ``contributions_earned`` and ``claims_incurred`` from its monitoring
indicators over [F, T] (the reported, rounded amounts) and the approved amounts of the claims of the period that
reach the excess-of-loss layer (one query for the whole federation). The pool balance at F is the rules'
opening_balance, or the closing balance of the latest closed settlement that ended before F.

A draft can be run any number of times: the draft of the same period is replaced. Closing recomputes the figures
one last time and freezes them: a closed settlement never changes (a correction is a new settlement), closing
twice is refused, and closed periods cannot overlap. A period cannot be closed while a later one is already
closed, since the later one's opening balance was taken without it.

Services flush, never commit: the command or view owns the transaction. The indicators come from
``mhi.reports.indicators`` (imported where used): settlement needs exactly the reported figures of the schemes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, select

from mhi.claims.models import Claim
from mhi.core import clock, sheets
from mhi.core.audit import record
from mhi.core.dates import version_on
from mhi.core.errors import N_, UserError
from mhi.core.money import money_str
from mhi.pooling import rules
from mhi.pooling.models import PoolSettlement
from mhi.schemes.models import Federation, PoolRules
from mhi.schemes.versions import on_closed_period

#: Key of the stored result holding the claims that reached the excess-of-loss layer (not in pooling.md's JSON).
TRIGGERING = "triggering_claims"


class PoolError(UserError):
    """A settlement that cannot be run or closed; the message says why in words a board member understands."""


@dataclass(frozen=True)
class Triggering:
    """A claim whose approved amount reached the excess-of-loss layer: reference and amounts, never a diagnosis."""

    scheme: str
    claim_ref: str
    amount_approved: Decimal
    excess_of_loss: Decimal


@dataclass(frozen=True)
class Computed:
    """A freshly computed settlement: the arithmetic, the claims behind the excess-of-loss claims, the rules."""

    settlement: rules.Settlement
    triggering: tuple[Triggering, ...]
    rules_row: PoolRules


def rules_in_force(federation: Federation, day: date) -> PoolRules | None:
    """The federation's pool rules in force on ``day`` (``core.dates.version_on``; rows ordered by date)."""
    return version_on(list(federation.pool_rules), day)


def pool_terms(row: PoolRules) -> rules.PoolTerms:
    """The settlement arithmetic's terms from a stored rules row (absent layers pay nothing)."""
    xol = None
    if row.xol_threshold is not None and row.xol_share is not None:
        xol = rules.XolLayer(threshold=row.xol_threshold, share=row.xol_share, limit=row.xol_limit)
    stop = None
    if row.sl_attachment_ratio is not None and row.sl_share is not None:
        stop = rules.StopLossLayer(attachment_ratio=row.sl_attachment_ratio, share=row.sl_share)
    return rules.PoolTerms(contribution_rate=row.contribution_rate, excess_of_loss=xol, stop_loss=stop)


def closed_settlements(session, federation: Federation) -> list[PoolSettlement]:
    """The federation's closed settlements, oldest period first."""
    return list(
        session.scalars(
            select(PoolSettlement)
            .where(PoolSettlement.federation_id == federation.id, PoolSettlement.status == "closed")
            .order_by(PoolSettlement.period_from)
        )
    )


def latest_closed_period(session, scheme) -> tuple[date, date] | None:
    """(from, to) of the latest closed settlement of ``scheme``'s federation, or None: a rule change of the scheme
    may not take effect on or before its end (registered with ``schemes.versions.on_closed_period``)."""
    if scheme.federation_id is None:
        return None
    row = session.execute(
        select(PoolSettlement.period_from, PoolSettlement.period_to)
        .where(PoolSettlement.federation_id == scheme.federation_id, PoolSettlement.status == "closed")
        .order_by(PoolSettlement.period_to.desc())
        .limit(1)
    ).first()
    return (row[0], row[1]) if row is not None else None


on_closed_period(latest_closed_period)


def opening_balance(session, federation: Federation, date_from: date, row: PoolRules) -> Decimal:
    """The pool balance at F: after the latest closed settlement ending before F, else the rules' opening one."""
    previous = session.scalar(
        select(PoolSettlement)
        .where(
            PoolSettlement.federation_id == federation.id,
            PoolSettlement.status == "closed",
            PoolSettlement.period_to < date_from,
        )
        .order_by(PoolSettlement.period_to.desc())
        .limit(1)
    )
    return previous.closing_balance if previous is not None else row.opening_balance


def _large_claims(session, schemes, date_from: date, date_to: date, threshold: Decimal) -> dict[int, list]:
    """(claim_ref, amount_approved) of each scheme's claims of the period above ``threshold``, in ref order.

    Only those can reach the excess-of-loss layer (pooling.md: max(0, amount − threshold)), so a large scheme's
    hundreds of thousands of small claims are never loaded.
    """
    from mhi.reports.queries import PAYABLE

    by_scheme: dict[int, list] = {scheme.id: [] for scheme in schemes}
    if not schemes:
        return by_scheme
    rows = session.execute(
        select(Claim.scheme_id, Claim.claim_ref, Claim.amount_approved)
        .where(
            Claim.scheme_id.in_(list(by_scheme)),
            Claim.status.in_(PAYABLE),
            and_(Claim.date_of_service >= date_from, Claim.date_of_service <= date_to),
            Claim.amount_approved > threshold,
        )
        .order_by(Claim.scheme_id, Claim.claim_ref)
    )
    for scheme_id, claim_ref, amount in rows:
        by_scheme[scheme_id].append((claim_ref, amount))
    return by_scheme


def compute_settlement(session, federation: Federation, date_from: date, date_to: date) -> Computed:
    """Settle the pool for [F, T] from the schemes' current figures, without storing anything."""
    from mhi.reports.indicators import MixedCurrencies, check_currencies, scheme_indicators

    if date_from > date_to:
        raise PoolError(
            N_("the period starts (%(date_from)s) after it ends (%(date_to)s)"), date_from=date_from, date_to=date_to
        )
    row = rules_in_force(federation, date_from)
    if row is None:
        raise PoolError(
            N_("federation %(code)s has no guarantee pool (no pool rules in federation.json)"), code=federation.code
        )
    schemes = sorted(federation.schemes, key=lambda scheme: scheme.code)
    try:
        currency = check_currencies(federation, schemes)
    except MixedCurrencies as exc:
        raise PoolError.of(exc) from exc
    terms = pool_terms(row)
    threshold = terms.excess_of_loss.threshold if terms.excess_of_loss is not None else None
    large = _large_claims(session, schemes, date_from, date_to, threshold) if threshold is not None else {}

    figures = []
    refs: dict[str, list[str]] = {}
    for scheme in schemes:
        report = scheme_indicators(session, scheme, date_from, date_to)
        claims = large.get(scheme.id, [])
        refs[scheme.code] = [ref for ref, _ in claims]
        figures.append(
            rules.SchemeFigures(
                code=scheme.code,
                contributions_earned=report.indicators["contributions_earned"],
                claims_incurred=report.indicators["claims_incurred"],
                claim_amounts=tuple(amount for _, amount in claims),
            )
        )
    balance = opening_balance(session, federation, date_from, row)
    settlement = rules.settle(terms, balance, figures, currency)
    triggering = tuple(
        Triggering(line.code, refs[line.code][t.index], t.amount_approved, t.excess_of_loss)
        for line in settlement.schemes
        for t in line.triggering_claims
    )
    return Computed(settlement=settlement, triggering=triggering, rules_row=row)


def result_document(computed: Computed, federation: Federation, date_from: date, date_to: date) -> dict:
    """What a settlement row stores: pooling.md's JSON plus the triggering claims (references and amounts)."""
    document = rules.to_json(computed.settlement, federation.code, (date_from, date_to))
    currency = computed.settlement.currency
    document[TRIGGERING] = [
        {
            "scheme": t.scheme,
            "claim_ref": t.claim_ref,
            "amount_approved": money_str(t.amount_approved, currency),
            "excess_of_loss": money_str(t.excess_of_loss, currency),
        }
        for t in computed.triggering
    ]
    return document


def settlement_json(settlement: PoolSettlement) -> dict:
    """pooling.md's JSON of a stored settlement, exactly (the stored extras left out)."""
    return {key: value for key, value in settlement.result.items() if key != TRIGGERING}


def find_settlement(session, federation: Federation, date_from: date, date_to: date, status: str):
    """The settlement of exactly [F, T] with ``status``, if any."""
    return session.scalar(
        select(PoolSettlement).where(
            PoolSettlement.federation_id == federation.id,
            PoolSettlement.period_from == date_from,
            PoolSettlement.period_to == date_to,
            PoolSettlement.status == status,
        )
    )


def _check_closable(session, federation: Federation, date_from: date, date_to: date) -> None:
    """Refuse closing twice, overlapping a closed period, or closing before a later closed period."""
    for closed in closed_settlements(session, federation):
        period = f"{closed.period_from.isoformat()} to {closed.period_to.isoformat()}"
        if closed.period_from == date_from and closed.period_to == date_to:
            raise PoolError(
                N_("the settlement of %(period)s is already closed; a correction is a new settlement"), period=period
            )
        if closed.period_from <= date_to and date_from <= closed.period_to:
            raise PoolError(
                N_("the period overlaps the closed settlement of %(period)s; closed periods cannot overlap"),
                period=period,
            )
        if closed.period_from > date_to:
            raise PoolError(
                N_(
                    "the later settlement of %(period)s is already closed and opened with the balance it found; an earlier period can no longer be closed"
                ),
                period=period,
            )


def settle_pool(
    session, federation: Federation, date_from: date, date_to: date, *, close: bool = False, actor=None
) -> PoolSettlement:
    """Run the settlement of [F, T]: store (or replace) the draft, or close it when ``close``.

    Without ``close``, a period that is already closed is not recomputed: its closed settlement is returned as it
    was closed. Raises ``PoolError`` for a federation without a pool, mixed currencies, or a refused close.
    """
    if not close:
        closed = find_settlement(session, federation, date_from, date_to, "closed")
        if closed is not None:
            return closed
    else:
        _check_closable(session, federation, date_from, date_to)
    computed = compute_settlement(session, federation, date_from, date_to)
    document = result_document(computed, federation, date_from, date_to)
    settlement = find_settlement(session, federation, date_from, date_to, "draft")
    if settlement is None:
        settlement = PoolSettlement(
            federation_id=federation.id,
            period_from=date_from,
            period_to=date_to,
            created_by_id=getattr(actor, "id", None),
        )
        session.add(settlement)
    settlement.status = "draft"
    settlement.opening_balance = computed.settlement.opening_balance
    settlement.closing_balance = computed.settlement.closing_balance
    settlement.result = document
    if close:
        settlement.status = "closed"
        settlement.closed_at = clock.stored_now()
        settlement.closed_by_id = getattr(actor, "id", None)
    session.flush()
    record(
        session,
        actor=actor,
        entity="pool_settlement",
        entity_id=settlement.id,
        action="close" if close else "draft",
        after={
            "federation": federation.code,
            "from": date_from.isoformat(),
            "to": date_to.isoformat(),
            "opening_balance": document["opening_balance"],
            "closing_balance": document["closing_balance"],
        },
    )
    return settlement


def settlements_of(session, federation: Federation) -> list[PoolSettlement]:
    """Every settlement of the federation, latest period first (drafts and closed)."""
    return list(
        session.scalars(
            select(PoolSettlement)
            .where(PoolSettlement.federation_id == federation.id)
            .order_by(PoolSettlement.period_to.desc(), PoolSettlement.id.desc())
        )
    )


# -- stress test -----------------------------------------------------------------------------------------------


def claim_amounts_by_benefit(session, scheme_ids: list[int], date_from: date, date_to: date) -> dict:
    """scheme id → benefit code → amount_approved of its claims of the period (one query, for the fits)."""
    from mhi.reports.queries import PAYABLE

    result: dict[int, dict[str, list[Decimal]]] = {scheme_id: {} for scheme_id in scheme_ids}
    if not scheme_ids:
        return result
    rows = session.execute(
        select(Claim.scheme_id, Claim.benefit_code, Claim.amount_approved).where(
            Claim.scheme_id.in_(scheme_ids),
            Claim.status.in_(PAYABLE),
            and_(Claim.date_of_service >= date_from, Claim.date_of_service <= date_to),
        )
    )
    for scheme_id, code, amount in rows:
        result[scheme_id].setdefault(code, []).append(amount)
    return result


def run_stress(session, federation: Federation, date_from: date, date_to: date, *, years: int, target: float = 0.01):
    """pooling.md's stress test on the schemes' experience of [F, T] with the pool rules in force at F.

    Each scheme's frequencies and severities are fitted from its indicators and claims of the period
    (``stress.fit_from_experience``); the pool starts from its balance at F. Returns ``stress.StressReport``.
    """
    from mhi.pooling import stress
    from mhi.reports.indicators import scheme_indicators, to_json

    row = rules_in_force(federation, date_from)
    if row is None:
        raise PoolError(
            N_("federation %(code)s has no guarantee pool (no pool rules in federation.json)"), code=federation.code
        )
    schemes = sorted(federation.schemes, key=lambda scheme: scheme.code)
    if not schemes:
        raise PoolError(N_("federation %(code)s has no schemes"), code=federation.code)
    amounts = claim_amounts_by_benefit(session, [scheme.id for scheme in schemes], date_from, date_to)
    risks = [
        stress.fit_from_experience(to_json(scheme_indicators(session, scheme, date_from, date_to)), amounts[scheme.id])
        for scheme in schemes
    ]
    balance = opening_balance(session, federation, date_from, row)
    return stress.run_stress_test(risks, pool_terms(row), balance, years=years, target=target)


def settlement_table(document: dict) -> sheets.Table:
    """A pool settlement's figures per scheme (pooling.md keys), then the pool's own figures."""
    schemes = document["schemes"]
    keys = list(next(iter(schemes.values()))) if schemes else []
    columns = [sheets.Column(_l("Scheme")), *(sheets.Column(key, "number") for key in keys)]
    rows = [[code, *(_plain(line[k]) for k in keys)] for code, line in schemes.items()]
    rows.append([])
    for key in ("opening_balance", "contributions", "available", "paid", "closing_balance"):
        rows.append([key, _plain(document[key])])
    return sheets.Table(_l("Pool settlement"), columns, rows)


def _plain(value):
    """A JSON value of a document (amounts are strings) as a number where it is one."""
    if isinstance(value, str):
        try:
            return Decimal(value)
        except ArithmeticError:
            return value
    return value
