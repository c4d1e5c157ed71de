"""Keeping the call book bounded and true: close calls Twilio never closed, purge old ones.

Call data is personal data: it is kept for a bounded time (IVR_RETENTION_DAYS)
and then deleted with its events and motives. What outlives the call is
anonymised past the same cutoff: the recording references (URL and
transcription) of voicemails, and the caller's number and name on finished
tickets and callbacks. A ticket still open keeps its messages and caller: a
person is still working on it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    CursorResult,
    Delete,
    Select,
    Update,
    and_,
    case,
    delete,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from callbook.calls import FINAL_STATUSES
from callbook.calls.models import Call, CallEvent, CallMotive
from callbook.tickets import OPEN_STATUSES, Callback, Ticket, TicketMessage

SWEEP_AFTER = timedelta(hours=4)
SWEPT_STATUS = "unknown"


def stale_calls(session: Session, now: datetime, older_than: timedelta = SWEEP_AFTER) -> list[str]:
    """The CallSids of the calls still open `older_than` after they started."""
    return list(session.scalars(select(Call.call_sid).where(_stale(now, older_than))))


def _stale(now: datetime, older_than: timedelta) -> ColumnElement[bool]:
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    return and_(Call.ended_at.is_(None), Call.started_at < now - older_than)


def sweep_open_calls(
    session: Session,
    now: datetime,
    older_than: timedelta = SWEEP_AFTER,
    *,
    reported: Mapping[str, str] | None = None,
) -> int:
    """Close the calls still open `older_than` after they started; the number closed.

    Their final `/voice/status` callback never came (a Twilio or network
    outage). `reported` holds what Twilio's REST API says of some of them, by
    CallSid: a final status closes the call with it, any other (the call
    still goes on) leaves it open. A call Twilio said nothing about gets the
    status "unknown". Either way `ended_at` becomes the moment of the sweep,
    the route "abandoned" when none was chosen, nobody is ringing for them any
    more, and a "swept" event keeps the status, where it came from and the
    last moment Twilio was heard from. Each call is claimed by a conditional
    UPDATE, so two sweeps running at once (or a status callback arriving
    meanwhile) close a call only once.
    """
    reported = reported or {}
    stale = session.execute(
        select(Call.id, Call.call_sid, Call.updated_at).where(_stale(now, older_than))
    ).all()
    closed = 0
    for call_id, call_sid, last_heard in stale:
        status = reported.get(call_sid)
        if status is not None and status not in FINAL_STATUSES:
            continue  # Twilio says it goes on
        data = {"status": status or SWEPT_STATUS, "last_heard": last_heard.isoformat()}
        if status is not None:
            data["source"] = "twilio"
        if _close_swept(session, call_id, data, now):
            closed += 1
    session.flush()
    session.expire_all()  # rows loaded before the UPDATE must not show the old status
    return closed


def _close_swept(session: Session, call_id: int, data: dict[str, str], now: datetime) -> bool:
    """Close one call with `data["status"]` and its "swept" event, unless it closed meanwhile."""
    claimed = cast(
        CursorResult[Any],
        session.execute(
            update(Call)
            .where(Call.id == call_id, Call.ended_at.is_(None))
            .values(
                status=data["status"],
                ended_at=now,
                route=case((Call.route == "", "abandoned"), else_=Call.route),
                dialing=[],
                updated_at=now,
            )
            .execution_options(synchronize_session=False)
        ),
    )
    if claimed.rowcount != 1:
        return False
    seq = session.scalar(select(func.max(CallEvent.seq)).where(CallEvent.call_id == call_id))
    session.add(CallEvent(call_id=call_id, seq=(seq or 0) + 1, at=now, kind="swept", data=data))
    return True


@dataclass(frozen=True, slots=True)
class PurgeResult:
    """What `purge_older_than` deleted (or would delete, on a dry run)."""

    cutoff: datetime
    calls: int
    events: int
    motives: int
    recordings: int = 0
    """Voicemail messages whose recording URL and transcription were cleared."""
    tickets: int = 0
    """Finished tickets whose caller (number, name) was cleared."""
    callbacks: int = 0
    """Finished callbacks whose numbers were cleared."""
    dry_run: bool = False

    def __str__(self) -> str:
        verb = "would delete" if self.dry_run else "deleted"
        return (
            f"{verb} {self.calls} calls, {self.events} events, {self.motives} motives; "
            f"{'would anonymise' if self.dry_run else 'anonymised'} {self.recordings} "
            f"recordings, {self.tickets} tickets, {self.callbacks} callbacks "
            f"(before {self.cutoff:%Y-%m-%d %H:%M} UTC)"
        )


def expired(cutoff: datetime) -> ColumnElement[bool]:
    """Calls that ended before `cutoff`, or started before it and never ended.

    A call ends after it starts, so both cases have started before the cutoff:
    the clause is written that way to use the index on `started_at`.
    """
    return and_(
        Call.started_at < cutoff,
        or_(Call.ended_at.is_(None), Call.ended_at < cutoff),
    )


def _old_recordings(cutoff: datetime) -> ColumnElement[bool]:
    """Voicemail messages older than `cutoff` that still hold a recording reference,
    unless their ticket is still open."""
    open_ticket = select(Ticket.id).where(Ticket.status.in_(OPEN_STATUSES))
    return and_(
        TicketMessage.created_at < cutoff,
        or_(TicketMessage.recording_url != "", TicketMessage.transcription != ""),
        or_(TicketMessage.ticket_id.is_(None), TicketMessage.ticket_id.not_in(open_ticket)),
    )


def _old_tickets(cutoff: datetime) -> ColumnElement[bool]:
    """Finished tickets, last changed before `cutoff`, that still name their caller."""
    return and_(
        Ticket.status.not_in(OPEN_STATUSES),
        Ticket.updated_at < cutoff,
        or_(Ticket.caller_number != "", Ticket.contact != ""),
    )


def _old_callbacks(cutoff: datetime) -> ColumnElement[bool]:
    """Finished callbacks, last changed before `cutoff`, that still hold the caller's number."""
    return and_(
        Callback.status.in_(("done", "failed", "canceled")),
        Callback.updated_at < cutoff,
        Callback.caller_number != "",
    )


