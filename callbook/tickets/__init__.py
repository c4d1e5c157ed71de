"""Tables for what follows a call: tickets, their messages and history, callbacks."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from callbook.db import Base

OPEN_STATUSES = ("new", "assigned", "in_progress", "waiting")
CLOSED_STATUSES = ("resolved", "closed")
"""A ticket in one of these is finished: nobody is called back about it any more."""
TICKET_STATUSES = (*OPEN_STATUSES, *CLOSED_STATUSES)
PRIORITY_RANK = {"urgent": 0, "high": 1, "normal": 2, "low": 3}
LEVELS = ("local", "national")
"""Who handles a ticket: its structure's referents, or the national team once escalated."""
ESCALATION_NOTE_MAX = 2000


class Ticket(Base):
    """A request opened from a voicemail; `number` is said to the caller."""

    __tablename__ = "tickets"
    __table_args__ = (
        Index("ix_tickets_caller_open", "caller_number", "status"),
        Index("ix_tickets_deadline", "status", "deadline_at"),
        Index("ix_tickets_period", "created_at", "structure", "status", "deadline_at"),
        Index("ix_tickets_level", "level", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(6), unique=True)
    caller_number: Mapped[str] = mapped_column(String(64), default="")
    contact: Mapped[str] = mapped_column(String(200), default="")
    structure: Mapped[str] = mapped_column(String(64), default="")
    motive: Mapped[str] = mapped_column(String(64), default="")
    family: Mapped[str] = mapped_column(String(20), default="")
    priority: Mapped[str] = mapped_column(String(10), default="normal")
    status: Mapped[str] = mapped_column(String(12), default="new")
    assignee: Mapped[str] = mapped_column(String(64), default="")
    call_sid: Mapped[str] = mapped_column(String(34), default="")
    urgent: Mapped[bool] = mapped_column(default=False)
    flagged: Mapped[bool] = mapped_column(default=False)
    deadline_warned: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    deadline_at: Mapped[datetime | None]
    level: Mapped[str] = mapped_column(String(10), default="local", server_default="local")
    escalated_by: Mapped[str] = mapped_column(String(64), default="", server_default="")
    escalated_at: Mapped[datetime | None]
    escalation_note: Mapped[str] = mapped_column(
        String(ESCALATION_NOTE_MAX), default="", server_default=""
    )
    """The request as the referent reformulated it for the national team."""

    messages: Mapped[list[TicketMessage]] = relationship(
        back_populates="ticket", order_by="TicketMessage.id"
    )
    history: Mapped[list[TicketHistory]] = relationship(
        back_populates="ticket", order_by="TicketHistory.id", cascade="all, delete-orphan"
    )


class TicketMessage(Base):
    """One voicemail; keyed by RecordingSid so every callback about it is idempotent.

    `ticket_id` is empty while only a recording-status or transcription
    callback has arrived: the Record action links it (order-independent).
    """

    __tablename__ = "ticket_messages"
    __table_args__ = (Index("ix_ticket_messages_call_sid", "call_sid"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    recording_sid: Mapped[str] = mapped_column(String(34), unique=True)
    recording_url: Mapped[str] = mapped_column(String(500), default="")
    duration: Mapped[int] = mapped_column(default=0)
    transcription: Mapped[str] = mapped_column(Text, default="")
    call_sid: Mapped[str] = mapped_column(String(34), default="")
    created_at: Mapped[datetime]

    ticket: Mapped[Ticket | None] = relationship(back_populates="messages")


class TranscriptPiece(Base):
    """One final piece of a call's real-time transcription, once per (transcription, sequence).

    Pieces arrive before, with or after the voicemail's message row, in any
    order and sometimes twice; the message's text is rebuilt from them.
    """

    __tablename__ = "transcript_pieces"
    __table_args__ = (
        UniqueConstraint("transcription_sid", "sequence_id", name="uq_transcript_pieces_piece"),
        Index("ix_transcript_pieces_call_sid", "call_sid"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    call_sid: Mapped[str] = mapped_column(String(34))
    transcription_sid: Mapped[str] = mapped_column(String(34))
    sequence_id: Mapped[int]
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]


class TicketHistory(Base):
    __tablename__ = "ticket_history"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(40))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    ticket: Mapped[Ticket] = relationship(back_populates="history")


class Callback(Base):
    """A call to place later: ring `agent_numbers` first, then bridge `caller_number`.

    Claimed by exactly one dispatcher through a conditional UPDATE on `status`.
    `kind` is "callback" (asked by the caller) or "alert" (an urgent voicemail
    that alerts the on-call technician at once).
    """

    __tablename__ = "callbacks"
    __table_args__ = (
        Index("ix_callbacks_due", "status", "due_at", "rank"),
        Index("ix_callbacks_period", "created_at", "kind", "status", "due_at", "ticket_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10), default="callback")
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="SET NULL"))
    call_sid: Mapped[str] = mapped_column(String(34), default="")
    caller_number: Mapped[str] = mapped_column(String(64))
    answering: Mapped[str] = mapped_column(String(64), default="hotline")
    agent_numbers: Mapped[list[str]] = mapped_column(JSON, default=list)
    rank: Mapped[int] = mapped_column(default=2)
    status: Mapped[str] = mapped_column(String(12), default="pending")
    due_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(default=0)
    claimed_by: Mapped[str] = mapped_column(String(64), default="")
    claimed_at: Mapped[datetime | None]
    outbound_sid: Mapped[str] = mapped_column(String(34), default="")
    caller_notified: Mapped[bool] = mapped_column(default=False)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
