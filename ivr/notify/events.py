"""Signed events to helpdesk receivers: what is sent, and when it is queued.

Five types (`ivr.receivers.EVENT_TYPES`). Each is one outbox row per
receiver (`kind="event"`, the receiver's name as recipient), written in the
transaction of the change that causes it:

- `ticket.created`, `ticket.updated` (status, assignee, priority or level
  changed, a message added) and `ticket.escalated` (level to national), and
  `callback.completed`: by a listener on the app's sessions (`install`), which
  sees every change made through the ORM, whichever page, API call, command or
  job made it;
- `call.completed`: by the status webhook (`call_completed`), which writes
  without the ORM; only when receivers are configured does it read the call.

The body is `{"type", "timestamp", "data"}`; `webhook-id` is derived from the
event, so a retry, and the same event queued twice, carry the same id and the
receiver can drop the copy. Signing happens at delivery (`event_transport`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from flask import Flask, current_app, has_app_context
from sqlalchemy import event, inspect, select
from sqlalchemy.orm import Session

from callbook import calls
from callbook.calls import FINAL_STATUSES
from callbook.calls.models import Call, CallMotive
from callbook.db import database
from callbook.outbox import store
from callbook.outbox.store import NewMessage
from callbook.tickets import Callback, Ticket, TicketMessage
from ivr.receivers import Receiver
from ivr.settings import Settings

WATCHED = ("status", "assignee", "priority", "level")
"""Ticket fields whose change is a `ticket.updated`."""


def receivers_for(settings: Settings, kind: str) -> list[Receiver]:
    return [r for r in settings.webhook_receivers if kind in r.events]


def messages(
    settings: Settings, kind: str, key: str, data: dict[str, Any], now: datetime
) -> list[NewMessage]:
    """One row per receiver of `kind`; `key` names the event (same key, same event)."""
    receivers = receivers_for(settings, kind)
    if not receivers:
        return []
    webhook_id = "msg_" + hashlib.sha256(f"{kind}:{key}".encode()).hexdigest()[:32]
    body = {"type": kind, "timestamp": _iso(now), "data": data}
    return [
        NewMessage(
            kind="event",
            topic=kind,
            recipient=r.name,
            dedupe_key=store.dedupe_key("event", webhook_id, r.name),
            subject=kind,
            payload={"id": webhook_id, "body": body},
        )
        for r in receivers
    ]


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment is not None else None


def _link(settings: Settings, path: str) -> str:
    base = settings.public_url.rstrip("/")
    return f"{base}{path}" if base else path


def ticket_data(settings: Settings, ticket: Ticket) -> dict[str, Any]:
    data: dict[str, Any] = {
        "number": ticket.number,
        "status": ticket.status,
        "priority": ticket.priority,
        "level": getattr(ticket, "level", "local") or "local",
        "urgent": ticket.urgent,
        "structure": ticket.structure,
        "motive": ticket.motive,
        "family": ticket.family,
        "assignee": ticket.assignee,
        "caller": ticket.caller_number,
        "contact": ticket.contact,
        "created_at": _iso(ticket.created_at),
        "updated_at": _iso(ticket.updated_at),
        "deadline_at": _iso(ticket.deadline_at),
        "url": _link(settings, f"/admin/tickets/{ticket.number}"),
    }
    if getattr(ticket, "escalated_at", None) is not None:
        data["escalation"] = {
            "by": getattr(ticket, "escalated_by", ""),
            "at": _iso(ticket.escalated_at),  # type: ignore[attr-defined]
            "note": getattr(ticket, "escalation_note", ""),
        }
    return data


def callback_data(callback: Callback, ticket_number: str | None) -> dict[str, Any]:
    return {
        "id": callback.id,
        "kind": callback.kind,
        "ticket": ticket_number,
        "caller": callback.caller_number,
        "answering": callback.answering,
        "attempts": callback.attempts,
        "call_sid": callback.call_sid,
        "due_at": _iso(callback.due_at),
        "completed_at": _iso(callback.updated_at),
    }


# -- through the ORM: a listener on the app's sessions -------------------------------------


def install(app: Flask) -> None:
    """Queue the ORM-made events of `app`'s sessions in their own transaction."""
    settings: Settings = app.config["IVR_SETTINGS"]
    if not settings.webhook_receivers:
        return  # no listener at all: nothing to pay when no helpdesk listens

    def after_flush(session: Session, _context: object) -> None:
        rows = list(_orm_events(session, settings))
        if rows:
            now = max(stamp for stamp, _ in rows)
            store.enqueue(session, [m for _, batch in rows for m in batch], now)

    event.listen(database(app).sessions, "after_flush", after_flush)


