"""A caller's wait, as rows: joined, left (and why), bridged to a member.

Twilio tells each step of a wait through webhooks that may come twice or late;
every function here changes a row only from the state it expects, so a retry
or a late request records nothing twice and never rewrites an ended wait.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Connection, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from callbook.queue import WAITING, QueueEntry

ENDED = ("bridged", "abandoned", "closing", "max_wait", "hold")


def entry(session: Session, call_sid: str) -> QueueEntry | None:
    return session.scalars(select(QueueEntry).where(QueueEntry.call_sid == call_sid)).one_or_none()


def is_known(db: Connection | Session, call_sid: str) -> bool:
    """Whether the wait of `call_sid` has its row (a read: no lock taken)."""
    found = db.execute(select(QueueEntry.id).where(QueueEntry.call_sid == call_sid)).first()
    return found is not None


def join(
    session: Session,
    *,
    call_sid: str,
    team: str,
    caller: str,
    position: int,
    waited: int,
    now: datetime,
) -> QueueEntry:
    """The caller's row, written on the first news of the wait (position, time waited)."""
    found = entry(session, call_sid)
    if found is not None:
        return found
    row = QueueEntry(
        call_sid=call_sid,
        team=team,
        caller_number=caller,
        enqueued_at=now - timedelta(seconds=max(waited, 0)),
        position=position,
        outcome=WAITING,
        agent_number="",
        agent_call_sid="",
    )
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:  # the same wait written meanwhile by another request
        found = entry(session, call_sid)
        assert found is not None
        return found
    return row


def end(
    session: Session, row: QueueEntry, outcome: str, now: datetime, waited: int | None = None
) -> bool:
    """The wait ends with `outcome`, unless it had ended already; True when it is this one."""
    result = session.execute(
        update(QueueEntry)
        .where(QueueEntry.id == row.id, QueueEntry.outcome == WAITING)
        .values(
            outcome=outcome,
            ended_at=now,
            wait_seconds=waited if waited is not None else _waited(row, now),
        )
        .execution_options(synchronize_session=False)
    )
    session.refresh(row)
    return result.rowcount == 1  # type: ignore[attr-defined]


def settle_wait(session: Session, row: QueueEntry, waited: int) -> None:
    """Twilio's own count of the wait (QueueTime), when the action URL brings it."""
    if waited > 0 and row.outcome != WAITING:
        row.wait_seconds = waited


def bridged(
    session: Session, call_sid: str, agent_call_sid: str, waited: int, now: datetime
) -> QueueEntry | None:
    """The caller is connected to the member's leg `agent_call_sid`.

    Twilio hands the member the caller at the head of the line, which may not be
    the caller that member was claimed for: the claims are then swapped, so each
    waiting caller keeps one member on the way and no member has two callers.
    """
    row = session.scalars(
        select(QueueEntry).where(QueueEntry.call_sid == call_sid).with_for_update()
    ).one_or_none()
    if row is None or row.outcome != WAITING:
        return row
    claimed = session.scalars(
        select(QueueEntry)
        .where(QueueEntry.agent_call_sid == agent_call_sid, QueueEntry.id != row.id)
        .with_for_update()
    ).one_or_none()
    number = row.agent_number
    if claimed is not None:
        number = claimed.agent_number
        if claimed.outcome == WAITING:
            claimed.agent_number, claimed.agent_call_sid = row.agent_number, row.agent_call_sid
            claimed.claimed_at = row.claimed_at if row.agent_number else None
        else:
            claimed.agent_call_sid = ""
    row.agent_number, row.agent_call_sid = number, agent_call_sid
    row.claimed_at = row.claimed_at or now
    row.outcome = "bridged"
    row.ended_at = now
    row.wait_seconds = waited if waited > 0 else _waited(row, now)
    return row


def _waited(row: QueueEntry, now: datetime) -> int:
    return max(int((now - row.enqueued_at).total_seconds()), 0)


def first_waiting(session: Session, team: str) -> QueueEntry | None:
    return session.scalars(
        select(QueueEntry)
        .where(QueueEntry.team == team, QueueEntry.outcome == WAITING)
        .order_by(QueueEntry.enqueued_at, QueueEntry.id)
        .limit(1)
    ).first()


def expire(session: Session, now: datetime, older_than: timedelta) -> int:
    """Waits that began longer ago than any wait may last and never ended: their end
    was never reported (a lost action request). Counted as abandoned."""
    rows = session.scalars(
        select(QueueEntry).where(
            QueueEntry.outcome == WAITING, QueueEntry.enqueued_at < now - older_than
        )
    ).all()
    for row in rows:
        end(session, row, "abandoned", now)
    return len(rows)
