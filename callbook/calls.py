"""Writing the call book from the voice webhooks, idempotently.

- a step is stored with its request key: a webhook retried by Twilio gets the
  same answer back and records nothing twice;
- a status callback for an unknown CallSid creates the row instead of being
  lost; a late non-final status never reopens a finished call;
- a step written late from the local spool carries its spool id in the data
  of its events (`SPOOL_KEY`), so replaying it again records nothing twice.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from callbook.book import Call, CallEvent, CallMotive
from callbook.db import session_scope

FINAL_STATUSES = frozenset({"completed", "busy", "failed", "no-answer", "canceled"})
BUSY_HORIZON = timedelta(hours=6)
"""A call open longer than this is stale (its status callback was lost): not busy."""

IN_HOURS_ROUTES = frozenset({"referent", "hotline", "no_phone"})
SPOOL_KEY = "spool"


@dataclass(frozen=True, slots=True)
class Event:
    """An event to append to a call: a kind and JSON-able data."""

    kind: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class StepRecord:
    """What one step of the voice flow leaves in the book."""

    state: dict[str, Any]
    events: list[Event]
    twiml: str
    caller: str = ""
    contact: str = ""
    structure: str = ""
    revision: int | None = None
    urgent: bool = False
    callback_at: datetime | None = None


class CallForm(Protocol):
    """What the call book reads of a webhook (see ivr.voice.forms.VoiceForm)."""

    call_sid: str
    from_: str
    to: str
    direction: str
    call_status: str
    call_duration: int
    recording_sid: str
    recording_url: str
    recording_duration: int
    recording_status: str
    transcription_text: str
    transcription_status: str


@contextmanager
def session() -> Iterator[Session]:
    with session_scope() as current:
        yield current


def find_call(session: Session, call_sid: str) -> Call | None:
    return session.scalars(select(Call).where(Call.call_sid == call_sid)).one_or_none()


def _get_or_create(session: Session, form: CallForm, call_sid: str, now: datetime) -> Call:
    call = find_call(session, call_sid)
    if call is None:
        call = Call(
            call_sid=call_sid,
            direction=form.direction or "inbound",
            from_number=form.from_,
            to_number=form.to,
            started_at=now,
            updated_at=now,
            state={},
            dialing=[],
        )
        session.add(call)
        session.flush()
    return call


def replayed(session: Session, call_sid: str, request_key: str) -> str | None:
    """The answer already given to this very request, if Twilio is retrying it."""
    call = find_call(session, call_sid)
    if call is not None and call.last_request_key == request_key and call.last_response:
        return call.last_response
    return None


def spooled_step_saved(session: Session, call_sid: str, spool_id: str) -> bool:
    """True when the step spooled as `spool_id` is already in the book."""
    call = find_call(session, call_sid)
    return call is not None and any(e.data.get(SPOOL_KEY) == spool_id for e in call.events)


def busy_numbers(session: Session, *, exclude: str, now: datetime) -> frozenset[str]:
    """Numbers ringing or talking through another of our calls right now."""
    rows = session.scalars(
        select(Call.dialing).where(
            Call.ended_at.is_(None),
            Call.call_sid != exclude,
            Call.started_at > now - BUSY_HORIZON,
        )
    )
    return frozenset(number for numbers in rows for number in (numbers or []))


def _append(session: Session, call: Call, events: list[Event], now: datetime) -> None:
    last = session.scalar(select(func.max(CallEvent.seq)).where(CallEvent.call_id == call.id))
    seq = last or 0
    for event in events:
        seq += 1
        session.add(CallEvent(call_id=call.id, seq=seq, at=now, kind=event.kind, data=event.data))


def save_step(
    session: Session,
    form: CallForm,
    call_sid: str,
    step: StepRecord,
    now: datetime,
    request_key: str,
    spool_id: str = "",
    *,
    call: Call | None = None,
) -> Call:
    """Store the step's state and events on the call row (created if needed).

    `spool_id`: the step was spooled while the database was down; its events
    are stamped with it (see `spooled_step_saved`). `call`: the row the caller
    already loaded in this session, spared a second lookup.
    """
    if call is None or call.call_sid != call_sid:
        call = _get_or_create(session, form, call_sid, now)
    call.state = step.state
    call.revision = call.revision or step.revision
    call.contact = step.contact
    call.structure = step.structure
    call.urgent = step.urgent
    call.callback_at = step.callback_at
    if step.caller and not call.from_number:
        call.from_number = step.caller
    events = step.events
    if spool_id:
        events = [Event(e.kind, {**e.data, SPOOL_KEY: spool_id}) for e in events]
    for event in events:
        _apply(session, call, event, now)
    _append(session, call, events, now)
    call.last_request_key = request_key
    call.last_response = step.twiml
    call.updated_at = now
    return call


def _apply(session: Session, call: Call, event: Event, now: datetime) -> None:
    data: dict[str, Any] = event.data
    if event.kind == "dial":
        call.dialing = list(data.get("numbers", []))
    elif event.kind == "dial.result":
        call.dialing = []
    elif event.kind == "route":
        call.route = str(data.get("route", ""))
        call.in_hours = call.route in IN_HOURS_ROUTES
    elif event.kind == "voicemail.offered" and call.answered_at is None:
        # The final route: a call nobody answered (referents, hotline, on-call
        # or a closed message first) ends in voicemail; `in_hours` keeps the
        # moment's answer.
        call.route = "voicemail"
    elif event.kind == "answered":
        call.answered_by = str(data.get("target", ""))
        duration = int(data.get("duration", 0) or 0)
        call.answered_at = now - timedelta(seconds=duration)
    elif event.kind == "menu.choice":
        _add_motive(
            session,
            call,
            str(data["motive"]),
            str(data.get("family", "")),
            str(data.get("channel", "")),
        )


def _add_motive(session: Session, call: Call, motive: str, family: str, channel: str) -> None:
    existing = session.scalars(select(CallMotive).where(CallMotive.call_id == call.id)).all()
    if any(m.motive == motive for m in existing):
        return
    position = max((m.position for m in existing), default=-1) + 1
    session.add(
        CallMotive(
            call_id=call.id, position=position, motive=motive, family=family, channel=channel
        )
    )


def append_event(
    session: Session, call: Call, kind: str, data: dict[str, Any], now: datetime
) -> None:
    _append(session, call, [Event(kind, data)], now)


def record_status(session: Session, form: CallForm, now: datetime) -> Call:
    """The /voice/status callback: close the call once, whatever the order."""
    call = _get_or_create(session, form, form.call_sid, now)
    status = form.call_status
    finished = call.ended_at is not None
    if status in FINAL_STATUSES and not finished:
        call.status = status
        call.ended_at = now
        call.duration = form.call_duration
        call.dialing = []
        if not call.route:
            call.route = "abandoned"
    elif not finished and status:
        call.status = status
    seen = {e.data.get("status") for e in call.events if e.kind == "status"}
    if status not in seen:
        _append(
            session,
            call,
            [Event("status", {"status": status, "duration": form.call_duration})],
            now,
        )
    call.updated_at = now
    return call


def record_callback(session: Session, form: CallForm, kind: str, now: datetime) -> Call:
    """Recording-status and transcription callbacks: kept as events of the call."""
    call = _get_or_create(session, form, form.call_sid, now)
    if kind == "recording":
        data: dict[str, Any] = {
            "sid": form.recording_sid,
            "url": form.recording_url,
            "duration": form.recording_duration,
            "status": form.recording_status,
        }
    else:
        data = {
            "sid": form.recording_sid,
            "status": form.transcription_status,
            "text": form.transcription_text,
        }
    duplicate = any(e.kind == kind and e.data == data for e in call.events)
    if not duplicate:
        _append(session, call, [Event(kind, data)], now)
    call.updated_at = now
    return call
