"""Erase one caller: every row about a number, anonymised where reports count it.

`plan` finds what concerns the number (E.164, as calls store Twilio's
`From`): its calls (inbound from it, the callback legs placed to it), their
events and motive lines, its tickets with their messages and history, its
callbacks, and the recordings named by any of them. `apply` then keeps the
calls, motive lines, tickets and callbacks (the reports count them) with
every personal field blanked, deletes the call events, cancels the
callbacks still waiting and queues the recordings for deletion at Twilio. An
open ticket stays open (the request may still need work) with a history
line saying its caller was erased. The configuration's contact entry is the web service's
part (`ivr.privacy`); `forget_in_documents` clears the number from what is
stored as documents (configuration revisions, the draft, the audit log).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Text, cast, delete, func, or_, select, update
from sqlalchemy.orm import Session

from callbook.calls.models import Call, CallEvent, CallMotive
from callbook.history.audit import AuditEntry
from callbook.history.drafts import ConfigDraft
from callbook.history.models import ConfigRevision
from callbook.outbox import OutboxMessage
from callbook.privacy import ERASED, anonymise, placeholder, subject_hash
from callbook.privacy.recordings import already_queued, is_recording_sid, queue_deletions
from callbook.tickets import Callback, Ticket, TicketMessage


@dataclass(slots=True)
class ErasurePlan:
    """The rows of one number, by kind (ids), and what they hold."""

    number: str
    calls: list[int] = field(default_factory=list)
    call_sids: list[str] = field(default_factory=list)
    tickets: list[int] = field(default_factory=list)
    messages: list[int] = field(default_factory=list)
    callbacks: list[int] = field(default_factory=list)
    events: int = 0
    motives: int = 0
    recordings: list[str] = field(default_factory=list)
    """RecordingSids named by the messages and call events, not queued yet."""
    outbox: list[int] = field(default_factory=list)
    """Messages to or about the number (sent or waiting): deleted, never delivered."""

    @property
    def subject(self) -> str:
        return subject_hash(self.number)

    def counts(self) -> dict[str, int]:
        return {
            "calls": len(self.calls),
            "events": self.events,
            "motives": self.motives,
            "tickets": len(self.tickets),
            "messages": len(self.messages),
            "callbacks": len(self.callbacks),
            "recordings": len(self.recordings),
            "outbox": len(self.outbox),
        }


def plan(session: Session, number: str) -> ErasurePlan:
    """Everything stored about `number` (E.164), changing nothing."""
    if not number:
        raise ValueError("no number to erase")
    found = ErasurePlan(number)
    placed = select(Callback.outbound_sid).where(
        Callback.caller_number == number, Callback.outbound_sid != ""
    )
    rows = session.execute(
        select(Call.id, Call.call_sid).where(
            or_(Call.from_number == number, Call.to_number == number, Call.call_sid.in_(placed))
        )
    ).all()
    found.calls = [row_id for row_id, _ in rows]
    found.call_sids = [sid for _, sid in rows]
    sids = found.call_sids
    found.tickets = _ids(
        session,
        select(Ticket.id).where(or_(Ticket.caller_number == number, Ticket.call_sid.in_(sids))),
    )
    found.messages = _ids(
        session,
        select(TicketMessage.id).where(
            or_(TicketMessage.ticket_id.in_(found.tickets), TicketMessage.call_sid.in_(sids))
        ),
    )
    found.callbacks = _ids(
        session,
        select(Callback.id).where(
            or_(
                Callback.caller_number == number,
                Callback.ticket_id.in_(found.tickets),
                Callback.call_sid.in_(sids),
            )
        ),
    )
    for chunk in anonymise.chunks(found.calls):
        found.events += _count(session, CallEvent.call_id.in_(chunk))
        found.motives += _count(session, CallMotive.call_id.in_(chunk))
    found.recordings = _recordings(session, found)
    found.outbox = _ids(
        session,
        select(OutboxMessage.id).where(
            or_(
                OutboxMessage.recipient == number,
                cast(OutboxMessage.payload, Text).contains(number, autoescape=True),
            )
        ),
    )
    return found


def _ids(session: Session, query: Any) -> list[int]:
    return sorted(set(session.scalars(query)))


def _count(session: Session, where: Any) -> int:
    return int(session.scalar(select(func.count()).where(where)) or 0)


def _recordings(session: Session, found: ErasurePlan) -> list[str]:
    sids: set[str] = set()
    for chunk in anonymise.chunks(found.messages):
        sids.update(
            session.scalars(select(TicketMessage.recording_sid).where(TicketMessage.id.in_(chunk)))
        )
    for chunk in anonymise.chunks(found.calls):
        sids.update(sid for sid, _ in anonymise.event_recordings(session, Call.id.in_(chunk)))
    wanted = sorted(sid for sid in sids if is_recording_sid(sid))
    return sorted(set(wanted) - already_queued(session, wanted))


def apply(session: Session, found: ErasurePlan, *, actor: str, now: datetime) -> dict[str, int]:
    """Erase what `found` lists; counts per kind, as `ErasurePlan.counts`, plus the
    callbacks cancelled. The audit entries of its calls lose their CallSid and notes."""
    subject = found.subject
    queue_deletions(
        session, [(sid, subject) for sid in found.recordings], reason="erasure", now=now
    )
    anonymise.clear_messages(session, found.messages, reason="erasure", now=now)
    anonymise.clear_transcripts(session, found.call_sids)
    _, canceled = anonymise.clear_callbacks(session, found.callbacks, actor=actor, now=now)
    anonymise.clear_tickets(
        session, found.tickets, actor=actor, action="privacy.erased", close=False, now=now
    )
    anonymise.clear_calls(session, found.calls, found.number)
    for chunk in anonymise.chunks(found.outbox):
        session.execute(delete(OutboxMessage).where(OutboxMessage.id.in_(chunk)))
    _forget_call_audit(session, dict(zip(found.call_sids, found.calls, strict=True)))
    session.expire_all()
    return {**found.counts(), "canceled": canceled}


def _forget_call_audit(session: Session, calls: dict[str, int]) -> None:
    """Audit entries about erased calls: named by the call's new id, notes cleared."""
    listed = sorted(calls)
    for start in range(0, len(listed), anonymise.CHUNK):
        chunk = listed[start : start + anonymise.CHUNK]
        rows = session.execute(
            select(AuditEntry.id, AuditEntry.entity_id, AuditEntry.action).where(
                AuditEntry.entity == "call", AuditEntry.entity_id.in_(chunk)
            )
        ).all()
        for row_id, sid, action in rows:
            values: dict[str, Any] = {"entity_id": placeholder(calls[sid])}
            if action == "note":
                values.update(before=ERASED, after=ERASED)
            _rewrite_audit(session, row_id, values)


