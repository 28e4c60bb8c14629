"""Precomputed contribution ledgers for the reports (derived data, rebuilt from the register at will).

The amounts of contributions.md §6 for any period [F, T] are sums over each household's due periods. Running the
contributions engine over a large register for every report is slow (about half a millisecond per household),
so ``mhi.reports.ledgers`` stores each household's due periods once — start, end, gross due, member due, the
cumulative member dues and the day they were paid — and the report sums them in SQL. The rows are refreshed
when a household's inputs change (a fingerprint of its register and receipt rows, compared in SQL) or when a
report asks past the horizon they were generated to. Nothing here is a record: deleting both tables loses no
information.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from mhi.core.db import Money, db


class ReportHousehold(db.Model):
    """One household's ledger summary: registration fee split, the fingerprint of its inputs, the horizon."""

    __tablename__ = "report_household"

    household_id: Mapped[int] = mapped_column(ForeignKey("household.id", ondelete="CASCADE"), primary_key=True)
    scheme_id: Mapped[int] = mapped_column(ForeignKey("scheme.id"), index=True)
    enrolment: Mapped[dt.date]
    registration_fee: Mapped[Decimal] = mapped_column(Money())  # R
    registration_member: Mapped[Decimal] = mapped_column(Money())  # r, the member part (contributions.md §2)
    exit_date: Mapped[dt.date | None]  # as the engine derived them (contributions.md §5, data-formats.md)
    strike_off_date: Mapped[dt.date | None]
    fingerprint: Mapped[str] = mapped_column(String(400))
    horizon: Mapped[dt.date]  # periods starting on or before this day are stored


class ReportPeriod(db.Model):
    """One due period k of a household (contributions.md §1–§3) with what the §6 sums need."""

    __tablename__ = "report_period"
    __table_args__ = (
        Index("ix_report_period_scheme_start", "scheme_id", "start"),
        Index("ix_report_period_household", "household_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    scheme_id: Mapped[int] = mapped_column(ForeignKey("scheme.id"))
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id", ondelete="CASCADE"))
    start: Mapped[dt.date]
    end: Mapped[dt.date]
    days: Mapped[int]  # end − start
    gross: Mapped[Decimal] = mapped_column(Money())  # g_k
    member_due: Mapped[Decimal] = mapped_column(Money())  # d_k
    cumulative: Mapped[Decimal] = mapped_column(Money())  # r + d_0 + … + d_k
    paid_on: Mapped[dt.date | None]  # first day C(D) ≥ cumulative (receipts before strike-off); None if never


class ReportScheme(db.Model):
    """A scheme's register signature when its stored ledgers were last checked: a report whose signature
    still matches skips the household-by-household check (``mhi.reports.ledgers.refresh``)."""

    __tablename__ = "report_scheme"

    scheme_id: Mapped[int] = mapped_column(ForeignKey("scheme.id", ondelete="CASCADE"), primary_key=True)
    signature: Mapped[str] = mapped_column(String(400))
    horizon: Mapped[dt.date]  # the earliest horizon of the scheme's stored households
