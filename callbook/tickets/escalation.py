"""Escalation: a local referent hands a request over to the national team.

After a first analysis, a structure's referent who cannot solve a request
escalates it to the national level with the request reformulated (the
note). Only referents escalate, and only their own structure's open,
still-local tickets: the ticket's level, who and when are kept on the
ticket, the ticket's history and the audit log take one line each, in the
caller's transaction. Refusals raise `ActionRefused` with a French sentence
the page can show as is.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from callbook.accounts.users import User
from callbook.history.audit import record_audit
from callbook.tickets import CLOSED_STATUSES, ESCALATION_NOTE_MAX, Ticket
from callbook.tickets.actions import ActionRefused
from callbook.tickets.opening import add_history

NOTE_MIN = 10
"""A reformulated request says more than "voir PJ"."""


def escalation_refusal(ticket: Ticket, by: User) -> str | None:
    """Why `by` may not escalate `ticket` (whatever the note), or None."""
    if by.role != "referent" or not by.structure:
        return "seuls les référents d'une structure peuvent escalader un ticket"
    if ticket.structure != by.structure:
        return f"le ticket {ticket.number} n'est pas celui de votre structure"
    if ticket.status in CLOSED_STATUSES:
        state = "résolu" if ticket.status == "resolved" else "clos"
        return f"le ticket {ticket.number} est {state} : rouvrez-le avant de l'escalader"
    if ticket.level == "national":
        return f"le ticket {ticket.number} est déjà au niveau national"
    return None


def clean_note(note: str) -> str:
    """The reformulated request as stored; ActionRefused when empty or too long."""
    text = "\n".join(line.rstrip() for line in note.strip().replace("\r\n", "\n").splitlines())
    text = "".join(c for c in text if c.isprintable() or c == "\n")
    if not text:
        raise ActionRefused("reformulez la demande pour l'équipe nationale : la note est vide")
    if len(text) < NOTE_MIN:
        raise ActionRefused(
            f"la note est trop courte ({NOTE_MIN} caractères au moins) : "
            "reformulez la demande pour l'équipe nationale"
        )
    if len(text) > ESCALATION_NOTE_MAX:
        raise ActionRefused(
            f"la note est trop longue ({len(text)} caractères, {ESCALATION_NOTE_MAX} au plus)"
        )
    return text


def escalate(session: Session, ticket: Ticket, by: User, note: str, now: datetime) -> None:
    """Move `ticket` to the national level with `by`'s reformulated `note`."""
    refusal = escalation_refusal(ticket, by)
    if refusal is not None:
        raise ActionRefused(refusal)
    text = clean_note(note)
    ticket.level = "national"
    ticket.escalated_by = by.username
    ticket.escalated_at = now
    ticket.escalation_note = text
    ticket.updated_at = now
    add_history(
        session, ticket, by.username, "escalated",
        {"before": "local", "after": "national", "note": text}, now,
    )  # fmt: skip
    record_audit(
        session, by.username, "ticket", ticket.number, "escalate",
        {"level": "local"}, {"level": "national", "note": text}, at=now,
    )  # fmt: skip
    session.flush()
