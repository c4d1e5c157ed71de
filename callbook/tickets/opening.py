"""Tickets from voicemails: open, merge into an open request, complete later.

Every entry point is idempotent by RecordingSid and order-independent: the
recording-status and transcription callbacks may come before or after the
Record action, once or several times; so may the pieces of a real-time
transcription (`callbook.tickets.transcripts`), which the message takes up
when it is written.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from callbook.tickets import OPEN_STATUSES, Callback, Ticket, TicketHistory, TicketMessage
from callbook.tickets.transcripts import transcript_of


@dataclass(frozen=True, slots=True)
class NewVoicemail:
    recording_sid: str
    recording_url: str
    duration: int
    call_sid: str
    caller: str
    contact: str
    structure: str
    motive: str
    family: str
    priority: str
    urgent: bool
    deadline_at: datetime | None


def add_history(
    session: Session, ticket: Ticket, actor: str, action: str, detail: dict[str, Any], now: datetime
) -> None:
    session.add(TicketHistory(ticket=ticket, at=now, actor=actor, action=action, detail=detail))


def _new_number(session: Session) -> str:
    """Six digits, no leading zero (said digit by digit to the caller)."""
    while True:
        number = str(100_000 + secrets.randbelow(900_000))
        if session.scalar(select(Ticket.id).where(Ticket.number == number)) is None:
            return number


def message(session: Session, recording_sid: str, now: datetime) -> TicketMessage:
    found = session.scalars(
        select(TicketMessage).where(TicketMessage.recording_sid == recording_sid)
    ).one_or_none()
    if found is None:
        found = TicketMessage(recording_sid=recording_sid, created_at=now)
        session.add(found)
        session.flush()
    return found


def open_ticket_for(session: Session, caller: str, contact: str, since: datetime) -> Ticket | None:
    """The caller's most recent open ticket opened since `since`, by number or contact."""
    same = [Ticket.caller_number == caller] if caller else []
    if contact:
        same.append(Ticket.contact == contact)
    if not same:
        return None
    return session.scalars(
        select(Ticket)
        .where(Ticket.status.in_(OPEN_STATUSES), Ticket.created_at >= since, or_(*same))
        .order_by(Ticket.created_at.desc(), Ticket.id.desc())
        .limit(1)
    ).first()


def open_or_attach(
    session: Session, voicemail: NewVoicemail, *, merge_since: datetime, now: datetime
) -> tuple[Ticket, bool]:
    """(ticket, merged): a new ticket, or the caller's open one with a new message."""
    msg = message(session, voicemail.recording_sid, now)
    msg.recording_url = voicemail.recording_url or msg.recording_url
    msg.duration = voicemail.duration or msg.duration
    msg.call_sid = voicemail.call_sid
    if not msg.transcription:  # the real-time transcription may have come first
        msg.transcription = transcript_of(session, voicemail.call_sid)
    if msg.ticket is not None:
        return msg.ticket, False  # the same Record action, again
    existing = open_ticket_for(session, voicemail.caller, voicemail.contact, merge_since)
    if existing is not None:
        msg.ticket = existing
        existing.updated_at = now
        if voicemail.urgent and not existing.urgent:
            existing.urgent, existing.priority = True, "urgent"
        add_history(
            session,
            existing,
            "system",
            "merged",
            {"recording": voicemail.recording_sid, "call": voicemail.call_sid},
            now,
        )
        return existing, True
    ticket = Ticket(
        number=_new_number(session),
        caller_number=voicemail.caller,
        contact=voicemail.contact,
        structure=voicemail.structure,
        motive=voicemail.motive,
        family=voicemail.family,
        priority=voicemail.priority,
        status="new",
        call_sid=voicemail.call_sid,
        urgent=voicemail.urgent,
        created_at=now,
        updated_at=now,
        deadline_at=voicemail.deadline_at,
    )
    session.add(ticket)
    msg.ticket = ticket
    add_history(session, ticket, "system", "created", {"recording": voicemail.recording_sid}, now)
    session.flush()
    return ticket, False


def complete_recording(
    session: Session, recording_sid: str, url: str, duration: int, call_sid: str, now: datetime
) -> TicketMessage:
    msg = message(session, recording_sid, now)
    changed = (url and url != msg.recording_url) or (duration and duration != msg.duration)
    msg.recording_url = url or msg.recording_url
    msg.duration = duration or msg.duration
    msg.call_sid = msg.call_sid or call_sid
    if not msg.transcription and msg.call_sid:
        msg.transcription = transcript_of(session, msg.call_sid)
    if changed and msg.ticket is not None:
        add_history(session, msg.ticket, "twilio", "recording", {"recording": recording_sid}, now)
    return msg


def add_transcription(
    session: Session, recording_sid: str, text: str, call_sid: str, now: datetime
) -> TicketMessage:
    msg = message(session, recording_sid, now)
    msg.call_sid = msg.call_sid or call_sid
    if text and text != msg.transcription:
        msg.transcription = text
        if msg.ticket is not None:
            add_history(
                session, msg.ticket, "twilio", "transcription", {"recording": recording_sid}, now
            )
    return msg


def ticket_by_number(session: Session, number: str) -> Ticket | None:
    return session.scalars(select(Ticket).where(Ticket.number == number)).one_or_none()


def schedule_callback(
    session: Session,
    ticket: Ticket | None,
    *,
    kind: str,
    caller: str,
    answering: str,
    agent_numbers: list[str],
    due_at: datetime,
    rank: int,
    call_sid: str,
    now: datetime,
) -> Callback:
    """A callback (or an urgent alert) to place; one pending per ticket and kind."""
    if ticket is not None:
        pending = session.scalars(
            select(Callback).where(
                Callback.ticket_id == ticket.id,
                Callback.kind == kind,
                Callback.status.in_(("pending", "claimed", "dialing")),
            )
        ).first()
        if pending is not None:
            return pending
    callback = Callback(
        kind=kind,
        ticket_id=ticket.id if ticket is not None else None,
        call_sid=call_sid,
        caller_number=caller,
        answering=answering,
        agent_numbers=agent_numbers,
        rank=rank,
        status="pending",
        due_at=due_at,
        created_at=now,
        updated_at=now,
    )
    session.add(callback)
    session.flush()
    if ticket is not None:
        add_history(
            session, ticket, "system", f"{kind}.scheduled",
            {"callback": callback.id, "due_at": due_at.isoformat()}, now,
        )  # fmt: skip
    return callback
