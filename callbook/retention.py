"""Keeping the call book bounded and true: close calls Twilio never closed, purge old ones.

Call data is personal data: it is kept for a bounded time (IVR_RETENTION_DAYS)
and then deleted with its events and motives.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, Delete, Select, and_, case, delete, func, or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from callbook.book import Call, CallEvent, CallMotive

SWEEP_AFTER = timedelta(hours=4)
SWEPT_STATUS = "unknown"


def sweep_open_calls(session: Session, now: datetime, older_than: timedelta = SWEEP_AFTER) -> int:
    """Close the calls still open `older_than` after they started; the number closed.

    Their final `/voice/status` callback never came (a Twilio or network
    outage): the status becomes "unknown", `ended_at` the moment of the sweep,
    the route "abandoned" when none was chosen, nobody is ringing for them any
    more, and a "swept" event keeps the last moment Twilio was heard from.
    Each call is claimed by a conditional UPDATE, so two sweeps running at
    once (or a status callback arriving meanwhile) close a call only once.
    """
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    stale = session.execute(
        select(Call.id, Call.updated_at).where(
            Call.ended_at.is_(None), Call.started_at < now - older_than
        )
    ).all()
    closed = 0
    for call_id, last_heard in stale:
        claimed = cast(
            CursorResult[Any],
            session.execute(
                update(Call)
                .where(Call.id == call_id, Call.ended_at.is_(None))
                .values(
                    status=SWEPT_STATUS,
                    ended_at=now,
                    route=case((Call.route == "", "abandoned"), else_=Call.route),
                    dialing=[],
                    updated_at=now,
                )
                .execution_options(synchronize_session=False)
            ),
        )
        if claimed.rowcount != 1:
            continue
        seq = session.scalar(select(func.max(CallEvent.seq)).where(CallEvent.call_id == call_id))
        session.add(
            CallEvent(
                call_id=call_id,
                seq=(seq or 0) + 1,
                at=now,
                kind="swept",
                data={"status": SWEPT_STATUS, "last_heard": last_heard.isoformat()},
            )
        )
        closed += 1
    session.flush()
    session.expire_all()  # rows loaded before the UPDATE must not show the old status
    return closed


@dataclass(frozen=True, slots=True)
class PurgeResult:
    """What `purge_older_than` deleted (or would delete, on a dry run)."""

    cutoff: datetime
    calls: int
    events: int
    motives: int
    dry_run: bool = False


def expired(cutoff: datetime) -> ColumnElement[bool]:
    """Calls that ended before `cutoff`, or started before it and never ended.

    A call ends after it starts, so both cases have started before the cutoff:
    the clause is written that way to use the index on `started_at`.
    """
    return and_(
        Call.started_at < cutoff,
        or_(Call.ended_at.is_(None), Call.ended_at < cutoff),
    )


def purge_older_than(session: Session, cutoff: datetime, *, dry_run: bool = False) -> PurgeResult:
    """Delete the calls that ended (or, never ended, started) before `cutoff`.

    Their events and motives go with them. Other tables that refer to a call
    are expected to cascade (ON DELETE CASCADE) as the call book's own do.
    With `dry_run`, count what would go and change nothing.
    """
    if cutoff.tzinfo is None:
        raise ValueError("cutoff must be an aware datetime")
    ids = select(Call.id).where(expired(cutoff)).scalar_subquery()
    if dry_run:
        return PurgeResult(
            cutoff=cutoff,
            calls=_count(session, select(func.count()).where(expired(cutoff))),
            events=_count(session, select(func.count()).where(CallEvent.call_id.in_(ids))),
            motives=_count(session, select(func.count()).where(CallMotive.call_id.in_(ids))),
            dry_run=True,
        )
    # Children first: the counts do not depend on whether the database enforces
    # the cascade (SQLite only does with PRAGMA foreign_keys=ON).
    events = _deleted(session, delete(CallEvent).where(CallEvent.call_id.in_(ids)))
    motives = _deleted(session, delete(CallMotive).where(CallMotive.call_id.in_(ids)))
    calls = _deleted(session, delete(Call).where(expired(cutoff)))
    session.expire_all()
    return PurgeResult(cutoff=cutoff, calls=calls, events=events, motives=motives)


def _count(session: Session, query: Select[tuple[int]]) -> int:
    return int(session.scalar(query) or 0)


def _deleted(session: Session, statement: Delete) -> int:
    result = session.execute(statement, execution_options={"synchronize_session": False})
    return int(cast(CursorResult[Any], result).rowcount)
