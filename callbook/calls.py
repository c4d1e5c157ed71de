"""Writing the voice steps into the call book, idempotently and briefly.

- a step is stored with its request key: a webhook retried by Twilio gets the
  same answer back and records nothing twice;
- a step written late from the local spool carries its spool id in the data
  of its events (`SPOOL_KEY`), so replaying it again records nothing twice.

Every webhook writes here, so this is the service's hot path: a few SQLAlchemy
Core statements per step (`callbook.call_sql`), compiled once and run on the
driver (`callbook.direct`), on the session's connection (so tickets the ORM
writes in the same step commit or roll back with them).
The voice routes read the call with `find_call` on a reading connection
(`reading`) and run the step before `write_on` opens the write transaction.
Status, recording and transcription callbacks: `callbook.call_callbacks`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from callbook import call_sql as sql
from callbook.db import (
    read_connection,
    read_options,
    session_scope,
    write_connection,
    write_options,
)

FINAL_STATUSES = frozenset({"completed", "busy", "failed", "no-answer", "canceled"})
BUSY_HORIZON = timedelta(hours=6)
"""A call open longer than this is stale (its status callback was lost): not busy."""

_INDEXED = ("structure", "route", "in_hours", "answered_at")
"""Columns a step may set that the report indexes hold (see callbook.book.Call)."""

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


@dataclass(frozen=True, slots=True)
class CallRow:
    """What the voice steps read of a call."""

    id: int
    call_sid: str
    state: dict[str, Any]
    revision: int | None
    from_number: str
    structure: str
    route: str
    in_hours: bool | None
    answered_at: datetime | None
    ended_at: datetime | None
    last_request_key: str
    last_response: str
    last_seq: int = 0
    """The seq of the call's last event when it was read (0: none)."""

    def answer_to(self, request_key: str) -> str | None:
        """The answer already given to this very request, if Twilio is retrying it."""
        if self.last_request_key == request_key and self.last_response:
            return self.last_response
        return None


Database = Session | Connection


def connection_of(db: Database) -> Connection:
    if isinstance(db, Connection):
        return db
    if db.new or db.dirty or db.deleted:
        db.flush()  # what the ORM holds pending goes first, as autoflush would
    return db.connection()


@contextmanager
def session() -> Iterator[Session]:
    """A unit of work of the current app (the write transaction of a webhook)."""
    with session_scope() as current:
        yield current


@contextmanager
def writing() -> Iterator[Connection]:
    """A write transaction of the current app without the ORM: a step's own record."""
    with write_connection() as connection:
        yield connection


@contextmanager
def reading() -> Iterator[Connection]:
    """A read-only connection of the current app: no write lock taken, rolled back.

    `write_on` turns it into a write transaction: a step reads, runs its flow,
    then writes on one connection.
    """
    with read_connection() as connection:
        yield connection


@contextmanager
def write_on(connection: Connection) -> Iterator[Connection]:
    """One write transaction on a connection of `reading`, committed when the block ends.

    The reads took no lock and began no transaction (`callbook.db.read_options`);
    the write transaction begins here (SQLite: BEGIN IMMEDIATE, the writers'
    queue), and the connection reads without one again after it.
    """
    connection.rollback()  # the reads' bookkeeping only: no transaction was begun
    connection.execution_options(**write_options(connection))
    try:
        with connection.begin():
            yield connection
    finally:
        if not connection.invalidated:  # a lost connection would reconnect here
            connection.execution_options(**read_options(connection.dialect.name))


def find_call(db: Database, call_sid: str) -> CallRow | None:
    row = sql.FIND.execute(connection_of(db), {"sid": call_sid}).first()
    if row is None:
        return None
    values = dict(zip(sql.FIND_COLUMNS, row, strict=True))
    values["state"] = values["state"] or {}
    return CallRow(**values)


def replayed(db: Database, call_sid: str, request_key: str) -> str | None:
    """The answer already given to this very request, if Twilio is retrying it."""
    call = find_call(db, call_sid)
    return None if call is None else call.answer_to(request_key)


def spooled_step_saved(db: Database, call_sid: str, spool_id: str) -> bool:
    """True when the step spooled as `spool_id` is already in the book."""
    conn = connection_of(db)
    call = find_call(conn, call_sid)
    if call is None:
        return False
    events = sql.EVENTS
    rows = conn.execute(select(events.c.data).where(events.c.call_id == call.id)).scalars()
    return any((data or {}).get(SPOOL_KEY) == spool_id for data in rows)


def busy_numbers(db: Database, *, exclude: str, now: datetime) -> frozenset[str]:
    """Numbers ringing or talking through another of our calls right now."""
    params = {"exclude": exclude, "since": now - BUSY_HORIZON}
    rows = sql.BUSY.execute(connection_of(db), params).rows
    return frozenset(number for (numbers,) in rows for number in (numbers or []))


