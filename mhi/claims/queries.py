"""The read side of claims: the export of cli.md, the claims officer's queue, providers' figures and payment
batches. Every list is one query (or an aggregate), never a query per row."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import case, func, select
from sqlalchemy.orm import selectinload

from mhi.claims.models import Claim, ClaimDecision, PaymentBatch
from mhi.claims.rules import PAYING_STATUSES, REDUCED, REJECTED
from mhi.core.money import ZERO, money_str
from mhi.core.paging import Paged, paginate
from mhi.schemes.models import Provider

EXPORT_HEADER = ("claim_ref", "member_no", "benefit_code", "status", "amount_claimed", "amount_approved", "reasons")


def export_rows(session, scheme, date_from: date | None = None, date_to: date | None = None) -> list[tuple]:
    """cli.md ``claims export`` rows: amounts in the currency's decimals, sorted by claim_ref in plain
    character order (sorted here, not by the database, whose collation may differ)."""
    query = select(
        Claim.claim_ref,
        Claim.member_no,
        Claim.benefit_code,
        Claim.status,
        Claim.amount_claimed,
        Claim.amount_approved,
        Claim.reasons,
    ).where(Claim.scheme_id == scheme.id)
    if date_from is not None:
        query = query.where(Claim.date_of_service >= date_from)
    if date_to is not None:
        query = query.where(Claim.date_of_service <= date_to)
    currency = scheme.currency
    rows = [
        (ref, member, benefit, status, money_str(claimed, currency), money_str(approved, currency), reasons or "")
        for ref, member, benefit, status, claimed, approved, reasons in session.execute(query)
    ]
    rows.sort(key=lambda row: row[0])
    return rows


def export_csv(session, scheme, date_from: date | None = None, date_to: date | None = None) -> str:
    """The export as CSV text: UTF-8, LF line ends, quotes only where needed (cli.md).

    Written as is, without a spreadsheet formula guard: every value is a validated reference, code, status or
    amount (none can start a formula), and the file is a machine contract compared byte for byte.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(EXPORT_HEADER)
    writer.writerows(export_rows(session, scheme, date_from, date_to))
    return buffer.getvalue()


#: Claims a page of the queue shows.
QUEUE_PAGE = 200
#: Payment batches a page shows.
BATCHES_PAGE = 100

#: The queue's order: what needs an officer's eye first (rejected, then reduced), then the most recent.
_QUEUE_ORDER = case((Claim.status == REJECTED, 0), (Claim.status == REDUCED, 1), else_=2)


def queue(
    session,
    scheme,
    *,
    status: str | None = None,
    benefit_code: str | None = None,
    provider_id: int | None = None,
    reason: str | None = None,
    since: date | None = None,
    member_no: str | None = None,
    overridden: bool | None = None,
    page: int = 1,
    per_page: int = QUEUE_PAGE,
) -> Paged:
    """The claims officer's queue: recent decisions, rejected and reduced first, with filters; one page of it
    with the count of all the claims the filters keep."""
    query = select(Claim).where(Claim.scheme_id == scheme.id).options(selectinload(Claim.provider))
    if status:
        query = query.where(Claim.status == status)
    if benefit_code:
        query = query.where(Claim.benefit_code == benefit_code)
    if provider_id:
        query = query.where(Claim.provider_id == provider_id)
    if reason:
        query = query.where(Claim.reasons.contains(reason, autoescape=True))
    if since is not None:
        query = query.where(Claim.recorded_on >= since)
    if member_no:
        query = query.where(Claim.member_no == member_no.strip())
    if overridden is not None:
        query = query.where(Claim.overridden.is_(overridden))
    query = query.order_by(_QUEUE_ORDER, Claim.recorded_on.desc(), Claim.id.desc())
    return paginate(session, query, page, per_page)


def claim_by_ref(session, scheme, claim_ref: str) -> Claim | None:
    """One claim of the scheme by its reference."""
    return session.scalar(select(Claim).where(Claim.scheme_id == scheme.id, Claim.claim_ref == claim_ref))


def decisions_of(session, claim: Claim) -> list[ClaimDecision]:
    """Every decision of a claim, oldest first (the automatic one, then overrides)."""
    return list(
        session.scalars(
            select(ClaimDecision)
            .where(ClaimDecision.claim_id == claim.id)
            .options(selectinload(ClaimDecision.actor))
            .order_by(ClaimDecision.seq)
        )
    )


