"""Right of access: everything the call book holds about one number, as JSON-able data.

The same rows as an erasure would touch (`callbook.privacy.erasure.plan`):
calls with their events and motive lines, tickets with their messages and
history, callbacks, and the recordings still waiting to be deleted at
Twilio. Instants are ISO 8601 in UTC.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from callbook.calls.models import Call, call_as_dict
from callbook.privacy import erasure
from callbook.privacy.recordings import waiting_for
from callbook.tickets import Callback, Ticket, TicketMessage


def _when(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def subject_access(session: Session, number: str) -> dict[str, Any]:
    """What is held about `number` (E.164): calls, tickets, callbacks, pending deletions."""
    found = erasure.plan(session, number)
    calls = session.scalars(
        select(Call)
        .where(Call.id.in_(found.calls))
        .options(selectinload(Call.events), selectinload(Call.motives))
        .order_by(Call.started_at, Call.id)
    ).all()
    tickets = session.scalars(
        select(Ticket)
        .where(Ticket.id.in_(found.tickets))
        .options(selectinload(Ticket.messages), selectinload(Ticket.history))
        .order_by(Ticket.created_at, Ticket.id)
    ).all()
    loose = session.scalars(
        select(TicketMessage)
        .where(TicketMessage.id.in_(found.messages), TicketMessage.ticket_id.is_(None))
        .order_by(TicketMessage.id)
    ).all()
    callbacks = session.scalars(
        select(Callback).where(Callback.id.in_(found.callbacks)).order_by(Callback.id)
    ).all()
    numbers = {ticket.id: ticket.number for ticket in tickets}
    return {
        "number": number,
        "calls": [call_as_dict(call) for call in calls],
        "tickets": [_ticket(ticket) for ticket in tickets],
        "messages_without_ticket": [_message(message) for message in loose],
        "callbacks": [_callback(callback, numbers) for callback in callbacks],
        "recordings_pending_deletion": [
            {
                "recording_sid": row.recording_sid,
                "reason": row.reason,
                "requested_at": _when(row.requested_at),
                "attempts": row.attempts,
            }
            for row in waiting_for(session, found.subject)
        ],
    }


def _ticket(ticket: Ticket) -> dict[str, Any]:
    return {
        "number": ticket.number,
        "caller_number": ticket.caller_number,
        "contact": ticket.contact,
        "structure": ticket.structure,
        "motive": ticket.motive,
        "family": ticket.family,
        "priority": ticket.priority,
        "status": ticket.status,
        "assignee": ticket.assignee,
        "call_sid": ticket.call_sid,
        "created_at": _when(ticket.created_at),
        "updated_at": _when(ticket.updated_at),
        "deadline_at": _when(ticket.deadline_at),
        "messages": [_message(message) for message in ticket.messages],
        "history": [
            {"at": _when(h.at), "actor": h.actor, "action": h.action, "detail": h.detail}
            for h in ticket.history
        ],
    }


def _message(message: TicketMessage) -> dict[str, Any]:
    return {
        "recording_sid": message.recording_sid,
        "recording_url": message.recording_url,
        "duration": message.duration,
        "transcription": message.transcription,
        "call_sid": message.call_sid,
        "created_at": _when(message.created_at),
    }


def _callback(callback: Callback, numbers: dict[int, str]) -> dict[str, Any]:
    return {
        "id": callback.id,
        "kind": callback.kind,
        "ticket": numbers.get(callback.ticket_id) if callback.ticket_id else None,
        "caller_number": callback.caller_number,
        "status": callback.status,
        "due_at": _when(callback.due_at),
        "attempts": callback.attempts,
        "call_sid": callback.call_sid,
        "created_at": _when(callback.created_at),
        "updated_at": _when(callback.updated_at),
    }
