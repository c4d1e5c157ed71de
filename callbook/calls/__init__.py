"""The call book as the voice webhooks see it: calls, their events, connections.

Every webhook reads and writes here, so this is the service's hot path: a few
SQLAlchemy Core statements per webhook (`callbook.calls.sql`), compiled once
and run on the driver (`callbook.db.direct`), on the session's connection (so
tickets the ORM writes in the same step commit or roll back with them).
The voice routes read the call with `find_call` on a reading connection
(`reading`) and run the step before `write_on` opens the write transaction.
The book never reads a webhook's form: it takes typed records of what it
stores, the call's `CallFacts` with a step's record (`callbook.calls.steps`)
or a status, recording or transcription report (`callbook.calls.statuses`).
A step written late from the local spool carries its spool id in the data
of its events (`SPOOL_KEY`), so replaying it again records nothing twice
(`spooled_step_saved`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from callbook.calls import sql
from callbook.db import (
    read_connection,
    read_options,
    session_scope,
    write_connection,
    write_options,
)

FINAL_STATUSES = frozenset({"completed", "busy", "failed", "no-answer", "canceled"})
RING_GRACE = timedelta(seconds=10)
"""A dialled leg surely lives this long past its ring timeout (Twilio's set-up, the
dial result's webhook on its way); after that it may be a conversation, or a call
whose final status callback was lost."""

SPOOL_KEY = "spool"


@dataclass(frozen=True, slots=True)
class Event:
    """An event to append to a call: a kind and JSON-able data."""

    kind: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CallFacts:
    """What a webhook says of its call: the columns a new row of the call starts with."""

    call_sid: str
    direction: str = "inbound"
    from_number: str = ""
    to_number: str = ""


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


@dataclass(frozen=True, slots=True)
class LiveLeg:
    """The leg another open call is dialling, as far as the book knows."""

    call_sid: str
    numbers: frozenset[str]
    ringing: bool
    """Within its ring timeout (and `RING_GRACE`): surely ringing or just answered.
    Otherwise in doubt: a conversation, or a call whose final status was lost."""


def live_legs(db: Database, *, exclude: str, now: datetime, max_talk: timedelta) -> list[LiveLeg]:
    """The legs of other open calls that may still be on a line at `now`.

    A leg lives until its ring timeout, plus `max_talk` for the conversation
    that may follow; past that it is over, whatever the book still says (the
    final status callback of its call was lost). A call dialled before the
    book kept when its leg stops ringing counts from its start.
    """
    params = {"exclude": exclude, "since": now - max_talk}
    rows = sql.BUSY.execute(connection_of(db), params).rows
    return [
        LiveLeg(call_sid, frozenset(numbers), now < last_live + RING_GRACE)
        for call_sid, numbers, last_live in rows
        if numbers
    ]


def may_go_on(now: datetime, max_talk: timedelta) -> ColumnElement[bool]:
    """Open calls that may still be on a line at `now`, as `live_legs` reads them."""
    since = now - max_talk
    return sql.CALLS.c.ended_at.is_(None) & (since < sql.LAST_LIVE)


def new_call(call: CallFacts, now: datetime, changes: dict[str, Any]) -> dict[str, Any]:
    """The columns of a new call row: what the webhook says of the call, then `changes`."""
    return {
        "call_sid": call.call_sid,
        "direction": call.direction,
        "from_number": call.from_number,
        "to_number": call.to_number,
        "started_at": now,
        "updated_at": now,
        "state": {},
        "dialing": [],
        **changes,
    }


def insert_call(
    conn: Connection, call: CallFacts, now: datetime, changes: dict[str, Any]
) -> int | None:
    """A new call row with `changes`; None when another request inserted the CallSid first."""
    values = new_call(call, now, changes)
    new_id = sql.INSERT_CALL[conn.dialect.name].execute(conn, values).scalar()
    return None if new_id is None else int(new_id)


def write_call(
    conn: Connection,
    call: CallFacts,
    now: datetime,
    current: CallRow | None,
    changes: dict[str, Any],
) -> tuple[int, bool]:
    """(call id, created): the row updated with `changes`, or created with them."""
    if current is None:
        new_id = insert_call(conn, call, now, changes)
        if new_id is not None:
            return new_id, True
        current = find_call(conn, call.call_sid)  # a concurrent request created it
        if current is None:  # pragma: no cover - the conflict was on this CallSid
            raise LookupError(f"call {call.call_sid} neither inserted nor found")
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


def append_event(
    session: Database, call_id: int, kind: str, data: dict[str, Any], now: datetime
) -> None:
    append_events(connection_of(session), call_id, [Event(kind, data)], now)
