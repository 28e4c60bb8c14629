"""The payments pages' read side: statement lines with their household and receipt."""

from __future__ import annotations

from sqlalchemy import func, select

from mhi.contributions.models import Receipt
from mhi.members.models import Household
from mhi.payments.models import GroupMember, GroupPayer, GroupPayment, GroupPaymentPart, StatementLine

#: Lines shown on one page: the waiting ones are what a clerk works through.
LIMIT = 500


def statement_lines(session, scheme_id: int, statuses) -> list:
    """The scheme's lines of ``statuses``, oldest payment first, with the household ref and receipt number."""
    return session.execute(
        select(StatementLine, Household.ref.label("household_ref"), Receipt.receipt_no.label("receipt_no"))
        .outerjoin(Household, Household.id == StatementLine.household_id)
        .outerjoin(Receipt, Receipt.id == StatementLine.receipt_id)
        .where(StatementLine.scheme_id == scheme_id, StatementLine.status.in_(list(statuses)))
        .order_by(StatementLine.date, StatementLine.id)
        .limit(LIMIT)
    ).all()


def payers(session, scheme_id: int) -> list:
    """The scheme's group payers with their number of member households, by name."""
    members = (
        select(GroupMember.payer_id, func.count().label("households"))
        .where(GroupMember.active.is_(True))
        .group_by(GroupMember.payer_id)
        .subquery()
    )
    return session.execute(
        select(GroupPayer, func.coalesce(members.c.households, 0))
        .outerjoin(members, members.c.payer_id == GroupPayer.id)
        .where(GroupPayer.scheme_id == scheme_id)
        .order_by(GroupPayer.name, GroupPayer.id)
    ).all()


def group_payments(session, payer_id: int) -> list:
    """The group's payments, newest first, with how many households each paid for."""
    parts = (
        select(GroupPaymentPart.payment_id, func.count().label("households"))
        .group_by(GroupPaymentPart.payment_id)
        .subquery()
    )
    return session.execute(
        select(GroupPayment, func.coalesce(parts.c.households, 0))
        .outerjoin(parts, parts.c.payment_id == GroupPayment.id)
        .where(GroupPayment.payer_id == payer_id)
        .order_by(GroupPayment.date.desc(), GroupPayment.id.desc())
        .limit(LIMIT)
    ).all()
