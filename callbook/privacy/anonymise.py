"""Blank the personal fields of chosen rows; the purge and the erasure both come here.

Rows that reports count keep their place: a ticket keeps its number,
structure, motive, priority and deadline; a callback its kind, status and
times; a call its times, route, structure and motives. What goes: numbers,
names, Twilio SIDs (a unique one becomes `placeholder(id)`), recording
URLs, transcriptions, error texts, the flow state and the notes. A callback
nobody has placed yet is cancelled: there is nobody left to call; the purge
also closes the expired tickets still open. Each function takes ids, works in chunks
(IN lists stay short on every database) and flushes; the caller commits.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from callbook.calls.models import Call, CallEvent
from callbook.privacy import placeholder, subject_hash
from callbook.privacy.recordings import is_recording_sid, queue_deletions
from callbook.tickets import (
    OPEN_STATUSES,
    Callback,
    Ticket,
    TicketHistory,
    TicketMessage,
    TranscriptPiece,
)

CHUNK = 500
WAITING = ("pending", "claimed", "dialing")
"""Callbacks not finished: anonymising one cancels it first."""
RECORDING_EVENTS = ("recording", "transcription", "voicemail.recorded")
"""Call events whose `sid` is a RecordingSid."""
SCRUBBED_DETAIL = ("recording", "call", "reason", "detail")
"""Keys of a ticket's history that hold SIDs or error texts (which may quote a number)."""


def chunks(ids: Sequence[int]) -> Iterator[list[int]]:
    ordered = sorted(set(ids))
    for start in range(0, len(ordered), CHUNK):
        yield ordered[start : start + CHUNK]


def _subject(number: str) -> str:
    return subject_hash(number) if number else ""


def clear_messages(session: Session, ids: Sequence[int], *, reason: str, now: datetime) -> int:
    """Blank voicemail messages and queue their recordings; the recordings queued."""
    queued = 0
    for chunk in chunks(ids):
        rows = session.execute(
            select(TicketMessage.id, TicketMessage.recording_sid, Ticket.caller_number)
            .outerjoin(Ticket, Ticket.id == TicketMessage.ticket_id)
            .where(TicketMessage.id.in_(chunk))
            .order_by(TicketMessage.id)
        ).all()
        sids = [(sid, _subject(caller or "")) for _, sid, caller in rows]
        spoken = session.scalars(select(TicketMessage.call_sid).where(TicketMessage.id.in_(chunk)))
        clear_transcripts(session, [sid for sid in spoken if sid])
        queued += queue_deletions(session, sids, reason=reason, now=now)
        values = [
            {"id": row_id, "recording_sid": placeholder(row_id), "recording_url": "",
             "transcription": "", "call_sid": ""}
            for row_id, _, _ in rows
        ]  # fmt: skip
        if values:
            session.execute(update(TicketMessage), values)
    session.flush()
    return queued


def clear_transcripts(session: Session, call_sids: Sequence[str]) -> int:
    """Delete the real-time transcription pieces of these calls; how many went."""
    deleted = 0
    for start in range(0, len(call_sids), CHUNK):
        chunk = list(call_sids[start : start + CHUNK])
        result = session.execute(delete(TranscriptPiece).where(TranscriptPiece.call_sid.in_(chunk)))
        deleted += int(getattr(result, "rowcount", 0) or 0)
    return deleted


def clear_callbacks(
    session: Session, ids: Sequence[int], *, actor: str, now: datetime
) -> tuple[int, int]:
    """Cancel the unfinished callbacks among `ids`, blank them all: (blanked, cancelled)."""
    cleared = canceled = 0
    for chunk in chunks(ids):
        waiting = session.execute(
            select(Callback.id, Callback.ticket_id).where(
                Callback.id.in_(chunk), Callback.status.in_(WAITING)
            )
        ).all()
        if waiting:
            session.execute(
                update(Callback)
                .where(Callback.id.in_([row_id for row_id, _ in waiting]))
                .where(Callback.status.in_(WAITING))  # a dispatcher may have moved on
                .values(status="canceled", updated_at=now)
                .execution_options(synchronize_session=False)
            )
            for row_id, ticket_id in waiting:
                if ticket_id is not None:
                    _history(
                        session, ticket_id, actor, "callback.canceled", {"callback": row_id}, now
                    )
            canceled += len(waiting)
        result = session.execute(
            update(Callback)
            .where(Callback.id.in_(chunk))
            .values(caller_number="", call_sid="", outbound_sid="", agent_numbers=[], last_error="")
            .execution_options(synchronize_session=False)
        )
        cleared += int(result.rowcount)  # type: ignore[attr-defined]
    session.flush()
    return cleared, canceled


