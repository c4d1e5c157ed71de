"""Writing the voice steps into the call book, idempotently and briefly.

- a step is stored with its request key: a webhook retried by Twilio gets the
  same answer back and records nothing twice;
- a step written late from the local spool has its events stamped with its
  spool id (`callbook.calls.SPOOL_KEY`);
- a call's first step is written without reading the call first (on
  PostgreSQL, in one statement); a later step checks, as it writes, that the
  call is still as it was read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from callbook.calls import (
    SPOOL_KEY,
    CallFacts,
    CallRow,
    Database,
    Event,
    append_events,
    connection_of,
    find_call,
    insert_call,
    new_call,
    sql,
    write_on,
)

_INDEXED = ("structure", "route", "in_hours", "answered_at")
"""Columns a step may set that the report indexes hold (see callbook.calls.models.Call)."""

IN_HOURS_ROUTES = frozenset({"referent", "hotline", "no_phone"})


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


def save_first_step(
    conn: Connection, call: CallFacts, step: StepRecord, now: datetime, key: str
) -> str | None:
    """The first step of a call the book does not know, written without reading first.

    `conn` is a connection of `reading`: the write is a transaction of its
    own. On PostgreSQL the new call and its events are one statement (one
    round trip). None, and nothing written, when the call is already in the
    book (Twilio retrying the request, a status callback that came first):
    the step must then be run again on what the book holds (`find_call`,
    `save_step`).
    """
    if conn.dialect.name == "postgresql" and step.events:
        changes, events, motives = _changes_of(call, step, now, key, "", None)
        if not motives:
            row = new_call(call, now, changes)
            params = {f"new_{name}": value for name, value in row.items()}
            params |= {"events": [{"kind": e.kind, "data": e.data} for e in events], "at": now}
            return step.twiml if sql.FIRST_STEP_PG.execute(conn, params).first() else None
    with write_on(conn) as writer:
        written = _write_step(writer, call, step, now, key, "", None)
    return step.twiml if written else None


class _Unread:
    """`save_step(seen=...)` left out: the call is read in the write transaction."""


UNREAD = _Unread()


def save_step(
    session: Database,
    call: CallFacts,
    step: StepRecord,
    now: datetime,
    request_key: str,
    spool_id: str = "",
    *,
    seen: CallRow | _Unread | None = UNREAD,
) -> str:
    """Store the step's state and events on the row of `call` (created from it if needed).

    Returns the answer the book holds for this request: the step's TwiML, or
    the answer stored by a concurrent retry of the same request, in which
    case nothing is written twice. `spool_id`: the step was spooled while the
    database was down; its events are stamped with it (see `spooled_step_saved`).
    `seen`: the row as the caller read it before this transaction (None: no
    row yet), spared a second read; the write still finds out when another
    request wrote the same CallSid in between, and then reads it again.
    """
    conn = connection_of(session)
    for _attempt in range(3):
        current = find_call(conn, call.call_sid) if isinstance(seen, _Unread) else seen
        if current is not None and (answer := current.answer_to(request_key)):
            return answer
        written = _write_step(conn, call, step, now, request_key, spool_id, current)
        if written:
            return step.twiml
        seen = UNREAD  # changed under us: read it in this transaction and decide again
    raise LookupError(f"call {call.call_sid} kept changing while its step was written")


def _write_step(
    conn: Connection,
    call: CallFacts,
    step: StepRecord,
    now: datetime,
    request_key: str,
    spool_id: str,
    current: CallRow | None,
) -> bool:
    """Write the step on `current` as read; False (nothing written) when the row
    was created meanwhile, already holds this very request, or has events
    added since it was read."""
    changes, events, motives = _changes_of(call, step, now, request_key, spool_id, current)
    if current is None:
        new_id = insert_call(conn, call, now, changes)
        if new_id is None:
            return False
        call_id, last_seq = new_id, 0
    else:
        for column in _INDEXED:  # unchanged: left out, so SQLite leaves the index alone
            if column in changes and changes[column] == getattr(current, column):
                del changes[column]
        params = {
            "call_id": current.id,
            "request_key": request_key,
            "seen_last_seq": current.last_seq,
            **changes,
        }
        if sql.UPDATE_STEP.execute(conn, params).rowcount != 1:
            return False
        # The update checked that the call's last event is still the one read.
        call_id, last_seq = current.id, current.last_seq
    append_events(conn, call_id, events, now, last_seq=last_seq)
    if motives:
        _add_motives(conn, call_id, motives)
    return True


def _changes_of(
    call: CallFacts,
    step: StepRecord,
    now: datetime,
    request_key: str,
    spool_id: str,
    current: CallRow | None,
) -> tuple[dict[str, Any], list[Event], list[tuple[str, str, str]]]:
    """What the step writes: (columns of the call row, events, motives)."""
    changes: dict[str, Any] = {
        "state": step.state,
        "revision": (current.revision if current else None) or step.revision,
        "contact": step.contact,
        "structure": step.structure,
        "urgent": step.urgent,
        "callback_at": step.callback_at,
        "last_request_key": request_key,
        "last_response": step.twiml,
        "updated_at": now,
    }
    if step.caller and not (current.from_number if current else call.from_number):
        changes["from_number"] = step.caller
    events = step.events
    if spool_id:
        events = [Event(e.kind, {**e.data, SPOOL_KEY: spool_id}) for e in events]
    answered_at = current.answered_at if current else None
    motives: list[tuple[str, str, str]] = []
    for event in events:
        answered_at = _apply(changes, event, now, answered_at, motives)
    return changes, events, motives


def _apply(
    changes: dict[str, Any],
    event: Event,
    now: datetime,
    answered_at: datetime | None,
    motives: list[tuple[str, str, str]],
) -> datetime | None:
    """What `event` changes on the call row; returns the call's answer time."""
    data: dict[str, Any] = event.data
    if event.kind == "dial":
        changes["dialing"] = list(data.get("numbers", []))
        # (A dial event without its timeout, written before events carried one:
        # in doubt at once.)
        changes["ringing_until"] = now + timedelta(seconds=int(data.get("timeout", 0) or 0))
    elif event.kind == "dial.result":
        changes["dialing"] = []
    elif event.kind == "route":
        changes["route"] = str(data.get("route", ""))
        changes["in_hours"] = changes["route"] in IN_HOURS_ROUTES
    elif event.kind == "voicemail.offered" and answered_at is None:
        # The final route: a call nobody answered (referents, hotline, on-call
        # or a closed message first) ends in voicemail; `in_hours` keeps the
        # moment's answer.
        changes["route"] = "voicemail"
    elif event.kind == "answered":
        changes["answered_by"] = str(data.get("target", ""))
        duration = int(data.get("duration", 0) or 0)
        answered_at = changes["answered_at"] = now - timedelta(seconds=duration)
    elif event.kind == "menu.choice":
        motive = (str(data["motive"]), str(data.get("family", "")), str(data.get("channel", "")))
        motives.append(motive)
    return answered_at


def _add_motives(conn: Connection, call_id: int, motives: list[tuple[str, str, str]]) -> None:
    """Each motive once per call, after the call's other motives (one statement each)."""
    for motive, family, channel in dict.fromkeys(motives):
        params = {"call_id": call_id, "motive": motive, "family": family, "channel": channel}
        sql.ADD_MOTIVE.execute(conn, params)