def purge_older_than(session: Session, cutoff: datetime, *, dry_run: bool = False) -> PurgeResult:
    """Delete the calls that ended (or, never ended, started) before `cutoff`; anonymise the rest.

    Their events and motives go with them; the recording references of
    voicemails and the callers of finished tickets and callbacks older than
    `cutoff` are cleared (the rows stay: ticket numbers, deadlines and
    outcomes still count in the reports). With `dry_run`, count what would go
    and change nothing.
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
            recordings=_count(session, select(func.count()).where(_old_recordings(cutoff))),
            tickets=_count(session, select(func.count()).where(_old_tickets(cutoff))),
            callbacks=_count(session, select(func.count()).where(_old_callbacks(cutoff))),
            dry_run=True,
        )
    # Children first: the counts do not depend on whether the database enforces
    # the cascade (SQLite only does with PRAGMA foreign_keys=ON).
    events = _deleted(session, delete(CallEvent).where(CallEvent.call_id.in_(ids)))
    motives = _deleted(session, delete(CallMotive).where(CallMotive.call_id.in_(ids)))
    calls = _deleted(session, delete(Call).where(expired(cutoff)))
    recordings = _deleted(
        session,
        update(TicketMessage)
        .where(_old_recordings(cutoff))
        .values(recording_url="", transcription=""),
    )
    tickets = _deleted(
        session, update(Ticket).where(_old_tickets(cutoff)).values(caller_number="", contact="")
    )
    callbacks = _deleted(
        session,
        update(Callback)
        .where(_old_callbacks(cutoff))
        .values(caller_number="", agent_numbers=[], last_error=""),
    )
    session.expire_all()
    return PurgeResult(
        cutoff=cutoff,
        calls=calls,
        events=events,
        motives=motives,
        recordings=recordings,
        tickets=tickets,
        callbacks=callbacks,
    )


def _count(session: Session, query: Select[tuple[int]]) -> int:
    return int(session.scalar(query) or 0)


def _deleted(session: Session, statement: Delete | Update) -> int:
    """Rows deleted or updated by `statement`."""
    result = session.execute(statement, execution_options={"synchronize_session": False})
    return int(cast(CursorResult[Any], result).rowcount)
