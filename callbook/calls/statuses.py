"""Status, recording and transcription callbacks in the call book, idempotently.

Each callback comes as a typed report of what it says (`StatusReport`,
`RecordingReport`, `TranscriptionReport`), with the call it is about. A
status callback for an unknown CallSid creates the row instead of being
lost; a late non-final status never reopens a finished call; a duplicated
callback records nothing twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import Connection

from callbook import calls
from callbook.calls import FINAL_STATUSES, CallFacts, Database, Event, sql


@dataclass(frozen=True, slots=True)
class StatusReport:
    """A call's status callback: its status (empty when unknown) and duration in seconds."""

    kind: ClassVar[str] = "status"
    call: CallFacts
    status: str = ""
    duration: int = 0


@dataclass(frozen=True, slots=True)
class RecordingReport:
    """A recording-status callback: the recording's sid, URL, duration and status."""

    kind: ClassVar[str] = "recording"
    call: CallFacts
    sid: str = ""
    url: str = ""
    duration: int = 0
    status: str = ""

    def event(self) -> Event:
        data = {"sid": self.sid, "url": self.url, "duration": self.duration, "status": self.status}
        return Event(self.kind, data)


@dataclass(frozen=True, slots=True)
class TranscriptionReport:
    """A transcription callback: the recording's sid, the transcription's status and text."""

    kind: ClassVar[str] = "transcription"
    call: CallFacts
    recording_sid: str = ""
    status: str = ""
    text: str = ""

    def event(self) -> Event:
        data = {"sid": self.recording_sid, "status": self.status, "text": self.text}
        return Event(self.kind, data)


Report = StatusReport | RecordingReport | TranscriptionReport


def _events_of(conn: Connection, call_id: int) -> tuple[int, list[tuple[str, dict[str, Any]]]]:
    """(last seq, [(kind, data)]) of a call's events, in one query."""
    rows = sql.EVENTS_OF.execute(conn, {"call_id": call_id}).rows
    events = [(kind, data or {}) for _seq, kind, data in rows]
    return max((seq for seq, _kind, _data in rows), default=0), events


def record_status(session: Database, report: StatusReport, now: datetime) -> int:
    """The /voice/status callback: close the call once, whatever the order. Returns its id.

    A known call takes two statements and no read: an update that leaves a
    finished call finished, then the status event unless the call has it.
    An unknown CallSid (the status came first) creates the row, closed if the
    status is final; when another request creates it meanwhile, the update
    runs again.
    """
    conn = calls.connection_of(session)
    status, duration, sid = report.status, report.duration, report.call.call_sid
    params: dict[str, Any] = {"sid": sid, "now": now}
    new: dict[str, Any] = {"updated_at": now}
    if status in FINAL_STATUSES:
        statement = sql.CLOSE
        params.update(new_status=status, new_duration=duration)
        new.update(status=status, ended_at=now, duration=duration, route="abandoned")
    elif status:
        statement = sql.SET_STATUS
        params["new_status"] = status
        new["status"] = status
    else:
        statement = sql.TOUCH
    data = {"status": status, "duration": duration}
    for _attempt in range(2):
        call_id = statement.execute(conn, params).scalar()
        if call_id is not None:
            event = {"call_id": call_id, "at": now, "data": data, "status": status}
            sql.STATUS_ONCE.execute(conn, event)
            return int(call_id)
        new_id = calls.insert_call(conn, report.call, now, new)
        if new_id is not None:
            calls.append_events(conn, new_id, [Event("status", data)], now, new=True)
            return new_id
    raise LookupError(f"call {sid} neither updated nor inserted")


def record_callback(
    session: Database, report: RecordingReport | TranscriptionReport, now: datetime
) -> int:
    """Recording-status and transcription callbacks: kept as events of the call."""
    conn = calls.connection_of(session)
    event = report.event()
    current = calls.find_call(conn, report.call.call_sid)
    call_id, created = calls.write_call(conn, report.call, now, current, {"updated_at": now})
    last_seq, events = (0, []) if created else _events_of(conn, call_id)
    if (event.kind, event.data) not in events:
        calls.append_events(conn, call_id, [event], now, last_seq=last_seq)
    return call_id
