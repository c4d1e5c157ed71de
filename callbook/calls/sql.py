"""The call book's hot statements, built once (SQLAlchemy Core on the ORM's tables).

Used by `callbook.calls` and `callbook.calls.steps` (the voice steps) and
`callbook.calls.statuses` (status, recording and transcription callbacks). Parameter names are not
column names where a statement has its own SET: SQLAlchemy would add those.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    BindParameter,
    Column,
    Table,
    bindparam,
    case,
    func,
    insert,
    literal,
    select,
    true,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from callbook.calls.models import Call, CallEvent, CallMotive
from callbook.db.direct import Direct

CALLS: Table = Call.__table__  # type: ignore[assignment]
EVENTS: Table = CallEvent.__table__  # type: ignore[assignment]
MOTIVES: Table = CallMotive.__table__  # type: ignore[assignment]

_LAST_EVENT = (
    select(func.max(EVENTS.c.seq))
    .where(EVENTS.c.call_id == CALLS.c.id)
    .correlate(CALLS)
    .scalar_subquery()
)
_FIND_ROW = select(
    CALLS.c.id,
    CALLS.c.call_sid,
    CALLS.c.state,
    CALLS.c.revision,
    CALLS.c.from_number,
    CALLS.c.structure,
    CALLS.c.route,
    CALLS.c.in_hours,
    CALLS.c.answered_at,
    CALLS.c.ended_at,
    CALLS.c.last_request_key,
    CALLS.c.last_response,
).where(CALLS.c.call_sid == bindparam("sid"))
_FIND = _FIND_ROW.add_columns(func.coalesce(_LAST_EVENT, 0).label("last_seq"))
FIND = Direct(_FIND)
FIND_COLUMNS = tuple(_FIND.selected_columns.keys())
LAST_SEQ = Direct(select(func.max(EVENTS.c.seq)).where(EVENTS.c.call_id == bindparam("call_id")))
EVENTS_OF = Direct(
    select(EVENTS.c.seq, EVENTS.c.kind, EVENTS.c.data).where(
        EVENTS.c.call_id == bindparam("call_id")
    )
)
UPDATE_CALL = update(CALLS).where(CALLS.c.id == bindparam("call_id"))
UPDATE_STEP = Direct(
    UPDATE_CALL.where(
        CALLS.c.last_request_key != bindparam("request_key"),
        func.coalesce(
            select(func.max(EVENTS.c.seq))
            .where(EVENTS.c.call_id == bindparam("call_id"))
            .scalar_subquery(),
            0,
        )
        == bindparam("seen_last_seq"),
    )
)
"""A step's update, unless the row already holds this very request (a concurrent
retry) or events were added since the call was read (then it is read again)."""
INSERT_EVENTS = Direct(insert(EVENTS))
_OPEN = CALLS.c.ended_at.is_(None)
# (Parameter names are not column names: SQLAlchemy would add those to the SET.)
_STATUS = bindparam("new_status", type_=CALLS.c.status.type)
_NOW = bindparam("now", type_=CALLS.c.updated_at.type)
_DURATION = bindparam("new_duration", type_=CALLS.c.duration.type)
CLOSE = Direct(
    update(CALLS)
    .where(CALLS.c.call_sid == bindparam("sid"))
    .values(
        status=case((_OPEN, _STATUS), else_=CALLS.c.status),
        ended_at=case((_OPEN, _NOW), else_=CALLS.c.ended_at),
        duration=case((_OPEN, _DURATION), else_=CALLS.c.duration),
        dialing=case((_OPEN, literal([], CALLS.c.dialing.type)), else_=CALLS.c.dialing),
        route=case((_OPEN & (CALLS.c.route == ""), "abandoned"), else_=CALLS.c.route),
        updated_at=_NOW,
    )
    .returning(CALLS.c.id)
)
"""A final status: the call closed, unless it was already (SET reads the row as it was)."""
SET_STATUS = Direct(
    update(CALLS)
    .where(CALLS.c.call_sid == bindparam("sid"))
    .values(status=case((_OPEN, _STATUS), else_=CALLS.c.status), updated_at=_NOW)
    .returning(CALLS.c.id)
)
"""A status on the way (ringing, in-progress): never reopens a finished call."""
TOUCH = Direct(
    update(CALLS)
    .where(CALLS.c.call_sid == bindparam("sid"))
    .values(updated_at=_NOW)
    .returning(CALLS.c.id)
)
_PREVIOUS = EVENTS.alias("previous")
STATUS_ONCE = Direct(
    insert(EVENTS).from_select(
        ["call_id", "seq", "at", "kind", "data"],
        select(
            bindparam("call_id", type_=EVENTS.c.call_id.type),
            select(func.coalesce(func.max(_PREVIOUS.c.seq), 0) + 1)
            .where(_PREVIOUS.c.call_id == bindparam("call_id"))
            .scalar_subquery(),
            bindparam("at", type_=EVENTS.c.at.type),
            literal("status", EVENTS.c.kind.type),
            bindparam("data", type_=EVENTS.c.data.type),
        ).where(
            ~select(_PREVIOUS.c.id)
            .where(
                _PREVIOUS.c.call_id == bindparam("call_id"),
                _PREVIOUS.c.kind == "status",
                _PREVIOUS.c.data["status"].as_string() == bindparam("status"),
            )
            .exists()
        ),
    )
)
"""The status event after the call's others, unless the call has that status already."""
_OTHER_MOTIVES = MOTIVES.alias("other")
ADD_MOTIVE = Direct(
    insert(MOTIVES).from_select(
        ["call_id", "position", "motive", "family", "channel"],
        select(
            bindparam("call_id", type_=MOTIVES.c.call_id.type),
            select(func.coalesce(func.max(_OTHER_MOTIVES.c.position), -1) + 1)
            .where(_OTHER_MOTIVES.c.call_id == bindparam("call_id"))
            .scalar_subquery(),
            bindparam("motive", type_=MOTIVES.c.motive.type),
            bindparam("family", type_=MOTIVES.c.family.type),
            bindparam("channel", type_=MOTIVES.c.channel.type),
        ).where(
            ~select(_OTHER_MOTIVES.c.id)
            .where(
                _OTHER_MOTIVES.c.call_id == bindparam("call_id"),
                _OTHER_MOTIVES.c.motive == bindparam("motive"),
            )
            .exists()
        ),
    )
)
"""A motive added after the call's others, unless the call has it already."""
LAST_LIVE = func.coalesce(CALLS.c.ringing_until, CALLS.c.started_at)
"""The last moment an open call surely went on: its last leg stops ringing, or it started."""
_SINCE = bindparam("since", type_=CALLS.c.started_at.type)
BUSY = Direct(
    select(CALLS.c.call_sid, CALLS.c.dialing, LAST_LIVE).where(
        CALLS.c.ended_at.is_(None),
        CALLS.c.call_sid != bindparam("exclude"),
        LAST_LIVE > _SINCE,
    )
)
"""Open calls that may still be on a line: their last leg rang since `since` (now minus
the longest conversation assumed)."""


