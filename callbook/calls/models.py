"""Tables of the call book: one row per call, its ordered events, its motives."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from callbook.db import Base

REPORTED = ("direction", "route", "in_hours", "answered_at")
"""Columns of a call that reports read besides its start and structure (see migration 0003)."""


class Call(Base):
    """A call, keyed by Twilio's CallSid; `state` is the flow's server-side state."""

    __tablename__ = "calls"
    __table_args__ = (
        Index("ix_calls_open", "ended_at", "started_at"),
        # Reports and exports of a period (migration 0003): every column a report
        # reads, so the database answers from the index without the wide rows.
        Index(
            "ix_calls_period",
            "started_at",
            "structure",
            *REPORTED,
            postgresql_include=["id"],
        ),
        Index(
            "ix_calls_structure_period",
            "structure",
            "started_at",
            *REPORTED,
            postgresql_include=["id"],
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    call_sid: Mapped[str] = mapped_column(String(34), unique=True)
    direction: Mapped[str] = mapped_column(String(20), default="inbound")
    from_number: Mapped[str] = mapped_column(String(64), default="")
    to_number: Mapped[str] = mapped_column(String(64), default="")
    contact: Mapped[str] = mapped_column(String(200), default="")
    structure: Mapped[str] = mapped_column(String(64), default="")
    revision: Mapped[int | None]
    status: Mapped[str] = mapped_column(String(20), default="in-progress")
    route: Mapped[str] = mapped_column(String(20), default="")
    answered_by: Mapped[str] = mapped_column(String(64), default="")
    in_hours: Mapped[bool | None]
    urgent: Mapped[bool] = mapped_column(default=False)
    started_at: Mapped[datetime]
    answered_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    duration: Mapped[int | None]
    callback_at: Mapped[datetime | None]
    state: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    dialing: Mapped[list[str]] = mapped_column(JSON, default=list)
    ringing_until: Mapped[datetime | None]
    """When the leg dialled last stops ringing: the dial's moment plus its ring timeout."""
    last_request_key: Mapped[str] = mapped_column(String(32), default="")
    last_response: Mapped[str] = mapped_column(Text, default="")
    note: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime]

    events: Mapped[list[CallEvent]] = relationship(
        back_populates="call", order_by="CallEvent.seq", cascade="all, delete-orphan"
    )
    motives: Mapped[list[CallMotive]] = relationship(
        back_populates="call", order_by="CallMotive.position", cascade="all, delete-orphan"
    )


class CallEvent(Base):
    __tablename__ = "call_events"
    __table_args__ = (UniqueConstraint("call_id", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"))
    seq: Mapped[int]
    at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(40))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    call: Mapped[Call] = relationship(back_populates="events")


class CallMotive(Base):
    """One line of the "Historique des sollicitations": a call may have several."""

    __tablename__ = "call_motives"
    __table_args__ = (
        UniqueConstraint("call_id", "position"),
        Index("ix_call_motives_call_motive", "call_id", "motive", "family"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"))
    position: Mapped[int]
    motive: Mapped[str] = mapped_column(String(64))
    family: Mapped[str] = mapped_column(String(20))
    channel: Mapped[str] = mapped_column(String(16))

    call: Mapped[Call] = relationship(back_populates="motives")


def _instant(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def call_as_dict(call: Call) -> dict[str, Any]:
    """A call as JSON-able data (the JSON API, a subject-access export): the book's
    facts, its motives and events, not the flow's internal state."""
    return {
        "call_sid": call.call_sid,
        "direction": call.direction,
        "from": call.from_number,
        "to": call.to_number,
        "contact": call.contact,
        "structure": call.structure,
        "revision": call.revision,
        "status": call.status,
        "route": call.route,
        "answered_by": call.answered_by,
        "in_hours": call.in_hours,
        "urgent": call.urgent,
        "started_at": _instant(call.started_at),
        "answered_at": _instant(call.answered_at),
        "ended_at": _instant(call.ended_at),
        "duration": call.duration,
        "callback_at": _instant(call.callback_at),
        "note": call.note,
        "motives": [
            {"position": m.position, "motive": m.motive, "family": m.family, "channel": m.channel}
            for m in call.motives
        ],
        "events": [
            {"seq": e.seq, "at": _instant(e.at), "kind": e.kind, "data": e.data}
            for e in call.events
        ],
    }