def clear_tickets(
    session: Session, ids: Sequence[int], *, actor: str, action: str, close: bool, now: datetime
) -> tuple[int, int]:
    """Blank the callers of tickets `ids` and the SIDs of their history: (blanked, closed).

    With `close`, the open ones are closed, `action` naming the closure in
    their history; without, each ticket's history gets `action` (an open one
    stays open: the request itself may still need work).
    """
    cleared = closed = 0
    for chunk in chunks(ids):
        if close:
            shut = _close_open(session, chunk, now)
            for ticket_id in shut:
                _history(session, ticket_id, actor, action, {"after": "closed"}, now)
            closed += len(shut)
        else:
            for ticket_id in chunk:
                _history(session, ticket_id, actor, action, {}, now)
        result = session.execute(
            update(Ticket)
            .where(Ticket.id.in_(chunk))
            .values(caller_number="", contact="", call_sid="")
            .execution_options(synchronize_session=False)
        )
        cleared += int(result.rowcount)  # type: ignore[attr-defined]
        _scrub_history(session, chunk)
    session.flush()
    return cleared, closed


def _close_open(session: Session, ticket_ids: list[int], now: datetime) -> list[int]:
    """Close the open tickets among `ticket_ids`; their ids."""
    still_open = list(
        session.scalars(
            select(Ticket.id).where(Ticket.id.in_(ticket_ids), Ticket.status.in_(OPEN_STATUSES))
        )
    )
    if still_open:
        session.execute(
            update(Ticket)
            .where(Ticket.id.in_(still_open), Ticket.status.in_(OPEN_STATUSES))
            .values(status="closed", updated_at=now)
            .execution_options(synchronize_session=False)
        )
    return still_open


def _history(
    session: Session, ticket_id: int, actor: str, action: str, detail: dict[str, Any], now: datetime
) -> None:
    session.add(
        TicketHistory(ticket_id=ticket_id, at=now, actor=actor, action=action, detail=detail)
    )


def _scrub_history(session: Session, ticket_ids: list[int]) -> None:
    rows = session.execute(
        select(TicketHistory.id, TicketHistory.detail).where(
            TicketHistory.ticket_id.in_(ticket_ids)
        )
    ).all()
    values = [
        {"id": row_id, "detail": {k: v for k, v in detail.items() if k not in SCRUBBED_DETAIL}}
        for row_id, detail in rows
        if isinstance(detail, dict) and any(key in detail for key in SCRUBBED_DETAIL)
    ]
    if values:
        session.execute(update(TicketHistory), values)


def event_recordings(session: Session, calls: ColumnElement[bool]) -> list[tuple[str, str]]:
    """(RecordingSid, subject) named by the events of the calls matching `calls`."""
    rows = session.execute(
        select(CallEvent.data, Call.from_number)
        .join(Call, Call.id == CallEvent.call_id)
        .where(calls, CallEvent.kind.in_(RECORDING_EVENTS))
        .order_by(CallEvent.id)
    ).all()
    return [
        (data["sid"], _subject(caller))
        for data, caller in rows
        if isinstance(data, dict) and is_recording_sid(data.get("sid"))
    ]


def still_referenced(session: Session, sids: list[str]) -> set[str]:
    """The SIDs among `sids` that a message still holds (its ticket still needs it)."""
    found: set[str] = set()
    for start in range(0, len(sids), CHUNK):
        chunk = sids[start : start + CHUNK]
        found.update(
            session.scalars(
                select(TicketMessage.recording_sid).where(TicketMessage.recording_sid.in_(chunk))
            )
        )
    return found


def clear_calls(session: Session, ids: Sequence[int], number: str) -> int:
    """Blank calls (kept for the figures) and delete their events; the events deleted."""
    events = 0
    for chunk in chunks(ids):
        rows = session.execute(
            select(Call.id, Call.from_number, Call.to_number).where(Call.id.in_(chunk))
        ).all()
        values = [
            {"id": row_id, "call_sid": placeholder(row_id),
             "from_number": "" if caller == number else caller,
             "to_number": "" if called == number else called,
             "contact": "", "state": {}, "dialing": [], "last_request_key": "",
             "last_response": "", "note": ""}
            for row_id, caller, called in rows
        ]  # fmt: skip
        if values:
            session.execute(update(Call), values)
        result = session.execute(
            delete(CallEvent)
            .where(CallEvent.call_id.in_(chunk))
            .execution_options(synchronize_session=False)
        )
        events += int(result.rowcount)  # type: ignore[attr-defined]
    session.flush()
    return events
