"""What a person does to tickets and callbacks: admin pages, JSON API, command line.

Every function changes the rows, writes the ticket's history and one audit
line, in the caller's transaction: the change and its traces commit together.
Refusals raise `ActionRefused` with a sentence the page can show as is.

Closing a ticket (a closed or resolved status, a merge) cancels the callbacks
nobody is calling yet in the same transaction (`cancel_callbacks`), each with
its own audit line: a closed request never rings anybody.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from callbook.history.audit import record_audit
from callbook.tickets import (
    CLOSED_STATUSES,
    OPEN_STATUSES,
    PRIORITY_RANK,
    TICKET_STATUSES,
    Callback,
    Ticket,
    TicketMessage,
    dispatch,
)
from callbook.tickets.opening import add_history

ACTIVE_CALLBACKS = ("pending", "claimed", "dialing")


class ActionRefused(ValueError):
    """The change cannot be made; the message says why, in French."""


def set_status(session: Session, ticket: Ticket, status: str, *, actor: str, now: datetime) -> bool:
    """Move the ticket to `status`; False when it already is."""
    if status not in TICKET_STATUSES:
        raise ActionRefused(f"statut inconnu : {status}")
    before = ticket.status
    if status == before:
        return False
    ticket.status = status
    ticket.updated_at = now
    add_history(session, ticket, actor, "status", {"before": before, "after": status}, now)
    record_audit(session, actor, "ticket", ticket.number, "status", before, status, at=now)
    if status in CLOSED_STATUSES:
        cancel_callbacks(session, ticket, was=before, actor=actor, now=now)
    return True


def assign(session: Session, ticket: Ticket, assignee: str, *, actor: str, now: datetime) -> bool:
    """Give the ticket to `assignee` ('' to unassign); a new ticket becomes assigned."""
    before = ticket.assignee
    if assignee == before:
        return False
    ticket.assignee = assignee
    if assignee and ticket.status == "new":
        ticket.status = "assigned"
    ticket.updated_at = now
    add_history(session, ticket, actor, "assigned", {"before": before, "after": assignee}, now)
    record_audit(session, actor, "ticket", ticket.number, "assign", before, assignee, at=now)
    return True


def merge(session: Session, source: Ticket, target: Ticket, *, actor: str, now: datetime) -> int:
    """Move `source`'s messages onto `target` and close `source`; the messages moved.

    The target keeps the higher priority and the earlier deadline of the two;
    a callback still waiting on the source moves to the target, unless the
    target already has one of the same kind: the source's is then cancelled
    with the source's closure (`cancel_callbacks`).
    """
    if source.id == target.id:
        raise ActionRefused("un ticket ne peut pas être fusionné avec lui-même")
    if target.status not in OPEN_STATUSES:
        raise ActionRefused(f"le ticket {target.number} est clos : rouvrez-le d'abord")
    messages = list(
        session.scalars(select(TicketMessage).where(TicketMessage.ticket_id == source.id))
    )
    for message in messages:
        message.ticket_id = target.id
    if PRIORITY_RANK.get(source.priority, 2) < PRIORITY_RANK.get(target.priority, 2):
        target.priority = source.priority
    target.urgent = target.urgent or source.urgent
    deadlines = [d for d in (source.deadline_at, target.deadline_at) if d is not None]
    target.deadline_at = min(deadlines) if deadlines else None
    _move_callbacks(session, source, target)
    before = source.status
    source.status = "closed"
    source.updated_at = target.updated_at = now
    detail = {"messages": len(messages)}
    add_history(session, source, actor, "merged_into", {"ticket": target.number, **detail}, now)
    add_history(session, target, actor, "merged_from", {"ticket": source.number, **detail}, now)
    record_audit(
        session, actor, "ticket", source.number, "merge",
        {"status": before}, {"status": "closed", "merged_into": target.number}, at=now,
    )  # fmt: skip
    cancel_callbacks(session, source, was=before, actor=actor, now=now)
    return len(messages)


def _move_callbacks(session: Session, source: Ticket, target: Ticket) -> None:
    """The source's waiting callbacks go on for the target, one of each kind.

    One being dialled moves whatever the target has (the call is ringing:
    its outcome belongs to the request); the others stay on the source when
    the target already waits for one of the same kind, and are cancelled
    with the source's closure.
    """
    waiting = session.scalars(
        select(Callback)
        .where(Callback.ticket_id == source.id, Callback.status.in_(ACTIVE_CALLBACKS))
        .order_by(Callback.id)
        .with_for_update()
    ).all()
    for callback in waiting:
        taken = session.scalar(
            select(Callback.id).where(
                Callback.ticket_id == target.id,
                Callback.kind == callback.kind,
                Callback.status.in_(ACTIVE_CALLBACKS),
            )
        )
        if taken is None or callback.status == "dialing":
            callback.ticket_id = target.id


def cancel_callbacks(
    session: Session, ticket: Ticket, *, was: str, actor: str, now: datetime
) -> list[int]:
    """Cancel the callbacks of `ticket`, just closed, that nobody is calling yet; their ids.

    Every path that closes a ticket ends here, in the closure's transaction;
    each cancellation goes to the ticket's history and the audit log
    (`was`: the ticket's status before the closure). A callback already
    being dialled goes on: its call is ringing. The rows are locked, so a
    dispatcher about to dial one waits for this transaction, then dials nobody.
    """
    waiting = session.scalars(
        select(Callback)
        .where(Callback.ticket_id == ticket.id, Callback.status.in_(dispatch.CANCELABLE))
        .order_by(Callback.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).all()
    for callback in waiting:
        before = {**_callback_view(callback), "ticket_status": was}
        dispatch.cancel(session, callback, actor=actor, now=now, ticket_status=ticket.status)
        after = {**_callback_view(callback), "ticket_status": ticket.status}
        record_audit(session, actor, "callback", callback.id, "cancel", before, after, at=now)
    return [callback.id for callback in waiting]


def find_ticket(session: Session, number: str) -> Ticket | None:
    return session.scalars(select(Ticket).where(Ticket.number == number.strip())).one_or_none()


# -- callbacks -------------------------------------------------------------------


def _callback_view(callback: Callback) -> dict[str, object]:
    return {"status": callback.status, "due_at": callback.due_at.isoformat()}


def call_now(session: Session, callback: Callback, *, actor: str, now: datetime) -> None:
    """Place the callback at the next dispatch (within seconds)."""
    reschedule(session, callback, now, actor=actor, now=now, action="call_now")


def reschedule(
    session: Session,
    callback: Callback,
    due_at: datetime,
    *,
    actor: str,
    now: datetime,
    action: str = "reschedule",
) -> None:
    before = _callback_view(callback)
    try:
        dispatch.reschedule(session, callback, due_at, actor=actor, now=now)
    except ValueError as exc:
        raise ActionRefused(_refusal(session, callback, exc)) from exc
    record_audit(
        session, actor, "callback", callback.id, action, before, _callback_view(callback), at=now
    )


def cancel(session: Session, callback: Callback, *, actor: str, now: datetime) -> None:
    before = _callback_view(callback)
    try:
        dispatch.cancel(session, callback, actor=actor, now=now)
    except ValueError as exc:
        raise ActionRefused(_refusal(session, callback, exc)) from exc
    if before["status"] != callback.status:
        record_audit(
            session, actor, "callback", callback.id, "cancel", before, _callback_view(callback),
            at=now,
        )  # fmt: skip


def _refusal(session: Session, callback: Callback, exc: ValueError) -> str:
    if callback.status == "done":
        return f"le rappel {callback.id} est déjà fait"
    if callback.status in dispatch.ACTIVE:
        return f"le rappel {callback.id} est en cours de numérotation : attendez son issue"
    ticket = session.get(Ticket, callback.ticket_id) if callback.ticket_id else None
    if ticket is not None and ticket.status in CLOSED_STATUSES:
        state = "résolu" if ticket.status == "resolved" else "clos"
        return f"le ticket {ticket.number} est {state} : rouvrez-le d'abord"
    return str(exc)