INSERT_CALL = {
    name: Direct(
        dialect.insert(CALLS)
        .on_conflict_do_nothing(index_elements=["call_sid"])
        .returning(CALLS.c.id)
    )
    for name, dialect in (("postgresql", postgresql), ("sqlite", sqlite))
}
"""An insert that yields no id when the CallSid is already in (the two databases we run on)."""


def _new_call_value(column: Column[Any]) -> BindParameter[Any]:
    """`new_<column>`, holding the column's Python-side default when not given."""
    default = column.default
    name, kind = f"new_{column.name}", column.type
    if default is None:
        return bindparam(name, None, type_=kind)
    if default.is_scalar:
        return bindparam(name, default.arg, type_=kind)  # type: ignore[attr-defined]
    # (SQLAlchemy wraps a callable default to take an execution context.)
    return bindparam(name, callable_=lambda: default.arg(None), type_=kind)  # type: ignore[attr-defined]


_NEW_CALL = (
    postgresql.insert(CALLS)
    .values({column.name: _new_call_value(column) for column in CALLS.c if column.name != "id"})
    .on_conflict_do_nothing(index_elements=["call_sid"])
    .returning(CALLS.c.id)
    .cte("new_call")
)
_FIRST_EVENTS = (
    func.json_array_elements(bindparam("events", type_=JSON))
    .table_valued("value", with_ordinality="n")
    .render_derived(name="first_event")
)
FIRST_STEP_PG = Direct(
    select(_NEW_CALL.c.id).add_cte(
        insert(EVENTS)
        .from_select(
            ["call_id", "seq", "at", "kind", "data"],
            select(
                _NEW_CALL.c.id,
                _FIRST_EVENTS.c.n,
                bindparam("at", type_=EVENTS.c.at.type),
                _FIRST_EVENTS.c.value.op("->>")("kind"),
                _FIRST_EVENTS.c.value.op("->")("data"),
            ).select_from(_NEW_CALL.join(_FIRST_EVENTS, true())),
        )
        .cte("first_events")
    )
)
"""PostgreSQL: a new call and its first events in one statement, so one round trip
in autocommit (atomic, as any statement). Parameters: `new_<column>` for the
columns given (the others take their defaults), `events` (a list of {"kind",
"data"}) and `at`. No row when the CallSid is already in the book, and then no
event is written either."""