@dataclass
class ProviderFigures:
    """A provider's claims and money: approved (paying claims), paid, and outstanding (approved, not paid)."""

    provider: Provider
    claims: int = 0
    approved: Decimal = ZERO
    paid: Decimal = ZERO

    @property
    def outstanding(self) -> Decimal:
        """Approved and not yet paid."""
        return self.approved - self.paid


def _figures_query(scheme):
    """Per provider: claim count, Σ approved of paying claims, Σ of those paid — one aggregate."""
    paying = Claim.status.in_(sorted(PAYING_STATUSES))
    return (
        select(
            Claim.provider_id,
            func.count(),
            func.sum(case((paying, Claim.amount_approved), else_=None)),
            func.sum(case((paying & Claim.paid_on.isnot(None), Claim.amount_approved), else_=None)),
        )
        .where(Claim.scheme_id == scheme.id, Claim.provider_id.isnot(None))
        .group_by(Claim.provider_id)
    )


def provider_figures(session, scheme, provider: Provider | None = None) -> list[ProviderFigures]:
    """Every provider of the scheme (or one) with its figures, in code order."""
    providers = list(
        session.scalars(
            select(Provider)
            .where(Provider.scheme_id == scheme.id)
            .options(selectinload(Provider.tariffs))
            .order_by(Provider.code)
        )
    )
    if provider is not None:
        providers = [p for p in providers if p.id == provider.id]
    query = _figures_query(scheme)
    if provider is not None:
        query = query.where(Claim.provider_id == provider.id)
    sums = {pid: (count, approved or ZERO, paid or ZERO) for pid, count, approved, paid in session.execute(query)}
    return [ProviderFigures(p, *sums.get(p.id, (0, ZERO, ZERO))) for p in providers]


def provider_claims(session, provider: Provider, *, limit: int = 200) -> list[Claim]:
    """A provider's most recent claims."""
    return list(
        session.scalars(
            select(Claim)
            .where(Claim.provider_id == provider.id)
            .order_by(Claim.date_of_service.desc(), Claim.claim_ref)
            .limit(limit)
        )
    )


def approved_unpaid(session, provider: Provider) -> list[Claim]:
    """A provider's claims that pay, are not paid and are in no batch: what a new batch would gather."""
    return list(
        session.scalars(
            select(Claim)
            .where(
                Claim.provider_id == provider.id,
                Claim.status.in_(sorted(PAYING_STATUSES)),
                Claim.paid_on.is_(None),
                Claim.batch_id.is_(None),
            )
            .order_by(Claim.claim_ref)
        )
    )


@dataclass
class BatchRow:
    """A payment batch with its claim count and total."""

    batch: PaymentBatch
    claims: int
    total: Decimal


def batches(session, scheme, provider: Provider | None = None, *, page: int | None = None) -> list[BatchRow] | Paged:
    """The scheme's payment batches (newest first) with counts and totals: one aggregate query; with ``page``,
    that page of them (BATCHES_PAGE a page) and their count."""
    query = (
        select(PaymentBatch, func.count(Claim.id), func.sum(Claim.amount_approved))
        .outerjoin(Claim, Claim.batch_id == PaymentBatch.id)
        .where(PaymentBatch.scheme_id == scheme.id)
        .options(selectinload(PaymentBatch.provider))
        .group_by(PaymentBatch.id)
        .order_by(PaymentBatch.id.desc())
    )
    if provider is not None:
        query = query.where(PaymentBatch.provider_id == provider.id)
    if page is not None:
        paged = paginate(session, query, page, BATCHES_PAGE, scalars=False)
        paged.items = [BatchRow(batch, count, total or ZERO) for batch, count, total in paged.items]
        return paged
    return [BatchRow(batch, count, total or ZERO) for batch, count, total in session.execute(query)]


def batch_claims(session, batch: PaymentBatch) -> list[Claim]:
    """The claims of a batch in claim_ref order, with their persons (for the printed list)."""
    return list(
        session.scalars(
            select(Claim)
            .where(Claim.batch_id == batch.id)
            .options(selectinload(Claim.person))
            .order_by(Claim.claim_ref)
        )
    )
