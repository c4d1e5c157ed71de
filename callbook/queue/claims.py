"""Members claimed for waiting callers: one member per caller, one caller per member.

When a member is free, the caller first in line (waiting in the Twilio
queue, or on virtual hold) is given that member by a conditional UPDATE; the
rows of the team's line are locked first, so two dispatchers (two processes,
two machines) pick one after the other and see each other's claims. A claim
lasts until the member's leg ends (`release`); a virtual-hold claim until its
callback is no longer placed.
"""

from __future__ import annotations

from collections.abc import Collection, Container
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, and_, func, or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from callbook.queue import WAITING, QueueEntry
from callbook.tickets import Callback

HELD = "held"
"""Status of a virtual-hold callback waiting for a free member (not yet due)."""
PLACING = ("pending", "claimed", "dialing")


@dataclass(frozen=True, slots=True)
class Claim:
    entry_id: int
    call_sid: str
    caller: str
    agent_number: str
    callback_id: int | None
    """Set for a caller on virtual hold: their callback is now due, to this member."""


def agents_on_line(db: Connection | Session, now: datetime, max_talk: timedelta) -> set[str]:
    """Members claimed for a caller whose leg has not ended (bounded by `max_talk`)."""
    live = and_(
        QueueEntry.agent_number != "",
        QueueEntry.agent_ended_at.is_(None),
        QueueEntry.claimed_at > now - max_talk,
    )
    calling_back = select(Callback.id).where(
        Callback.id == QueueEntry.callback_id, Callback.status.in_(PLACING)
    )
    query = select(QueueEntry.agent_number).where(
        live, or_(QueueEntry.outcome != "hold", calling_back.exists())
    )
    return set(db.execute(query).scalars())


def _in_line(team: str) -> ColumnElement[bool]:
    held = select(Callback.id).where(Callback.id == QueueEntry.callback_id, Callback.status == HELD)
    return and_(
        QueueEntry.team == team,
        or_(QueueEntry.outcome == WAITING, and_(QueueEntry.outcome == "hold", held.exists())),
    )


def anyone_in_line(db: Connection | Session, team: str) -> bool:
    """Whether a caller of `team` waits (a cheap read, before any lock is taken)."""
    return db.execute(select(QueueEntry.id).where(_in_line(team)).limit(1)).first() is not None


def line(session: Session, team: str) -> list[QueueEntry]:
    """The team's line, first come first: callers waiting, and on virtual hold."""
    rows = session.scalars(
        select(QueueEntry)
        .where(_in_line(team))
        .order_by(QueueEntry.enqueued_at, QueueEntry.id)
        .with_for_update()
    )
    return list(rows)


def claim_next(
    session: Session,
    team: str,
    numbers: list[str],
    *,
    max_calls: int,
    in_use: Container[str],
    skip: Collection[str],
    now: datetime,
    max_talk: timedelta,
) -> Claim | None:
    """Give the first caller in line a free member of `numbers`; None when nobody waits
    or nobody is free (`in_use` on other calls, or `max_calls` reached)."""
    waiting = [row for row in line(session, team) if not row.agent_number]
    if not waiting:
        return None
    agents = agents_on_line(session, now, max_talk)
    on_line = [n for n in numbers if n in agents or n in in_use]
    free = [n for n in numbers if n not in on_line and n not in skip]
    if len(on_line) >= max_calls or not free:
        return None
    row, member = waiting[0], longest_idle(session, free)
    taken = session.execute(
        update(QueueEntry)
        .where(QueueEntry.id == row.id, QueueEntry.agent_number == "")
        .values(agent_number=member, agent_call_sid="", claimed_at=now, agent_ended_at=None)
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount != 1:  # type: ignore[attr-defined]
        return None
    if row.outcome == "hold" and row.callback_id is not None:
        session.execute(
            update(Callback)
            .where(Callback.id == row.callback_id, Callback.status == HELD)
            .values(status="pending", due_at=now, rank=0, agent_numbers=[member], updated_at=now)
            .execution_options(synchronize_session=False)
        )
    return Claim(row.id, row.call_sid, row.caller_number, member, row.callback_id)


def longest_idle(db: Connection | Session, members: list[str]) -> str:
    """The member whose last caller from the line was given longest ago (or never):
    the line's calls are shared out, not all given to the first number."""
    rows = db.execute(
        select(QueueEntry.agent_number, func.max(QueueEntry.claimed_at))
        .where(QueueEntry.agent_number.in_(members))
        .group_by(QueueEntry.agent_number)
    ).all()
    last = {number: at for number, at in rows}
    never = datetime.min.replace(tzinfo=UTC)
    return min(members, key=lambda n: (last.get(n) or never, members.index(n)))


def record_agent_call(session: Session, entry_id: int, member: str, agent_call_sid: str) -> bool:
    """The member's leg was created: its CallSid on the claim (unless the claim moved)."""
    result = session.execute(
        update(QueueEntry)
        .where(
            QueueEntry.id == entry_id,
            QueueEntry.agent_number == member,
            QueueEntry.agent_call_sid == "",
        )
        .values(agent_call_sid=agent_call_sid)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1  # type: ignore[attr-defined]


def release(
    session: Session, *, agent_call_sid: str, entry_id: int, member: str, now: datetime
) -> QueueEntry | None:
    """The member's leg ended: the member is free; a caller still waiting is unclaimed.

    Found by the leg's CallSid, or (when it never reached the row) by the entry
    and member it was placed for.
    """
    row = None
    if agent_call_sid:
        row = session.scalars(
            select(QueueEntry).where(QueueEntry.agent_call_sid == agent_call_sid).with_for_update()
        ).first()
    if row is None and entry_id:
        row = session.scalars(
            select(QueueEntry)
            .where(
                QueueEntry.id == entry_id,
                QueueEntry.agent_number == member,
                QueueEntry.agent_call_sid.in_(("", agent_call_sid)),
            )
            .with_for_update()
        ).first()
    if row is None:
        return None
    if row.outcome == WAITING:
        row.agent_number, row.agent_call_sid, row.claimed_at = "", "", None
    elif row.agent_ended_at is None:
        row.agent_ended_at = now
    return row


def wake_held(session: Session, team: str, due_at: datetime, now: datetime) -> int:
    """Virtual-hold callbacks still waiting for a member become due at `due_at`, first
    in line (the service closed before a member was free)."""
    ids = select(QueueEntry.callback_id).where(
        QueueEntry.team == team, QueueEntry.outcome == "hold"
    )
    result = session.execute(
        update(Callback)
        .where(Callback.status == HELD, Callback.id.in_(ids))
        .values(status="pending", due_at=due_at, rank=0, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def waiting_count(db: Connection | Session, team: str) -> int:
    rows = db.execute(
        select(QueueEntry.id).where(QueueEntry.team == team, QueueEntry.outcome == WAITING)
    )
    return len(rows.all())


def release_stale(session: Session, now: datetime, older_than: timedelta) -> int:
    """Claims for callers still waiting long after the member's leg was placed: that leg
    never bridged (its status callback was lost), so the caller may have another member."""
    result = session.execute(
        update(QueueEntry)
        .where(
            QueueEntry.outcome == WAITING,
            QueueEntry.agent_number != "",
            QueueEntry.claimed_at < now - older_than,
        )
        .values(agent_number="", agent_call_sid="", claimed_at=None)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
