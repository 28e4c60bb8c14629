"""A scheme's meetings (general assemblies and board meetings) and the resolutions they voted.

A meeting is a record of what happened: it is recorded once, with its attendance and its resolutions, and not
edited afterwards (a mistake is corrected by recording the meeting again and saying so in its notes). Whether the
quorum was reached and whether a resolution was adopted are decided when it is recorded (``services``) and kept,
so a later change of the scheme's quorum rule does not rewrite history.
"""

from __future__ import annotations

import datetime as dt
from datetime import datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mhi.core.db import Rate, db

MEETING_KINDS = ("general_assembly", "board")


class Meeting(db.Model):
    """One general assembly or board meeting of a scheme."""

    __tablename__ = "meeting"
    __table_args__ = (
        CheckConstraint("kind IN ('general_assembly','board')", name="kind_known"),
        CheckConstraint("members_entitled > 0", name="entitled_positive"),
        CheckConstraint("attendance >= 0 AND attendance <= members_entitled", name="attendance_in_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    scheme_id: Mapped[int] = mapped_column(ForeignKey("scheme.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    held_on: Mapped[dt.date]
    place: Mapped[str] = mapped_column(String(200), default="")
    members_entitled: Mapped[int]
    attendance: Mapped[int]
    quorum_share: Mapped[Decimal] = mapped_column(Rate())  # the scheme's rule on the day it was recorded
    quorum_reached: Mapped[bool]
    notes: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())

    resolutions = relationship(
        "Resolution", back_populates="meeting", order_by="Resolution.position", cascade="all, delete-orphan"
    )


class Resolution(db.Model):
    """A resolution put to the vote at a meeting: its text, the votes and whether it was adopted."""

    __tablename__ = "resolution"
    __table_args__ = (
        UniqueConstraint("meeting_id", "position"),
        CheckConstraint("votes_for >= 0 AND votes_against >= 0 AND votes_abstain >= 0", name="votes_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id"), index=True)
    position: Mapped[int]
    text: Mapped[str] = mapped_column(Text)
    votes_for: Mapped[int]
    votes_against: Mapped[int]
    votes_abstain: Mapped[int]
    adopted: Mapped[bool]

    meeting = relationship("Meeting", back_populates="resolutions")