def _orm_events(
    session: Session, settings: Settings
) -> Iterable[tuple[datetime, list[NewMessage]]]:
    for obj in session.new:
        if isinstance(obj, Ticket):
            yield obj.created_at, messages(
                settings, "ticket.created", f"{obj.number}", ticket_data(settings, obj),
                obj.created_at,
            )  # fmt: skip
        elif (
            isinstance(obj, TicketMessage)
            and obj.ticket is not None
            and obj.ticket not in session.new
        ):
            ticket = obj.ticket
            change = {"field": "message", "recording": obj.recording_sid}
            yield obj.created_at, _updated(settings, ticket, [change], obj.created_at)
    for obj in session.dirty:
        if isinstance(obj, Ticket):
            yield from _ticket_changes(settings, obj)
        elif isinstance(obj, Callback):
            yield from _callback_done(session, settings, obj)


def _attached(session: Session, message: TicketMessage) -> bool:
    """A voicemail added to a ticket that existed before this flush."""
    return message.ticket is not None and message.ticket not in session.new


def _ticket_changes(
    settings: Settings, ticket: Ticket
) -> Iterable[tuple[datetime, list[NewMessage]]]:
    state = inspect(ticket)
    changes = []
    for name in WATCHED:
        if name not in state.attrs:
            continue
        history = state.attrs[name].history
        if history.has_changes() and history.deleted and history.added:
            changes.append({"field": name, "from": history.deleted[0], "to": history.added[0]})
    if not changes:
        return
    now = ticket.updated_at
    yield now, _updated(settings, ticket, changes, now)
    if any(c["field"] == "level" and c["to"] == "national" for c in changes):
        data = ticket_data(settings, ticket)
        yield now, messages(settings, "ticket.escalated", f"{ticket.number}", data, now)


def _updated(
    settings: Settings, ticket: Ticket, changes: list[dict[str, Any]], now: datetime
) -> list[NewMessage]:
    data = {**ticket_data(settings, ticket), "changes": changes}
    digest = hashlib.sha256(json.dumps(changes, sort_keys=True, default=str).encode())
    key = f"{ticket.number}:{_iso(now)}:{digest.hexdigest()[:12]}"
    return messages(settings, "ticket.updated", key, data, now)


def _callback_done(
    session: Session, settings: Settings, callback: Callback
) -> Iterable[tuple[datetime, list[NewMessage]]]:
    history = inspect(callback).attrs["status"].history
    if not (history.added and history.added[0] == "done" and history.deleted):
        return
    number = None
    if callback.ticket_id is not None:
        number = session.scalar(select(Ticket.number).where(Ticket.id == callback.ticket_id))
    now = callback.updated_at
    data = callback_data(callback, number)
    yield now, messages(settings, "callback.completed", str(callback.id), data, now)


# -- without the ORM: the status webhook ---------------------------------------------------

CALL_FIELDS = (
    "call_sid", "direction", "from_number", "to_number", "structure", "status", "route",
    "answered_by", "in_hours", "urgent", "duration", "started_at", "answered_at", "ended_at",
)  # fmt: skip


def on_status(db: calls.Database, status: str, call_id: int, now: datetime) -> int:
    """After a status callback is written: `call.completed` when the status is final."""
    if status not in FINAL_STATUSES or not has_app_context():
        return 0
    return call_completed(db, current_app.config["IVR_SETTINGS"], call_id, now)


def call_completed(db: calls.Database, settings: Settings, call_id: int, now: datetime) -> int:
    """Queue `call.completed` for a call whose final status was just written.

    Nothing is read unless a receiver wants the event.
    """
    if not receivers_for(settings, "call.completed"):
        return 0
    conn = calls.connection_of(db)
    table = Call.__table__
    row = (
        conn.execute(select(*(table.c[name] for name in CALL_FIELDS)).where(table.c.id == call_id))
        .mappings()
        .first()
    )
    if row is None:
        return 0
    motives = conn.execute(
        select(CallMotive.motive).where(CallMotive.call_id == call_id).order_by(CallMotive.position)
    ).scalars()
    data = {
        name: _iso(value) if isinstance(value, datetime) else value for name, value in row.items()
    }
    data["caller"] = data.pop("from_number")
    data["motives"] = list(motives)
    rows = messages(settings, "call.completed", str(row["call_sid"]), data, now)
    return store.enqueue_on(conn, rows, now) if rows else 0
