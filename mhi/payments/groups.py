"""Group payers (issue 14): a self-help group, cooperative, GIE, employer or sponsor abroad paying for its member
households at once.

One group payment is split over the households as the treasurer lists it, evenly, or in proportion to what each
owes on the payment's day (the arrears of contributions.md §6, from the rules engine); even and owed splits go
through ``split_cumulative`` (mhi/core/money.py), whose parts always add up to the whole. A listed split that does
not add up is refused with the difference. Each part becomes a receipt of its household, linked to the payment
by a ``GroupPaymentPart``; the households' coverage is refreshed once. Services flush, never commit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from mhi.contributions.models import Receipt
from mhi.contributions.services import (
    N_,
    ContributionError,
    check_payment_source,
    iter_ledgers,
    receipt_numbers,
    refresh_households,
)
from mhi.core import validation as v
from mhi.core.audit import record
from mhi.core.errors import UserError
from mhi.core.money import split_cumulative
from mhi.core.tabular import bulk_insert
from mhi.core.validation import FieldError
from mhi.members.models import Household
from mhi.payments.models import PAYER_KINDS, SPLITS, GroupMember, GroupPayer, GroupPayment, GroupPaymentPart
from mhi.schemes.models import Scheme

PAYER_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9/_.-]{0,39}$")


class GroupError(UserError):
    """A group or group payment that cannot be accepted: an English template marked for translation, its
    parameters, and the form field it concerns (the view translates ``message`` with ``params``)."""


def create_payer(
    session, scheme: Scheme, *, code: str, name: str, kind: str, phone: str = "", actor=None
) -> GroupPayer:
    """A new group payer of the scheme (audited)."""
    code = (code or "").strip()
    if not PAYER_CODE.match(code):
        raise GroupError(N_("%(code)s is not a valid code (letters, digits, / _ . -, at most 40)."), "code", code=code)
    name = (name or "").strip()
    if not name or len(name) > 200:
        raise GroupError(N_("The group's name is required (at most 200 characters)."), "name")
    if kind not in PAYER_KINDS:
        raise GroupError(N_("Unknown kind of payer %(kind)s."), "kind", kind=kind)
    taken = session.scalar(select(GroupPayer.id).where(GroupPayer.scheme_id == scheme.id, GroupPayer.code == code))
    if taken is not None:
        raise GroupError(N_("The code %(code)s is already used in this scheme."), "code", code=code)
    payer = GroupPayer(scheme_id=scheme.id, code=code, name=name, kind=kind, phone=(phone or "").strip()[:40])
    session.add(payer)
    session.flush()
    record(
        session,
        actor=actor,
        entity="group_payer",
        entity_id=payer.id,
        scheme_id=scheme.id,
        action="create",
        after={"code": code, "name": name, "kind": kind},
    )
    return payer


def set_member(session, payer: GroupPayer, household: Household, *, active: bool, actor=None) -> None:
    """Add ``household`` to the group (again), or take it out (the row stays: past payments name it)."""
    if household.scheme_id != payer.scheme_id:
        raise GroupError(N_("That household is not in this scheme."), "household")
    member = session.scalar(
        select(GroupMember).where(GroupMember.payer_id == payer.id, GroupMember.household_id == household.id)
    )
    if member is None:
        if not active:
            return
        member = GroupMember(payer_id=payer.id, household_id=household.id, active=True)
        session.add(member)
    elif member.active == active:
        return
    member.active = active
    session.flush()
    record(
        session,
        actor=actor,
        entity="group_payer",
        entity_id=payer.id,
        scheme_id=payer.scheme_id,
        action="add_member" if active else "remove_member",
        after={"household": household.ref},
    )


def member_households(session, payer: GroupPayer) -> list[Household]:
    """The group's current member households, by reference."""
    return list(
        session.scalars(
            select(Household)
            .join(GroupMember, GroupMember.household_id == Household.id)
            .where(GroupMember.payer_id == payer.id, GroupMember.active.is_(True))
            .order_by(Household.ref)
        )
    )


