"""Status, recording and transcription callbacks in the call book, idempotently.

A status callback for an unknown CallSid creates the row instead of being
lost; a late non-final status never reopens a finished call; a duplicated
callback records nothing twice.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from callbook import call_sql as sql
from callbook import calls
from callbook.calls import FINAL_STATUSES, CallForm, CallRow, Database, Event


def _call_with_events(
    conn: Connection, call_sid: str
) -> tuple[CallRow | None, int, list[tuple[str, dict[str, Any]]]]:
    """(call, last seq, [(kind, data)]) in one query; (None, 0, []) for an unknown call."""
    rows = conn.execute(sql.FIND_WITH_EVENTS, {"sid": call_sid}).all()
    if not rows:
        return None, 0, []
    values = rows[0]._asdict()
    for column in ("seq", "kind", "data"):
        del values[column]
    values["state"] = values["state"] or {}
    events = [(row.kind, row.data or {}) for row in rows if row.seq is not None]
    last_seq = max((row.seq or 0 for row in rows), default=0)
    return CallRow(**values, last_seq=last_seq), last_seq, events


def _events_of(conn: Connection, call_id: int) -> tuple[int, list[tuple[str, dict[str, Any]]]]:
    """(last seq, [(kind, data)]) of a call's events, in one query."""
    rows = conn.execute(sql.EVENTS_OF, {"call_id": call_id}).all()
    return max((row.seq for row in rows), default=0), [(r.kind, r.data or {}) for r in rows]


def record_status(session: Database, form: CallForm, now: datetime) -> int:
    """The /voice/status callback: close the call once, whatever the order. Returns its id.

    A known call takes two statements and no read: an update that leaves a
    finished call finished, then the status event unless the call has it.
    An unknown CallSid (the status came first) creates the row.
    """
    conn = calls.connection_of(session)
    status = form.call_status
    params: dict[str, Any] = {"sid": form.call_sid, "now": now}
    if status in FINAL_STATUSES:
        statement = sql.CLOSE
        params.update(new_status=status, new_duration=form.call_duration)
    elif status:
        statement = sql.SET_STATUS
        params["new_status"] = status
    else:
        statement = sql.TOUCH
    call_id = conn.execute(statement, params).scalar()
    if call_id is None:
        return _record_status_of_unknown(conn, form, now)
    data = {"status": status, "duration": form.call_duration}
    conn.execute(sql.STATUS_ONCE, {"call_id": call_id, "at": now, "data": data, "status": status})
    return int(call_id)


def _record_status_of_unknown(conn: Connection, form: CallForm, now: datetime) -> int:
    current, last_seq, events = _call_with_events(conn, form.call_sid)
    status = form.call_status
    finished = current is not None and current.ended_at is not None
    changes: dict[str, Any] = {"updated_at": now}
    if status in FINAL_STATUSES and not finished:
        changes.update(status=status, ended_at=now, duration=form.call_duration, dialing=[])
        if not (current and current.route):
            changes["route"] = "abandoned"
    elif not finished and status:
        changes["status"] = status
    call_id, created = calls.write_call(conn, form, form.call_sid, now, current, changes)
    if current is None and not created:  # created meanwhile by another request
        last_seq, events = _events_of(conn, call_id)
    if not any(kind == "status" and data.get("status") == status for kind, data in events):
        event = Event("status", {"status": status, "duration": form.call_duration})
        calls.append_events(conn, call_id, [event], now, last_seq=last_seq)
    return call_id


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
    current, last_seq, events = _call_with_events(conn, form.call_sid)
    call_id, created = calls.write_call(
        conn, form, form.call_sid, now, current, {"updated_at": now}
    )
    if current is None and not created:  # created meanwhile by another request
        last_seq, events = _events_of(conn, call_id)
    if (kind, data) not in events:
        calls.append_events(conn, call_id, [Event(kind, data)], now, last_seq=last_seq)
    return call_id