def _rewrite_audit(session: Session, row_id: int, values: dict[str, Any]) -> None:
    # A Core UPDATE: audit entries are immutable to the ORM; erasure is the one exception.
    session.execute(update(AuditEntry).where(AuditEntry.id == row_id).values(**values))


# -- stored documents: configuration revisions, the draft, the audit log ------------------


def forget(value: Any, number: str) -> Any:
    """`value` (JSON data) without `number`: an entry whose "number" it is goes (a contact),
    and the number becomes ERASED inside any text."""
    if isinstance(value, str):
        return value.replace(number, ERASED)
    if isinstance(value, list):
        return [forget(item, number) for item in value if not _entry_of(item, number)]
    if isinstance(value, dict):
        if _entry_of(value, number):
            return None
        return {key: forget(item, number) for key, item in value.items()}
    return value


def _entry_of(value: Any, number: str) -> bool:
    return isinstance(value, dict) and value.get("number") == number


def without_contact(document: dict[str, Any], number: str) -> dict[str, Any]:
    """A configuration document (data) without the contacts of `number`."""
    contacts = document.get("contacts") or []
    return {**document, "contacts": [c for c in contacts if not _entry_of(c, number)]}


def forget_in_documents(session: Session, number: str) -> dict[str, int]:
    """Remove the contact of `number` from every stored revision and the draft, and the
    number from the audit log; how many of each were rewritten.

    Revisions are otherwise never changed: without this, rolling back to an
    older one would bring the erased contact back.
    """
    pattern = f"%{number}%"
    revisions = 0
    for rev_id, document in session.execute(
        select(ConfigRevision.id, ConfigRevision.document).where(
            cast(ConfigRevision.document, Text).like(pattern)
        )
    ).all():
        cleaned = without_contact(document, number)
        if cleaned != document:
            session.execute(
                update(ConfigRevision).where(ConfigRevision.id == rev_id).values(document=cleaned)
            )
            revisions += 1
    drafts = 0
    draft = session.get(ConfigDraft, ConfigDraft.ROW_ID, populate_existing=True)
    if draft is not None and _entry_in(draft.document, number):
        draft.document = without_contact(draft.document, number)
        drafts = 1
    audit = 0
    for row_id, entity_id, before, after in session.execute(
        select(AuditEntry.id, AuditEntry.entity_id, AuditEntry.before, AuditEntry.after).where(
            or_(
                cast(AuditEntry.before, Text).like(pattern),
                cast(AuditEntry.after, Text).like(pattern),
            )
        )
    ).all():
        named = _entry_in(before, number) or _entry_in(after, number)
        values = {"before": forget(before, number), "after": forget(after, number)}
        if named and entity_id.startswith("contacts/"):
            values["entity_id"] = f"contacts/{ERASED}"  # the contact's name
        _rewrite_audit(session, row_id, values)
        audit += 1
    session.flush()
    return {"revisions": revisions, "drafts": drafts, "audit": audit}


def _entry_in(value: Any, number: str) -> bool:
    """Whether `value` holds, anywhere, an entry whose "number" is `number`."""
    if _entry_of(value, number):
        return True
    if isinstance(value, list):
        return any(_entry_in(item, number) for item in value)
    if isinstance(value, dict):
        return any(_entry_in(item, number) for item in value.values())
    return False