def owed_on(session, scheme: Scheme, household_ids: list[int], day: date) -> dict[int, Decimal]:
    """What each household owes on ``day``: its arrears (contributions.md §6), from the engine, in batches."""
    return {hid: ledger.amounts(day, day).arrears_at_T for hid, ledger in iter_ledgers(session, scheme, household_ids)}


@dataclass(frozen=True)
class SplitPart:
    """One household's part of a payment."""

    household_id: int
    amount: Decimal


def split_payment(
    session, scheme: Scheme, households: list[Household], total: Decimal, split: str, day: date, listed=None
) -> list[SplitPart]:
    """The parts of ``total`` over ``households`` (``listed``: {household id: amount} for a listed split); a part
    of 0 (an even split of too little, or a household owing nothing) makes no receipt."""
    if split not in SPLITS:
        raise GroupError(N_("Unknown way of splitting %(split)s."), "split", split=split)
    if not households:
        raise GroupError(N_("The group has no member household to pay for."), "split")
    ids = [h.id for h in households]
    if split == "listed":
        listed = listed or {}
        strangers = sorted(set(listed) - set(ids))
        if strangers:
            raise GroupError(N_("A listed household is not a member of the group."), "parts")
        parts = [SplitPart(hid, listed[hid]) for hid in ids if listed.get(hid)]
        added = sum((p.amount for p in parts), Decimal(0))
        if added != total:
            raise GroupError(
                N_("The parts add up to %(parts)s but the payment is %(total)s: a difference of %(difference)s."),
                "parts",
                parts=added,
                total=total,
                difference=total - added,
            )
        return parts
    if split == "even":
        shares = [Decimal(1) / len(ids)] * len(ids)
    else:
        owed = owed_on(session, scheme, ids, day)
        owed_total = sum(owed.values(), Decimal(0))
        if owed_total <= 0:
            raise GroupError(
                N_("No member household owes anything on that day: list the parts or split evenly."), "split"
            )
        shares = [owed[hid] / owed_total for hid in ids]
    amounts = split_cumulative(total, shares, scheme.currency)
    # Cumulative rounding ends on round(total × Σ shares) = total; a shortfall can only come from the shares'
    # last decimal, and goes to the last part so the parts are the payment.
    amounts[-1] += total - sum(amounts, Decimal(0))
    return [SplitPart(hid, amount) for hid, amount in zip(ids, amounts, strict=True) if amount > 0]


def record_group_payment(
    session,
    payer: GroupPayer,
    *,
    date,
    amount,
    split: str,
    method: str = "cash",
    operator: str | None = None,
    transaction_id: str | None = None,
    listed: dict[int, object] | None = None,
    actor=None,
) -> GroupPayment:
    """Record one payment of ``payer`` and its receipts (one per household with a part); all or nothing."""
    scheme = session.get(Scheme, payer.scheme_id)
    try:
        total = v.amount(amount, scheme.currency, positive=True)
        day = v.day(date)
    except FieldError as exc:
        raise GroupError.of(exc, "amount") from exc
    typed_parts = {}
    for hid, value in (listed or {}).items():
        if value in (None, ""):
            continue
        try:
            typed_parts[hid] = v.amount(value, scheme.currency)
        except FieldError as exc:
            raise GroupError.of(exc, "parts") from exc
    try:
        method, operator, transaction_id = check_payment_source(session, scheme, method, operator, transaction_id)
    except ContributionError as exc:
        raise GroupError(exc.message, exc.field, **exc.params) from exc
    if operator is not None:
        _refuse_used_group_transaction(session, scheme, operator, transaction_id)
    parts = split_payment(session, scheme, member_households(session, payer), total, split, day, typed_parts)
    payment = GroupPayment(
        scheme_id=scheme.id,
        payer_id=payer.id,
        date=day,
        amount=total,
        method=method,
        operator=operator,
        transaction_id=transaction_id,
        split=split,
        created_by_id=getattr(actor, "id", None),
    )
    try:
        with session.begin_nested():
            session.add(payment)
    except IntegrityError as exc:
        raise GroupError(
            N_("Transaction %(tx)s of %(operator)s is already recorded."), "transaction_id", tx=transaction_id,
            operator=operator,
        ) from exc  # fmt: skip
    receipt_ids = _insert_receipts(session, scheme, payer, payment, parts, actor)
    bulk_insert(
        session,
        GroupPaymentPart.__table__,
        [
            {"payment_id": payment.id, "household_id": part.household_id, "amount": part.amount, "receipt_id": rid}
            for part, rid in zip(parts, receipt_ids, strict=True)
        ],
    )
    record(
        session,
        actor=actor,
        entity="group_payment",
        entity_id=payment.id,
        scheme_id=scheme.id,
        action="record",
        after={
            "payer": payer.code,
            "date": day,
            "amount": total,
            "split": split,
            "method": method,
            "operator": operator,
            "transaction_id": transaction_id,
            "households": len(parts),
        },
    )
    refresh_households(session, scheme, [part.household_id for part in parts])
    return payment


