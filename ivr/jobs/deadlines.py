"""Tickets near or past their deadline: warned before they overrun, flagged after."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from callbook.tickets import OPEN_STATUSES, Ticket
from callbook.tickets.opening import add_history
from ivr.config import ConfigDocument, Priority

log = logging.getLogger("ivr.deadlines")  # a stable name for log filters

WARN_SHARE = 0.25
"""Warn when less than this share of the ticket's business hours is left (at least 1 h)."""


@dataclass
class DeadlineReport:
    warned: int = 0
    overdue: int = 0


def check_deadlines(session: Session, doc: ConfigDocument, now: datetime) -> DeadlineReport:
    report = DeadlineReport()
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
            continue
        if ticket.deadline_warned:
            continue
        total = doc.tickets.deadline_hours.get(Priority(ticket.priority), 40.0)
        left = hotline.business_hours_between(now, deadline)
        if left <= max(1.0, total * WARN_SHARE):
            ticket.deadline_warned = True
            add_history(session, ticket, "scheduler", "deadline.warning", {"hours_left": left}, now)
            log.warning("ticket %s: %.1f business hours left", ticket.number, left)
            report.warned += 1
    return report
