"""Card print jobs: a batch of member cards built in the background, its progress and its PDF kept in the
database, because the application runs under several workers and keeps no state in a process."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, String, Text, func
from sqlalchemy.orm import Mapped, deferred, mapped_column, relationship

from mhi.core.db import db

JOB_STATUSES = ("queued", "running", "done", "failed")


class CardJob(db.Model):
    """One request to print cards: its scope, who asked, how far the thread building it has got, the PDF."""

    __tablename__ = "card_job"
    __table_args__ = (
        CheckConstraint("status IN ('queued','running','done','failed')", name="status_known"),
        CheckConstraint("progress >= 0 AND total >= 0", name="counts_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    scheme_id: Mapped[int] = mapped_column(ForeignKey("scheme.id"), index=True)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    # {"kind": "household"|"village"|"since"|"all", "household_ref"?, "village"?, "since"? (ISO date)}
    scope: Mapped[dict] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(10), default="queued")
    progress: Mapped[int] = mapped_column(default=0)  # cards drawn so far
    total: Mapped[int] = mapped_column(default=0)  # cards to draw
    error: Mapped[str] = mapped_column(Text, default="")
    # Deferred: the job page polls the row every few seconds and must not drag megabytes of PDF along.
    pdf: Mapped[bytes | None] = deferred(mapped_column(db.LargeBinary))
    pdf_size: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]

    scheme = relationship("Scheme")
    requested_by = relationship("User")