def _refuse_used_group_transaction(session, scheme: Scheme, operator: str, transaction_id: str) -> None:
    """GroupError when a group payment of the scheme already carries (operator, transaction id)."""
    used = session.scalar(
        select(GroupPayment.id).where(
            GroupPayment.scheme_id == scheme.id,
            GroupPayment.operator == operator,
            GroupPayment.transaction_id == transaction_id,
        )
    )
    if used is not None:
        raise GroupError(
            N_("Transaction %(tx)s of %(operator)s is already recorded."), "transaction_id", tx=transaction_id,
            operator=operator,
        )  # fmt: skip


def _insert_receipts(session, scheme, payer, payment, parts: list[SplitPart], actor) -> list[int]:
    """One receipt per part, numbered from the scheme's receipt counter (core/numbering.py). The receipts name the
    operator; the transaction id is the payment's (one id, many receipts)."""
    numbers = receipt_numbers(session, scheme.id, [payment.date] * len(parts))
    return bulk_insert(
        session,
        Receipt.__table__,
        [
            {
                "scheme_id": scheme.id,
                "household_id": part.household_id,
                "receipt_no": number,
                "date": payment.date,
                "amount": part.amount,
                "method": payment.method,
                "collector": payer.name[:120],
                "operator": payment.operator,
                "transaction_id": None,
                "reason": "",
                "created_by_id": getattr(actor, "id", None),
            }
            for part, number in zip(parts, numbers, strict=True)
        ],
        return_ids=True,
    )


@dataclass(frozen=True)
class GroupLine:
    """One household's part of one payment, for the group's statement."""

    payment_id: int
    date: date
    payment_amount: Decimal
    method: str
    operator: str | None
    transaction_id: str | None
    household_ref: str
    amount: Decimal
    receipt_no: str


def group_lines(session, payer: GroupPayer, date_from: date, date_to: date) -> list[GroupLine]:
    """What the group paid in [F, T] and for whom: one line per part, by payment date then household."""
    rows = session.execute(
        select(
            GroupPayment.id,
            GroupPayment.date,
            GroupPayment.amount,
            GroupPayment.method,
            GroupPayment.operator,
            GroupPayment.transaction_id,
            Household.ref,
            GroupPaymentPart.amount,
            Receipt.receipt_no,
        )  # fmt: skip
        .join(GroupPaymentPart, GroupPaymentPart.payment_id == GroupPayment.id)
        .join(Household, Household.id == GroupPaymentPart.household_id)
        .join(Receipt, Receipt.id == GroupPaymentPart.receipt_id)
        .where(GroupPayment.payer_id == payer.id, GroupPayment.date.between(date_from, date_to))
        .order_by(GroupPayment.date, GroupPayment.id, Household.ref)
    ).all()
    return [GroupLine(*row) for row in rows]