def _new_call(
    form: CallForm, call_sid: str, now: datetime, changes: dict[str, Any]
) -> dict[str, Any]:
    """The columns of a new call row: what the webhook says of the call, then `changes`."""
    return {
        "call_sid": call_sid,
        "direction": form.direction or "inbound",
        "from_number": form.from_,
        "to_number": form.to,
        "started_at": now,
        "updated_at": now,
        "state": {},
        "dialing": [],
        **changes,
    }


def insert_call(
    conn: Connection, form: CallForm, call_sid: str, now: datetime, changes: dict[str, Any]
) -> int | None:
    """A new call row with `changes`; None when another request inserted the CallSid first."""
    values = _new_call(form, call_sid, now, changes)
    new_id = sql.INSERT_CALL[conn.dialect.name].execute(conn, values).scalar()
    return None if new_id is None else int(new_id)


def write_call(
    conn: Connection,
    form: CallForm,
    call_sid: str,
    now: datetime,
    current: CallRow | None,
    changes: dict[str, Any],
) -> tuple[int, bool]:
    """(call id, created): the row updated with `changes`, or created with them."""
    if current is None:
        new_id = insert_call(conn, form, call_sid, now, changes)
        if new_id is not None:
            return new_id, True
        current = find_call(conn, call_sid)  # a concurrent request created it
        if current is None:  # pragma: no cover - the conflict was on this CallSid
            raise LookupError(f"call {call_sid} neither inserted nor found")
    conn.execute(sql.UPDATE_CALL, {"call_id": current.id, **changes})
    return current.id, False


def append_events(
    conn: Connection,
    call_id: int,
    events: list[Event],
    now: datetime,
    *,
    new: bool = False,
    last_seq: int | None = None,
) -> None:
    """Append `events` after the call's last one (`last_seq` when the caller read it)."""
    if not events:
        return
    if last_seq is None and not new:
        last_seq = sql.LAST_SEQ.execute(conn, {"call_id": call_id}).scalar()
    seq = last_seq or 0
    rows = []
    for event in events:
        seq += 1
        rows.append(
            {"call_id": call_id, "seq": seq, "at": now, "kind": event.kind, "data": event.data}
        )
    sql.INSERT_EVENTS.executemany(conn, rows)


def save_first_step(
    conn: Connection, form: CallForm, call_sid: str, step: StepRecord, now: datetime, key: str
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
        changes, events, motives = _changes_of(form, step, now, key, "", None)
        if not motives:
            row = _new_call(form, call_sid, now, changes)
            params = {f"new_{name}": value for name, value in row.items()}
            params |= {"events": [{"kind": e.kind, "data": e.data} for e in events], "at": now}
            return step.twiml if sql.FIRST_STEP_PG.execute(conn, params).first() else None
    with write_on(conn) as writer:
        written = _write_step(writer, form, call_sid, step, now, key, "", None)
    return step.twiml if written else None


class _Unread:
    """`save_step(seen=...)` left out: the call is read in the write transaction."""


UNREAD = _Unread()


def save_step(
    session: Database,
    form: CallForm,
    call_sid: str,
    step: StepRecord,
    now: datetime,
    request_key: str,
    spool_id: str = "",
    *,
    seen: CallRow | _Unread | None = UNREAD,
) -> str:
    """Store the step's state and events on the call row (created if needed).

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
        current = find_call(conn, call_sid) if isinstance(seen, _Unread) else seen
        if current is not None and (answer := current.answer_to(request_key)):
            return answer
        written = _write_step(conn, form, call_sid, step, now, request_key, spool_id, current)
        if written:
            return step.twiml
        seen = UNREAD  # changed under us: read it in this transaction and decide again
    raise LookupError(f"call {call_sid} kept changing while its step was written")


def _write_step(
    conn: Connection,
    form: CallForm,
    call_sid: str,
    step: StepRecord,
    now: datetime,
    request_key: str,
    spool_id: str,
    current: CallRow | None,
) -> bool:
    """Write the step on `current` as read; False (nothing written) when the row
    was created meanwhile, already holds this very request, or has events
    added since it was read."""
    changes, events, motives = _changes_of(form, step, now, request_key, spool_id, current)
    if current is None:
        new_id = insert_call(conn, form, call_sid, now, changes)
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
    form: CallForm,
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
    if step.caller and not (current.from_number if current else form.from_):
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


def append_event(
    session: Database, call_id: int, kind: str, data: dict[str, Any], now: datetime
) -> None:
    append_events(connection_of(session), call_id, [Event(kind, data)], now)
