"""The e-mails of an escalation, queued in the escalation's own transaction."""

from __future__ import annotations

from flask import current_app
from sqlalchemy.orm import Session

from callbook import outbox
from callbook.accounts.users import User
from callbook.history.revisions import active_revision
from callbook.tickets import Ticket
from ivr.config.revisions import revision_document
from ivr.notify import messages
from schedules import clock


def queue_escalation_emails(session: Session, ticket: Ticket, user: User) -> int:
    """The referents' confirmation and the national notice (nothing while e-mail is off).

    The directory is read through `session`: on SQLite a second connection
    would wait on the write lock this transaction holds.
    """
    revision = active_revision(session)
    if revision is None:
        return 0
    doc = revision_document(revision)
    who = user.display_name or user.username
    rows = messages.ticket_escalated(doc, current_app.config["IVR_SETTINGS"], ticket, who)
    return outbox.enqueue(session, rows, clock.now()) if rows else 0
