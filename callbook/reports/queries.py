"""The SQL of a report (`callbook.reports`): every figure aggregated in the database.

One grouped pass over the period's calls gives every total and breakdown
(`groups_query`, added up by `Tally`); the waits, the hours, the callbacks and
the tickets take one grouped query each.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Integer, Select, String, case, cast, func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from callbook.calls.models import Call, CallMotive
from callbook.reports.figures import WEEKDAYS, CallbackFigures, Line, TicketFigures
from callbook.tickets import OPEN_STATUSES, Callback, Ticket, TicketHistory

# Separators of a call's motives in its signature: control characters that no
# motive key or family contains.
PAIR, FIELD = "\x1e", "\x1f"


def _signature(dialect: str) -> ColumnElement[str | None]:
    """A call's motives as one text, 'motive<FIELD>family<PAIR>…'; NULL without motives."""
    pair = CallMotive.motive + FIELD + CallMotive.family
    if dialect == "sqlite":
        joined = func.group_concat(pair, PAIR, type_=String())
    elif dialect == "postgresql":
        joined = func.string_agg(pair, PAIR, type_=String())
    else:
        raise NotImplementedError(f"reports support SQLite and PostgreSQL, not {dialect}")
    return (
        select(joined)
        .where(CallMotive.call_id == Call.id)
        .correlate(Call)
        .scalar_subquery()
        .label("motives")
    )


def groups_query(where: list[ColumnElement[bool]], dialect: str) -> Select[Any]:
    """The calls grouped by everything the report counts: one pass over the period.

    Each call is reduced to its structure, route, in_hours, answered or not,
    and the signature of its motives; the database counts identical calls.
    A quarter of a large hotline gives a few thousand groups, from which every
    total and breakdown (but the hours and the waits) is added up exactly.
    """
    per_call = (
        select(
            Call.structure,
            Call.route,
            Call.in_hours,
            Call.answered_at.is_not(None).label("answered"),
            _signature(dialect),
        )
        .where(*where)
        .subquery("per_call")
    )
    keys = list(per_call.c)
    return select(*keys, func.count()).group_by(*keys)


@dataclass(slots=True)
class Tally:
    """Adds up the groups of `groups_query`."""

    calls: int = 0
    call_motives: int = 0
    without_motive: int = 0
    answered: int = 0
    out_of_hours: int = 0
    by_family: dict[str, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))
    by_motive: dict[tuple[str, str], list[int]] = field(
        default_factory=lambda: defaultdict(lambda: [0, 0])
    )
    by_structure: dict[str, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))
    by_route: dict[str, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))

    def add(self, group: Any) -> None:
        structure, route, in_hours, answered, signature, count = group
        pairs = [tuple(p.split(FIELD, 1)) for p in signature.split(PAIR)] if signature else []
        self.calls += count
        self.call_motives += len(pairs) * count
        self.without_motive += 0 if pairs else count
        self.answered += count if answered else 0
        self.out_of_hours += count if in_hours is False else 0
        for lines, key in ((self.by_structure, structure), (self.by_route, route)):
            lines[key][0] += count
            lines[key][1] += len(pairs) * count
        for motive, family in pairs:
            self.by_motive[(motive, family)][1] += count
            self.by_family[family][1] += count
        for motive_family in set(pairs):  # a call counts once per motive and per family
            self.by_motive[motive_family][0] += count
        for family in {family for _, family in pairs}:
            self.by_family[family][0] += count


def lines(counts: dict[str, list[int]]) -> list[Line]:
    lines = (Line(key, calls, call_motives) for key, (calls, call_motives) in counts.items())
    return sorted(lines, key=lambda line: (-line.calls, -line.call_motives, line.key))


def _wait_seconds(dialect: str) -> ColumnElement[Any]:
    if dialect == "sqlite":
        days = func.julianday(Call.answered_at) - func.julianday(Call.started_at)
        return cast(func.round(days * 86400), Integer)
    if dialect == "postgresql":
        seconds = func.extract("epoch", Call.answered_at) - func.extract("epoch", Call.started_at)
        return cast(func.round(seconds), Integer)
    raise NotImplementedError(f"reports support SQLite and PostgreSQL, not {dialect}")


def wait_histogram(
    session: Session, where: list[ColumnElement[bool]], dialect: str
) -> list[tuple[int, int]]:
    """(wait in whole seconds, answered calls): waits take a few hundred distinct values.

    Grouping by the wait lets SQL do the counting on both databases (SQLite has
    no percentile function) while the average and the p90 stay exact to the second.
    """
    seconds = _wait_seconds(dialect).label("seconds")
    query: Select[Any] = (
        select(seconds, func.count()).where(*where, Call.answered_at.is_not(None)).group_by(seconds)
    )
    return [(max(int(wait), 0), int(count)) for wait, count in session.execute(query)]


