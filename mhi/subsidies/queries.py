"""The funders' statement: per programme and per period, what is due (contributions.md §2: the programme parts
s_kp of each due period starting in it, and r_p of households enrolling in it), what was received (subsidy
receipts dated in it, reversals netted), what is still owed (everything due since the start, less everything
received, at the period's end) and how many households the programme paid for."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import func, select

from mhi.contributions.services import iter_ledgers
from mhi.core.dates import add_months
from mhi.schemes.models import SubsidyProgramme
from mhi.schemes.programmes import terms_on
from mhi.subsidies.models import SubsidyReceipt

PERIODS = {"month": 1, "quarter": 3, "year": 12}


@dataclass
class StatementLine:
    """One programme over one period."""

    start: date
    end: date  # inclusive
    due: Decimal = Decimal(0)
    received: Decimal = Decimal(0)
    owed: Decimal = Decimal(0)  # cumulative due − cumulative received at the period's end
    households: int = 0


@dataclass
class ProgrammeStatement:
    """A programme's lines, with its totals over the statement."""

    code: str
    funder: str
    share: Decimal  # in force at the statement's end (the programme's terms are dated)
    lines: list[StatementLine] = field(default_factory=list)

    @property
    def due(self) -> Decimal:
        return sum((line.due for line in self.lines), Decimal(0))

    @property
    def received(self) -> Decimal:
        return sum((line.received for line in self.lines), Decimal(0))


def _buckets(date_from: date, date_to: date, months: int) -> list[tuple[date, date]]:
    """[start, end] periods of ``months`` months from ``date_from``, the last cut at ``date_to``."""
    buckets = []
    k = 0
    while True:
        start = add_months(date_from, k * months)
        if start > date_to:
            return buckets
        end = min(add_months(date_from, (k + 1) * months) - timedelta(days=1), date_to)
        buckets.append((start, end))
        k += 1


def programme_statement(
    session, scheme, date_from: date, date_to: date, *, period: str = "month"
) -> list[ProgrammeStatement]:
    """Every programme of ``scheme``: due, received, owed and households per period of [date_from, date_to]."""
    buckets = _buckets(date_from, date_to, PERIODS[period])
    starts = [start for start, _ in buckets]
    programmes = list(
        session.scalars(
            select(SubsidyProgramme)
            .where(SubsidyProgramme.scheme_id == scheme.id)
            .order_by(SubsidyProgramme.position, SubsidyProgramme.id)
        )
    )
    due_before: dict[str, Decimal] = defaultdict(Decimal)
    due: dict[tuple[str, int], Decimal] = defaultdict(Decimal)
    households: dict[tuple[str, int], set[int]] = defaultdict(set)

    def bucket_of(day: date) -> int | None:
        if day < date_from or day > date_to:
            return None
        index = 0
        while index + 1 < len(starts) and starts[index + 1] <= day:
            index += 1
        return index

    def add(code: str, day: date, amount: Decimal, hid: int) -> None:
        if day < date_from:
            due_before[code] += amount
            return
        index = bucket_of(day)
        if index is not None:
            due[(code, index)] += amount
            if amount:
                households[(code, index)].add(hid)

    for hid, ledger in iter_ledgers(session, scheme):
        _, registration_parts = ledger.registration_split
        for code, part in registration_parts:
            add(code, ledger.enrolment, part, hid)
        for p in ledger.periods_until(date_to):
            for code, part in p.subsidies:
                add(code, p.start, part, hid)

    received_before = dict(
        session.execute(
            select(SubsidyProgramme.code, func.sum(SubsidyReceipt.amount))
            .join(SubsidyProgramme, SubsidyProgramme.id == SubsidyReceipt.programme_id)
            .where(SubsidyReceipt.scheme_id == scheme.id, SubsidyReceipt.date < date_from)
            .group_by(SubsidyProgramme.code)
        ).all()
    )
    received: dict[tuple[str, int], Decimal] = defaultdict(Decimal)
    for code, day, amount in session.execute(
        select(SubsidyProgramme.code, SubsidyReceipt.date, SubsidyReceipt.amount)
        .join(SubsidyProgramme, SubsidyProgramme.id == SubsidyReceipt.programme_id)
        .where(SubsidyReceipt.scheme_id == scheme.id, SubsidyReceipt.date.between(date_from, date_to))
    ):
        received[(code, bucket_of(day))] += amount

    statements = []
    for programme in programmes:
        owed = due_before[programme.code] - (received_before.get(programme.code) or Decimal(0))
        statement = ProgrammeStatement(programme.code, programme.funder, terms_on(programme, date_to).share)
        for index, (start, end) in enumerate(buckets):
            key = (programme.code, index)
            owed += due[key] - received[key]
            statement.lines.append(StatementLine(start, end, due[key], received[key], owed, len(households[key])))
        statements.append(statement)
    return statements


def subsidy_receipts_between(session, scheme_id: int, date_from: date, date_to: date) -> list:
    """The subsidy receipts dated in [date_from, date_to] with their programme code, newest first, each with
    whether it is a reversal or has been reversed."""
    reversed_ids = select(SubsidyReceipt.reversal_of_id).where(SubsidyReceipt.reversal_of_id.isnot(None))
    return session.execute(
        select(
            SubsidyReceipt.id,
            SubsidyReceipt.reference,
            SubsidyReceipt.date,
            SubsidyReceipt.amount,
            SubsidyProgramme.code.label("programme"),
            SubsidyReceipt.reversal_of_id.isnot(None).label("is_reversal"),
            SubsidyReceipt.id.in_(reversed_ids).label("is_reversed"),
            SubsidyReceipt.reason,
        )
        .join(SubsidyProgramme, SubsidyProgramme.id == SubsidyReceipt.programme_id)
        .where(SubsidyReceipt.scheme_id == scheme_id, SubsidyReceipt.date.between(date_from, date_to))
        .order_by(SubsidyReceipt.date.desc(), SubsidyReceipt.id.desc())
    ).all()
