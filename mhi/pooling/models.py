"""Pool settlements: drafts that can be recomputed, and closed ones that are kept forever."""

from __future__ import annotations

import datetime as dt
from datetime import datetime
from decimal import Decimal

from sqlalchemy import JSON, CheckConstraint, ForeignKey, String, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mhi.core.db import Money, db


class PoolSettlement(db.Model):
    """One settlement of a federation's pool over [period_from, period_to] (pooling.md).

    ``result`` holds the settlement JSON exactly as reported (amounts as strings), so a closed settlement shows
    the numbers it was closed with even if later imports change the schemes' figures.
    """

    __tablename__ = "pool_settlement"
    __table_args__ = (
        CheckConstraint("status IN ('draft','closed')", name="status_known"),
        CheckConstraint("period_from <= period_to", name="period_ordered"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    federation_id: Mapped[int] = mapped_column(ForeignKey("federation.id"), index=True)
    period_from: Mapped[dt.date]
    period_to: Mapped[dt.date]
    status: Mapped[str] = mapped_column(String(10), default="draft")
    opening_balance: Mapped[Decimal] = mapped_column(Money())
    closing_balance: Mapped[Decimal] = mapped_column(Money())
    result: Mapped[dict] = mapped_column(JSON)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    closed_at: Mapped[datetime | None]
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    federation = relationship("Federation")
