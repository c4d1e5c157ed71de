"""Keeping the call book bounded and true: close calls Twilio never closed, purge old ones.

Call data is personal data: it is kept for a bounded time (IVR_RETENTION_DAYS)
and then deleted with its events and motives. What outlives the call is
anonymised past the same cutoff, whatever its state: voicemail messages
(recording SID and URL, transcription), the callers of tickets and
callbacks; a callback still waiting is cancelled. A ticket someone still
works on keeps its caller and messages until it is left untouched for the
retention period or reaches its maximum age (IVR_TICKET_MAX_AGE_DAYS); it is
then closed and anonymised. The recordings themselves are deleted at Twilio
by the scheduler (`callbook.privacy.recordings`).
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
from sqlalchemy.orm import InstrumentedAttribute, Session
from sqlalchemy.sql.elements import ColumnElement

from callbook.calls import FINAL_STATUSES
from callbook.calls.models import Call, CallEvent, CallMotive
from callbook.privacy import anonymise
from callbook.privacy.recordings import already_queued, is_recording_sid, queue_deletions
from callbook.tickets import OPEN_STATUSES, Callback, Ticket, TicketMessage, TranscriptPiece
from schedules import clock

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
    """What `purge_older_than` deleted and anonymised (or would, on a dry run)."""

    cutoff: datetime
    calls: int
    events: int
    motives: int
    recordings: int = 0
    """Voicemail messages whose recording (SID, URL) and transcription were cleared."""
    tickets: int = 0
    """Tickets whose caller (number, name, CallSid) was cleared."""
    callbacks: int = 0
    """Callbacks whose numbers and SIDs were cleared."""
    closed: int = 0
    """Open tickets closed because they expired."""
    canceled: int = 0
    """Callbacks nobody had placed, cancelled."""
    queued: int = 0
    """Recordings queued for deletion at Twilio."""
    dry_run: bool = False

    def __str__(self) -> str:
        would = self.dry_run
        return (
            f"{'would delete' if would else 'deleted'} {self.calls} calls, {self.events} events, "
            f"{self.motives} motives; {'would anonymise' if would else 'anonymised'} "
            f"{self.recordings} recordings, {self.tickets} tickets, {self.callbacks} callbacks; "
            f"{'would close' if would else 'closed'} {self.closed} open tickets, "
            f"{'would cancel' if would else 'canceled'} {self.canceled} callbacks; "
            f"{self.queued} recordings {'would be ' if would else ''}queued for deletion "
            f"at Twilio (before {self.cutoff:%Y-%m-%d %H:%M} UTC)"
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


def _old_ticket(cutoff: datetime, ticket_cutoff: datetime) -> ColumnElement[bool]:
    """Tickets untouched since `cutoff`, or opened before `ticket_cutoff`, whatever their status."""
    return or_(Ticket.updated_at < cutoff, Ticket.created_at < ticket_cutoff)


def _tickets(cutoff: datetime, ticket_cutoff: datetime) -> Select[tuple[int]]:
    """Expired tickets that still name their caller or are still open."""
    holds = or_(
        Ticket.status.in_(OPEN_STATUSES),
        Ticket.caller_number != "",
        Ticket.contact != "",
        Ticket.call_sid != "",
    )
    return select(Ticket.id).where(_old_ticket(cutoff, ticket_cutoff), holds)


def _messages(cutoff: datetime, ticket_cutoff: datetime) -> Select[tuple[int]]:
    """Messages of expired tickets, and older than `cutoff` unless their ticket is still
    being worked on; only those still holding a recording, a transcription or a SID."""
    old_tickets = select(Ticket.id).where(_old_ticket(cutoff, ticket_cutoff))
    open_tickets = select(Ticket.id).where(Ticket.status.in_(OPEN_STATUSES))
    holds = or_(
        ~TicketMessage.recording_sid.startswith("erased-"),
        TicketMessage.recording_url != "",
        TicketMessage.transcription != "",
        TicketMessage.call_sid != "",
    )
    old_alone = and_(
        TicketMessage.created_at < cutoff,
        or_(TicketMessage.ticket_id.is_(None), TicketMessage.ticket_id.not_in(open_tickets)),
    )
    return select(TicketMessage.id).where(
        holds, or_(TicketMessage.ticket_id.in_(old_tickets), old_alone)
    )


def _callbacks(cutoff: datetime, ticket_cutoff: datetime) -> Select[tuple[int]]:
    """Callbacks of expired tickets or untouched since `cutoff`, whatever their status,
    that still hold a number or a SID, or still wait to be placed."""
    old_tickets = select(Ticket.id).where(_old_ticket(cutoff, ticket_cutoff))
    holds = or_(
        Callback.status.in_(anonymise.WAITING),
        Callback.caller_number != "",
        Callback.call_sid != "",
        Callback.outbound_sid != "",
    )
    return select(Callback.id).where(
        holds, or_(Callback.ticket_id.in_(old_tickets), Callback.updated_at < cutoff)
    )


def purge_older_than(
    session: Session,
    cutoff: datetime,
    *,
    ticket_cutoff: datetime | None = None,
    now: datetime | None = None,
    dry_run: bool = False,
) -> PurgeResult:
    """Delete the calls that ended (or, never ended, started) before `cutoff`; anonymise the rest.

    Their events and motives go with them. A ticket untouched since `cutoff`
    or opened before `ticket_cutoff` (default: `cutoff`) is closed if still
    open and anonymised with its messages and callbacks. So are the callbacks
    untouched since `cutoff` (cancelled first if still waiting) and the
    messages left before it, unless their ticket is still worked on. The rows
    stay: ticket numbers, deadlines and outcomes still count in the reports.
    Every recording they or the deleted calls named is queued for deletion at
    Twilio (`callbook.privacy.recordings`), in this transaction. With
    `dry_run`, count what would go and change nothing.
    """
    if cutoff.tzinfo is None or (ticket_cutoff and ticket_cutoff.tzinfo is None):
        raise ValueError("cutoff must be an aware datetime")
    ticket_cutoff = ticket_cutoff or cutoff
    now = now or clock.now()
    ids = select(Call.id).where(expired(cutoff)).scalar_subquery()
    tickets = list(session.scalars(_tickets(cutoff, ticket_cutoff)))
    messages = list(session.scalars(_messages(cutoff, ticket_cutoff)))
    callbacks = list(session.scalars(_callbacks(cutoff, ticket_cutoff)))
    if dry_run:
        return PurgeResult(
            cutoff=cutoff,
            calls=_count(session, select(func.count()).where(expired(cutoff))),
            events=_count(session, select(func.count()).where(CallEvent.call_id.in_(ids))),
            motives=_count(session, select(func.count()).where(CallMotive.call_id.in_(ids))),
            recordings=len(messages),
            tickets=len(tickets),
            callbacks=len(callbacks),
            closed=_count_among(session, Ticket.id, tickets, Ticket.status.in_(OPEN_STATUSES)),
            canceled=_count_among(
                session, Callback.id, callbacks, Callback.status.in_(anonymise.WAITING)
            ),
            queued=len(_recordings_to_queue(session, messages, expired(cutoff))),
            dry_run=True,
        )
    queued = anonymise.clear_messages(session, messages, reason="retention", now=now)
    cleared_callbacks, canceled = anonymise.clear_callbacks(
        session, callbacks, actor="retention", now=now
    )
    _, closed = anonymise.clear_tickets(
        session, tickets, actor="retention", action="retention.closed", close=True, now=now
    )
    found = anonymise.event_recordings(session, expired(cutoff))
    held = anonymise.still_referenced(session, sorted({sid for sid, _ in found}))
    orphans = [(sid, subject) for sid, subject in found if sid not in held]
    queued += queue_deletions(session, orphans, reason="retention", now=now)
    # Children first: the counts do not depend on whether the database enforces
    # the cascade (SQLite only does with PRAGMA foreign_keys=ON).
    # Pieces of transcriptions: their text is in the messages, cleared above.
    _deleted(session, delete(TranscriptPiece).where(TranscriptPiece.created_at < cutoff))
    events = _deleted(session, delete(CallEvent).where(CallEvent.call_id.in_(ids)))
    motives = _deleted(session, delete(CallMotive).where(CallMotive.call_id.in_(ids)))
    calls = _deleted(session, delete(Call).where(expired(cutoff)))
    session.expire_all()
    return PurgeResult(
        cutoff=cutoff, calls=calls, events=events, motives=motives, recordings=len(messages),
        tickets=len(tickets), callbacks=cleared_callbacks, closed=closed, canceled=canceled,
        queued=queued,
    )  # fmt: skip


def _count_among(
    session: Session, key: InstrumentedAttribute[int], ids: list[int], *where: ColumnElement[bool]
) -> int:
    """How many rows of `ids` (ids of `key`'s table) match `where`."""
    return sum(
        _count(session, select(func.count()).where(key.in_(chunk), *where))
        for chunk in anonymise.chunks(ids)
    )


def _recordings_to_queue(
    session: Session, message_ids: list[int], calls: ColumnElement[bool]
) -> set[str]:
    """The recordings a purge would queue: those of `message_ids`, and those named by the
    events of `calls` that no other message holds; minus those already queued."""
    held: set[str] = set()
    for chunk in anonymise.chunks(message_ids):
        held.update(
            session.scalars(select(TicketMessage.recording_sid).where(TicketMessage.id.in_(chunk)))
        )
    mine = {sid for sid in held if is_recording_sid(sid)}
    named = {sid for sid, _ in anonymise.event_recordings(session, calls)} - mine
    wanted = mine | (named - anonymise.still_referenced(session, sorted(named)))
    queued = already_queued(session, sorted(wanted))
    return wanted - queued


def _count(session: Session, query: Select[tuple[int]]) -> int:
    return int(session.scalar(query) or 0)


def _deleted(session: Session, statement: Delete | Update) -> int:
    """Rows deleted or updated by `statement`."""
    result = session.execute(statement, execution_options={"synchronize_session": False})
    return int(cast(CursorResult[Any], result).rowcount)
