"""Callers waiting in a team's Twilio queue, one row per wait.

A row is written when the caller is put in the queue (`<Enqueue>`) and
finished when the wait ends: bridged to a member, hung up (abandoned), taken
out at closing time or after the longest wait, or left on virtual hold with a
callback that keeps their place. The contact-centre figures read these rows.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from callbook.db import Base

WAITING = "waiting"
OUTCOMES = ("waiting", "bridged", "abandoned", "closing", "max_wait", "hold")
"""`waiting` while in the queue; how the wait ended afterwards."""


class QueueEntry(Base):
    __tablename__ = "queue_entries"
    __table_args__ = (
        Index("ix_queue_entries_team_outcome", "team", "outcome", "enqueued_at"),
        Index("ix_queue_entries_period", "enqueued_at", "team"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    call_sid: Mapped[str] = mapped_column(String(34), unique=True)
    team: Mapped[str] = mapped_column(String(64))
    """`hotline`, or a structure's key when that structure has its own queue."""
    caller_number: Mapped[str] = mapped_column(String(64), default="")
    enqueued_at: Mapped[datetime]
    position: Mapped[int] = mapped_column(default=0)
    """The place announced first (Twilio's QueuePosition)."""
    outcome: Mapped[str] = mapped_column(String(16), default=WAITING)
    ended_at: Mapped[datetime | None]
    wait_seconds: Mapped[int | None]
    agent_number: Mapped[str] = mapped_column(String(64), default="")
    agent_call_sid: Mapped[str] = mapped_column(String(34), default="")
    """The member's leg that bridged this caller; claimed so one caller gets one member."""
    claimed_at: Mapped[datetime | None]
    """When a member was claimed for this caller (`agent_number`)."""
    agent_ended_at: Mapped[datetime | None]
    """When the member's leg ended (or failed): the member is free again."""
    callback_id: Mapped[int | None] = mapped_column(ForeignKey("callbacks.id", ondelete="SET NULL"))
    """Virtual hold: the callback that keeps this caller's place."""