def wait_figures(histogram: list[tuple[int, int]]) -> tuple[float | None, float | None]:
    """Average and p90 (nearest rank: the smallest wait that 90 % of calls do not exceed)."""
    total = sum(count for _, count in histogram)
    if not total:
        return None, None
    average = sum(wait * count for wait, count in histogram) / total
    rank = -(-9 * total // 10)  # ceil(0.9 * total), in integers
    seen = 0
    for wait, count in sorted(histogram):
        seen += count
        if seen >= rank:
            return average, float(wait)
    raise AssertionError("unreachable: the ranks add up to the total")


def _utc_hour(dialect: str) -> ColumnElement[str]:
    """The UTC hour a call started in, as 'YYYY-MM-DD HH' text."""
    if dialect == "sqlite":
        # Stored as 'YYYY-MM-DD HH:MM:SS.ffffff' in UTC (callbook.db.UTCDateTime).
        return func.substr(Call.started_at, 1, 13, type_=String())
    if dialect == "postgresql":
        utc = func.timezone("UTC", Call.started_at)
        return func.to_char(utc, "YYYY-MM-DD HH24", type_=String())
    raise NotImplementedError(f"reports support SQLite and PostgreSQL, not {dialect}")


def hourly(
    session: Session, where: list[ColumnElement[bool]], dialect: str, zone: ZoneInfo
) -> list[list[int]]:
    """Calls per local weekday and local hour.

    SQL groups by the UTC date *and* hour (about 2,200 groups for a quarter);
    each group is then placed in local time here. Grouping by a local hour in
    SQL with one fixed offset would be wrong on the DST days: on 29 March
    02:00 local does not exist, on 25 October it happens twice. A UTC hour
    always falls in exactly one local hour in zones whose offset is a whole
    number of hours, Europe/Paris and the French overseas zones included.
    """
    hour = _utc_hour(dialect).label("hour")
    query: Select[Any] = select(hour, func.count()).where(*where).group_by(hour)
    grid = [[0] * 24 for _ in WEEKDAYS]
    for key, count in session.execute(query):
        local = datetime.fromisoformat(f"{key}:00+00:00").astimezone(zone)
        grid[local.weekday()][local.hour] += int(count)
    return grid


# -- callbacks and tickets ------------------------------------------------------------


def callback_figures(
    session: Session, start: datetime, end: datetime, structure: str | None, now: datetime
) -> CallbackFigures:
    past_due = (Callback.due_at < now).label("past_due")
    query: Select[Any] = (
        select(Callback.status, past_due, func.count())
        .where(Callback.kind == "callback", Callback.created_at >= start, Callback.created_at < end)
        .group_by(Callback.status, past_due)
    )
    if structure is not None:
        query = query.join(Ticket, Ticket.id == Callback.ticket_id).where(
            Ticket.structure == structure
        )
    counts: dict[str, int] = defaultdict(int)
    for status, late, count in session.execute(query):
        if status in ("pending", "claimed", "dialing"):
            counts["overdue" if late else "waiting"] += count
        elif status == "done":
            counts["made"] += count
        elif status in ("failed", "canceled"):
            counts[status] += count
        counts["asked"] += count
    return CallbackFigures(**counts)


def ticket_figures(
    session: Session, start: datetime, end: datetime, structure: str | None, now: datetime
) -> TicketFigures:
    # Not correlated: the database reads the history once (ticket_history has
    # no index on ticket_id; a correlated EXISTS would scan it per ticket).
    flagged_late = Ticket.id.in_(
        select(TicketHistory.ticket_id).where(TicketHistory.action == "deadline.overdue")
    )
    is_open = Ticket.status.in_(OPEN_STATUSES)
    late_now = is_open & Ticket.deadline_at.is_not(None) & (Ticket.deadline_at <= now)
    outcome = case(
        (flagged_late | late_now, "overrun"),
        (is_open, "open"),
        else_="within_deadline",
    ).label("outcome")
    query: Select[Any] = (
        select(outcome, func.count())
        .where(Ticket.created_at >= start, Ticket.created_at < end)
        .group_by(outcome)
    )
    if structure is not None:
        query = query.where(Ticket.structure == structure)
    counts = {str(key): int(count) for key, count in session.execute(query)}
    return TicketFigures(opened=sum(counts.values()), **counts)
