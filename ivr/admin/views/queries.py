"""Queries of the read-mostly pages: what is going on now, searches, daily figures.

Builders return `Select` objects (the page adds paging); the few helpers that
must add figures up take the session.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, String, and_, case, distinct, func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from callbook.calls import may_go_on
from callbook.calls.models import Call, CallMotive
from callbook.reports import in_period
from callbook.tickets import OPEN_STATUSES, PRIORITY_RANK, Callback, Ticket, TicketMessage

DEADLINE_SOON = timedelta(hours=4)
"""A ticket due within this is "near its deadline" on the Today page."""
PENDING_CALLBACKS = ("pending", "claimed", "dialing")


# -- the Today page ----------------------------------------------------------------


def calls_in_progress(now: datetime, max_talk: timedelta) -> Select[tuple[Call]]:
    """Calls not ended yet that may still go on: what rang last did so within `max_talk`
    (older ones lost their final status callback)."""
    return select(Call).where(may_go_on(now, max_talk)).order_by(Call.started_at.desc())


def callbacks_due(
    now: datetime, horizon: timedelta = timedelta(hours=24)
) -> Select[tuple[Callback]]:
    """Callbacks waiting or being placed, due before `now + horizon`, most urgent first."""
    return (
        select(Callback)
        .where(Callback.status.in_(PENDING_CALLBACKS), Callback.due_at <= now + horizon)
        .order_by(Callback.due_at, Callback.rank, Callback.id)
    )


def tickets_at_risk(now: datetime, soon: timedelta = DEADLINE_SOON) -> Select[tuple[Ticket]]:
    """Open tickets past their deadline or due within `soon`, earliest deadline first."""
    return (
        select(Ticket)
        .where(Ticket.status.in_(OPEN_STATUSES), Ticket.deadline_at <= now + soon)
        .order_by(Ticket.deadline_at, Ticket.id)
    )


# -- tickets -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TicketFilter:
    status: str = "open"
    """'open' (every open status), 'all', or one status."""
    priority: str = ""
    structure: str = ""
    assignee: str = ""
    overdue: bool = False
    text: str = ""
    """A ticket number, part of a caller's number or contact, or a word of a message."""
    level: str = ""
    """'local' or 'national' ('' for both)."""


def ticket_search(f: TicketFilter, now: datetime) -> Select[tuple[Ticket]]:
    """Urgent open tickets first (an emergency left as a message), then by deadline."""
    query = select(Ticket)
    if f.status == "open":
        query = query.where(Ticket.status.in_(OPEN_STATUSES))
    elif f.status and f.status != "all":
        query = query.where(Ticket.status == f.status)
    if f.priority:
        query = query.where(Ticket.priority == f.priority)
    if f.structure:
        query = query.where(Ticket.structure == f.structure)
    if f.assignee:
        query = query.where(Ticket.assignee == f.assignee)
    if f.overdue:
        query = query.where(Ticket.status.in_(OPEN_STATUSES), Ticket.deadline_at < now)
    if f.level:
        query = query.where(Ticket.level == f.level)
    if f.text:
        like = f"%{f.text}%"
        in_messages = select(TicketMessage.ticket_id).where(
            TicketMessage.ticket_id.is_not(None), TicketMessage.transcription.ilike(like)
        )
        query = query.where(
            or_(
                Ticket.number == f.text,
                Ticket.caller_number.like(like),
                Ticket.contact.like(like),
                Ticket.id.in_(in_messages),
            )
        )
    urgent_first = case((and_(Ticket.urgent, Ticket.status.in_(OPEN_STATUSES)), 0), else_=1)
    return query.order_by(
        urgent_first, Ticket.deadline_at.is_(None), Ticket.deadline_at, Ticket.id.desc()
    )


def priority_rank(priority: str) -> int:
    return PRIORITY_RANK.get(priority, 2)


# -- the call book -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CallFilter:
    start: datetime
    end: datetime
    number: str = ""
    structure: str = ""
    motive: str = ""
    outcome: str = ""
    """A route ('hotline', 'voicemail', …) or 'answered' / 'unanswered'."""


def call_search(f: CallFilter) -> Select[tuple[Call]]:
    query = select(Call).where(*in_period(f.start, f.end, f.structure or None))
    if f.number:
        digits = "".join(c for c in f.number if c.isdigit())
        # National notation typed by a person (04 65 …) matches the E.164 number stored.
        tail = digits[1:] if digits.startswith("0") else digits
        query = query.where(Call.from_number.like(f"%{tail}%"))
    if f.motive:
        query = query.where(
            Call.id.in_(select(CallMotive.call_id).where(CallMotive.motive == f.motive))
        )
    if f.outcome == "answered":
        query = query.where(Call.answered_at.is_not(None))
    elif f.outcome == "unanswered":
        query = query.where(Call.answered_at.is_(None))
    elif f.outcome:
        query = query.where(Call.route == f.outcome)
    return query.order_by(Call.started_at.desc(), Call.id.desc())


# -- daily figures for the charts ------------------------------------------------------


def _utc_hour(session: Session) -> ColumnElement[str]:
    """The UTC hour a call started in, as 'YYYY-MM-DD HH' text (see callbook.reports)."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return func.to_char(func.timezone("UTC", Call.started_at), "YYYY-MM-DD HH24")
    return func.substr(Call.started_at, 1, 13, type_=String())


@dataclass(slots=True)
class Daily:
    """Per local day of a period: calls per motive family, calls, calls answered."""

    days: list[date]
    families: dict[str, list[int]] = field(default_factory=dict)
    calls: list[int] = field(default_factory=list)
    answered: list[int] = field(default_factory=list)


def _local_day(hour: str, zone: ZoneInfo) -> date:
    return datetime.fromisoformat(f"{hour}:00+00:00").astimezone(zone).date()


def daily_figures(
    session: Session,
    start: datetime,
    end: datetime,
    zone: ZoneInfo,
    structure: str | None = None,
) -> Daily:
    """Figures per local day of [start, end).

    Grouped in SQL by UTC hour (a UTC hour is one local hour in French zones),
    then placed on local days here, so DST days count their 23 or 25 hours.
    """
    first = start.astimezone(zone).date()
    last = (end - timedelta(microseconds=1)).astimezone(zone).date()
    days = [first + timedelta(days=k) for k in range((last - first).days + 1)]
    index = {day: i for i, day in enumerate(days)}
    out = Daily(days=days, calls=[0] * len(days), answered=[0] * len(days))
    where = in_period(start, end, structure)
    hour = _utc_hour(session).label("hour")
    answered = func.sum(case((Call.answered_at.is_not(None), 1), else_=0))
    for key, calls, took in session.execute(
        select(hour, func.count(), answered).where(*where).group_by(hour)
    ):
        i = index.get(_local_day(key, zone))
        if i is not None:
            out.calls[i] += int(calls)
            out.answered[i] += int(took or 0)
    family = func.coalesce(CallMotive.family, "").label("family")
    by_family: Select[Any] = (
        select(hour, family, func.count(distinct(Call.id)))
        .outerjoin(CallMotive, CallMotive.call_id == Call.id)
        .where(*where)
        .group_by(hour, family)
    )
    for key, name, calls in session.execute(by_family):
        i = index.get(_local_day(key, zone))
        if i is not None:
            out.families.setdefault(name, [0] * len(days))[i] += int(calls)
    return out
