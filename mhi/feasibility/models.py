"""Saved feasibility studies: the input as the promoter typed it and the result of its last run."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mhi.core.db import db


class Study(db.Model):
    """A feasibility study (feasibility.md), optionally attached to a scheme."""

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    scheme_id: Mapped[int | None] = mapped_column(ForeignKey("scheme.id"), index=True)
    federation_id: Mapped[int | None] = mapped_column(ForeignKey("federation.id"), index=True)
    input: Mapped[dict] = mapped_column(JSON)
    result: Mapped[dict | None] = mapped_column(JSON)
    run_at: Mapped[datetime | None]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())

    scheme = relationship("Scheme")
