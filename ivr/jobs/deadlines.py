"""Tickets near or past their deadline: warned before they overrun, flagged after.

The warning comes IVR_DEADLINE_WARNING_MINUTES business minutes (the
hotline's calendar) before the deadline; both it and the overrun notice go
by e-mail to the ticket's assignee (the e-mail of the technician the account
acts as), else to the hotline's mailbox (IVR_HOTLINE_EMAIL).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from callbook import outbox
from callbook.accounts.users import User
from callbook.tickets import OPEN_STATUSES, Ticket
from callbook.tickets.opening import add_history
from ivr.config import ConfigDocument
from ivr.notify import messages
from ivr.settings import Settings

log = logging.getLogger("ivr.deadlines")  # a stable name for log filters

WARNING_MINUTES = 60
"""The default lead of the warning (IVR_DEADLINE_WARNING_MINUTES)."""


@dataclass
class DeadlineReport:
    warned: int = 0
    overdue: int = 0


def check_deadlines(
    session: Session, doc: ConfigDocument, now: datetime, settings: Settings | None = None
) -> DeadlineReport:
    """Warn and flag; with `settings`, the e-mails go in the same transaction."""
    report = DeadlineReport()
    lead = (settings.deadline_warning_minutes if settings else WARNING_MINUTES) / 60
    hotline = doc.calendar(doc.hotline.calendar)
    tickets = session.scalars(
        select(Ticket).where(
            Ticket.status.in_(OPEN_STATUSES),
            Ticket.deadline_at.is_not(None),
            Ticket.deadline_at <= now + timedelta(days=14),
            or_(Ticket.flagged.is_(False), Ticket.deadline_warned.is_(False)),
        )
    )
    for ticket in tickets:
        deadline = ticket.deadline_at
        assert deadline is not None
        if now >= deadline:
            if not ticket.flagged:
                ticket.flagged = True
                add_history(session, ticket, "scheduler", "deadline.overdue", {}, now)
                log.warning("ticket %s is past its deadline (%s)", ticket.number, deadline)
                report.overdue += 1
                _notify(session, doc, settings, ticket, now, overdue=True)
            continue
        if ticket.deadline_warned:
            continue
        left = hotline.business_hours_between(now, deadline)
        if left <= lead:
            ticket.deadline_warned = True
            add_history(session, ticket, "scheduler", "deadline.warning", {"hours_left": left}, now)
            log.warning("ticket %s: %.1f business hours left", ticket.number, left)
            report.warned += 1
            _notify(session, doc, settings, ticket, now, left_minutes=round(left * 60))
    return report


def _notify(
    session: Session,
    doc: ConfigDocument,
    settings: Settings | None,
    ticket: Ticket,
    now: datetime,
    *,
    overdue: bool = False,
    left_minutes: int = 0,
) -> None:
    if settings is None or not settings.email_enabled:
        return
    recipient = assignee_email(session, doc, ticket.assignee) or settings.hotline_email
    rows = messages.deadline_notice(
        doc, settings, ticket, recipient, overdue=overdue, left_minutes=left_minutes
    )
    if rows:
        outbox.enqueue(session, rows, now)


def assignee_email(session: Session, doc: ConfigDocument, username: str) -> str:
    """The e-mail of the technician the assignee's account acts as; empty if none."""
    if not username:
        return ""
    user = session.scalars(select(User).where(User.username == username)).first()
    technician = doc.technician(user.technician) if user and user.technician else None
    return technician.email if technician is not None else ""
