"""Due callbacks as rows: list, claim exactly once, record each attempt.

Claiming is one conditional UPDATE (`WHERE status = 'pending'`) whose row
count says who won: two dispatchers on the same database never both dial.

A row goes pending -> claimed -> dialing -> done / pending (retry) / failed.
"dialing" is committed *before* the REST request, so a dispatcher killed at
any point never leaves a row that another one would dial again:
- killed after the claim, before "dialing": nobody was called; the claim goes
  stale and `release_stale` puts the row back in the queue;
- killed after "dialing" (during or after the request, before its CallSid is
  written): the call may be ringing. Its webhooks still find the row
  "dialing" and record the outcome; if none comes, `stale_dialing` turns it
  into a failed attempt, retried later like any unanswered call.

Until "dialing" is committed nobody was called, so a claimed row can still be
cancelled (its ticket closed, by hand): `start_dialing` is itself a
conditional UPDATE that only starts a row still claimed whose ticket is not
closed, and `cancel` locks the row before reading its status.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import exists, select, update
from sqlalchemy.orm import Session

from callbook.tickets import CLOSED_STATUSES, Callback, Ticket
from callbook.tickets.opening import add_history

ACTIVE = ("claimed", "dialing")
CANCELABLE = ("pending", "claimed")
"""Callbacks nobody is calling yet: what closing their ticket cancels."""


def due_ids(session: Session, now: datetime, limit: int = 500) -> list[int]:
    """Pending callbacks that are due, first the most urgent, then the oldest."""
    rows = session.scalars(
        select(Callback.id)
        .where(Callback.status == "pending", Callback.due_at <= now)
        .order_by(Callback.rank, Callback.due_at, Callback.id)
        .limit(limit)
    )
    return list(rows)


def claim(session: Session, callback_id: int, worker: str, now: datetime) -> bool:
    result = session.execute(
        update(Callback)
        .where(Callback.id == callback_id, Callback.status == "pending")
        .values(status="claimed", claimed_by=worker, claimed_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1  # type: ignore[attr-defined]


def release_stale(session: Session, now: datetime, older_than: timedelta) -> int:
    """Claims left by a dispatcher that died before dialling go back to the queue.

    A row is only "claimed" until `start_dialing` commits, which happens
    before the REST request: a "claimed" row was never dialled, so a restart
    re-queues it and re-dials nobody who was actually called.
    """
    result = session.execute(
        update(Callback)
        .where(Callback.status == "claimed", Callback.claimed_at < now - older_than)
        .values(status="pending", claimed_by="", updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def stale_dialing(session: Session, now: datetime, older_than: timedelta) -> list[Callback]:
    """Dialled callbacks whose outcome never came back (a lost status callback)."""
    return list(
        session.scalars(
            select(Callback).where(
                Callback.status == "dialing", Callback.updated_at < now - older_than
            )
        )
    )


def still_running(session: Session, callback_id: int, outbound_sid: str, now: datetime) -> None:
    """Twilio says the call of this attempt goes on (a long conversation): wait again."""
    session.execute(
        update(Callback)
        .where(
            Callback.id == callback_id,
            Callback.status == "dialing",
            Callback.outbound_sid == outbound_sid,
        )
        .values(updated_at=now)
        .execution_options(synchronize_session=False)
    )


def get(session: Session, callback_id: int) -> Callback | None:
    return session.get(Callback, callback_id)


def start_dialing(session: Session, callback: Callback, now: datetime) -> bool:
    """The attempt starts: committed before the REST request (see the module docstring).

    False, and nothing written, when the row is no longer claimed or its
    ticket was closed since it was read (the dispatcher then dials nobody).
    """
    closed = select(Ticket.id).where(
        Ticket.id == Callback.ticket_id, Ticket.status.in_(CLOSED_STATUSES)
    )
    result = session.execute(
        update(Callback)
        .where(Callback.id == callback.id, Callback.status == "claimed", ~exists(closed))
        .values(status="dialing", outbound_sid="", attempts=Callback.attempts + 1, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return False
    session.refresh(callback)
    _history(session, callback, "callback.dialing", {"attempt": callback.attempts}, now)
    return True


def record_sid(
    session: Session, callback_id: int, attempt: int, outbound_sid: str, now: datetime
) -> bool:
    """Write the CallSid of attempt `attempt`, unless a webhook already settled it."""
    result = session.execute(
        update(Callback)
        .where(
            Callback.id == callback_id,
            Callback.status == "dialing",
            Callback.attempts == attempt,
            Callback.outbound_sid == "",
        )
        .values(outbound_sid=outbound_sid, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1  # type: ignore[attr-defined]


def mark_done(session: Session, callback: Callback, now: datetime, detail: str = "") -> None:
    if callback.status in ("done", "failed", "canceled"):
        return
    callback.status = "done"
    callback.updated_at = now
    _history(session, callback, "callback.done", {"detail": detail}, now)


def attempt_failed(
    session: Session,
    callback: Callback,
    reason: str,
    *,
    next_due: datetime | None,
    max_attempts: int,
    now: datetime,
    counted: bool = False,
) -> None:
    """Retry later, or give up: the ticket is then flagged for a person to act."""
    if callback.status in ("done", "failed", "canceled", "pending"):
        return  # outcome already recorded (callbacks may come twice)
    if not counted and callback.status == "claimed":
        callback.attempts += 1
    callback.last_error = reason[:500]
    callback.updated_at = now
    callback.outbound_sid = ""
    if callback.attempts >= max_attempts or next_due is None:
        callback.status = "failed"
        _history(session, callback, "callback.failed", {"reason": reason}, now)
        ticket = session.get(Ticket, callback.ticket_id) if callback.ticket_id else None
        if ticket is not None:
            ticket.flagged = True
        return
    callback.status = "pending"
    callback.due_at = next_due
    callback.claimed_by = ""
    _history(
        session, callback, "callback.retry",
        {"reason": reason, "next": next_due.isoformat(), "attempt": callback.attempts}, now,
    )  # fmt: skip


def _history(
    session: Session, callback: Callback, action: str, detail: dict[str, object], now: datetime
) -> None:
    ticket = session.get(Ticket, callback.ticket_id) if callback.ticket_id else None
    if ticket is not None:
        add_history(session, ticket, "dispatcher", action, {"callback": callback.id, **detail}, now)


# -- by hand: technicians start, cancel or reschedule a callback -----------------


def listing(session: Session, statuses: tuple[str, ...] | None = None) -> list[Callback]:
    query = select(Callback).order_by(Callback.due_at, Callback.rank, Callback.id)
    if statuses:
        query = query.where(Callback.status.in_(statuses))
    return list(session.scalars(query))


def reschedule(
    session: Session, callback: Callback, due_at: datetime, *, actor: str, now: datetime
) -> None:
    """Due at `due_at` (now: "call now", the dispatcher places it within seconds).

    A failed or cancelled callback can be started again; one being dialled
    cannot, nor one whose ticket is closed (the dispatcher would cancel it).
    """
    if callback.status in ACTIVE:
        raise ValueError(f"callback {callback.id} is being dialled; wait for its outcome")
    if callback.status == "done":
        raise ValueError(f"callback {callback.id} is already done")
    ticket = session.get(Ticket, callback.ticket_id) if callback.ticket_id else None
    if ticket is not None and ticket.status in CLOSED_STATUSES:
        raise ValueError(f"ticket {ticket.number} is {ticket.status}; reopen it first")
    callback.status = "pending"
    callback.due_at = due_at
    callback.claimed_by = ""
    callback.updated_at = now
    if callback.attempts and callback.last_error.startswith("expired"):
        callback.attempts = 0
    _history(
        session, callback, "callback.rescheduled", {"by": actor, "due_at": due_at.isoformat()}, now
    )


def cancel(
    session: Session, callback: Callback, *, actor: str, now: datetime, ticket_status: str = ""
) -> None:
    """Cancel a callback nobody is calling yet (pending, failed, or claimed but not dialled).

    The row is locked and read again first: a dispatcher that starts dialling
    meanwhile either waits for this transaction (and then dials nobody) or
    has already committed "dialing", which is refused here.
    """
    session.refresh(callback, with_for_update=True)
    if callback.status in ("done", "canceled"):
        return
    if callback.status == "dialing":
        raise ValueError(f"callback {callback.id} is being dialled; wait for its outcome")
    callback.status = "canceled"
    callback.updated_at = now
    detail = {"by": actor, "ticket": ticket_status} if ticket_status else {"by": actor}
    _history(session, callback, "callback.canceled", detail, now)


def to_notify(session: Session, limit: int = 200) -> list[Callback]:
    """Callbacks asked by a caller who has not been told the slot by SMS yet."""
    return list(
        session.scalars(
            select(Callback)
            .where(
                Callback.kind == "callback",
                Callback.status == "pending",
                Callback.caller_notified.is_(False),
            )
            .order_by(Callback.id)
            .limit(limit)
        )
    )
