"""Status, recording and transcription callbacks in the call book, idempotently.

A status callback for an unknown CallSid creates the row instead of being
lost; a late non-final status never reopens a finished call; a duplicated
callback records nothing twice.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from callbook import calls
from callbook.calls import FINAL_STATUSES, CallForm, Database, Event, sql


def _events_of(conn: Connection, call_id: int) -> tuple[int, list[tuple[str, dict[str, Any]]]]:
    """(last seq, [(kind, data)]) of a call's events, in one query."""
    rows = sql.EVENTS_OF.execute(conn, {"call_id": call_id}).rows
    events = [(kind, data or {}) for _seq, kind, data in rows]
    return max((seq for seq, _kind, _data in rows), default=0), events


def record_status(session: Database, form: CallForm, now: datetime) -> int:
    """The /voice/status callback: close the call once, whatever the order. Returns its id.

    A known call takes two statements and no read: an update that leaves a
    finished call finished, then the status event unless the call has it.
    An unknown CallSid (the status came first) creates the row, closed if the
    status is final; when another request creates it meanwhile, the update
    runs again.
    """
    conn = calls.connection_of(session)
    status = form.call_status
    params: dict[str, Any] = {"sid": form.call_sid, "now": now}
    new: dict[str, Any] = {"updated_at": now}
    if status in FINAL_STATUSES:
        statement = sql.CLOSE
        params.update(new_status=status, new_duration=form.call_duration)
        new.update(status=status, ended_at=now, duration=form.call_duration, route="abandoned")
    elif status:
        statement = sql.SET_STATUS
        params["new_status"] = status
        new["status"] = status
    else:
        statement = sql.TOUCH
    data = {"status": status, "duration": form.call_duration}
    for _attempt in range(2):
        call_id = statement.execute(conn, params).scalar()
        if call_id is not None:
            event = {"call_id": call_id, "at": now, "data": data, "status": status}
            sql.STATUS_ONCE.execute(conn, event)
            return int(call_id)
        new_id = calls.insert_call(conn, form, form.call_sid, now, new)
        if new_id is not None:
            calls.append_events(conn, new_id, [Event("status", data)], now, new=True)
            return new_id
    raise LookupError(f"call {form.call_sid} neither updated nor inserted")


def record_callback(session: Database, form: CallForm, kind: str, now: datetime) -> int:
    """Recording-status and transcription callbacks: kept as events of the call."""
    conn = calls.connection_of(session)
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
    current = calls.find_call(conn, form.call_sid)
    call_id, created = calls.write_call(
        conn, form, form.call_sid, now, current, {"updated_at": now}
    )
    last_seq, events = (0, []) if created else _events_of(conn, call_id)
    if (kind, data) not in events:
        calls.append_events(conn, call_id, [Event(kind, data)], now, last_seq=last_seq)
    return call_id
