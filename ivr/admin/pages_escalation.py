"""Escalation to the national level (/admin/tickets/<number>/escalate), referents only.

The ticket page shows the form to a referent whose structure the ticket
belongs to; `callbook.tickets.escalation` decides and writes the ticket's
level, its history and the audit log in one transaction.
"""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from callbook.db import get_session
from callbook.tickets import ESCALATION_NOTE_MAX, actions
from callbook.tickets.escalation import escalate
from ivr.admin.auth import current_user, require_role
from ivr.admin.blueprint import bp
from ivr.admin.pages_tickets import ticket_or_404, ticket_page
from ivr.notify.escalation import queue_escalation_emails
from schedules import clock

NOTE_FIELD_MAX = ESCALATION_NOTE_MAX * 2
"""Longer input is cut before it is checked (the refusal still says it is too long)."""


@bp.post("/tickets/<number>/escalate")
@require_role("referent")
def ticket_escalate(number: str) -> str | tuple[str, int] | BaseResponse:
    session = get_session()
    found = ticket_or_404(session, number)
    user = current_user()
    assert user is not None  # require_role let us in; an admin is refused by `escalate`
    note = request.form.get("note", "")[:NOTE_FIELD_MAX]
    try:
        escalate(session, found, user, note, clock.now())
    except actions.ActionRefused as exc:
        session.rollback()
        return ticket_page(number, f"Escalade refusée : {exc}.", note=note)
    queue_escalation_emails(session, found, user)
    session.commit()
    flash(f"Ticket {found.number} escaladé au niveau national.")
    return redirect(url_for("admin.ticket", number=found.number))
