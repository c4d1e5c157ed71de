"""The figures the hotline lives by, for a period and optionally one structure.

A report covers the calls that *started* in [start, end). Every figure is
aggregated in SQL (GROUP BY): the database sends back a few hundred groups,
never the calls themselves, so a quarter of a large hotline reports in
about a second.

Words used below:
- a *call-motive* is one row of the call book's motives (one line of the
  "Historique des sollicitations"): a call covering two motives counts twice;
- *answered* means `answered_at` is set; the *wait* is answered_at - started_at;
- *out of hours* means `in_hours` is false (calls hung up before any route
  have no value and count as neither);
- *calls* are the inbound calls: the legs the service places itself (callbacks,
  on-call alerts) are in the book too, and are counted as callbacks, not calls.

Callbacks and tickets are counted when they were *created* in the period
(during the period's calls), of the structure of their ticket:
- a callback is *made* when the caller was reached, *overdue* when it is
  still waiting after its due time at the moment of the report;
- a ticket is *within its deadline* when it was resolved or closed without
  the scheduler ever finding it past its deadline (`deadline.overdue` in its
  history, checked every five minutes), *overrun* when it was found past its
  deadline or is still open after it.
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import Integer, Select, String, case, cast, func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from callbook.book import Call, CallMotive
from callbook.tickets import OPEN_STATUSES, Callback, Ticket, TicketHistory

PeriodKind = Literal["day", "week", "month", "quarter", "custom"]
PERIOD_KINDS: tuple[PeriodKind, ...] = ("day", "week", "month", "quarter", "custom")
DEFAULT_TIMEZONE = "Europe/Paris"
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
TOP_IRRITANTS = 5
INBOUND = "inbound"
"""Twilio's Direction of a call to our number; REST-placed legs are "outbound-api"."""


# -- periods ---------------------------------------------------------------------


def _zone(tz: str | ZoneInfo) -> ZoneInfo:
    return tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)


def local_midnight(day: date, tz: str | ZoneInfo) -> datetime:
    """The instant `day` begins in `tz`.

    Built from the wall clock, not by adding 24 h to the previous midnight:
    the days of the DST changes last 23 h and 25 h.
    """
    return datetime.combine(day, time(0), tzinfo=_zone(tz))


def period(
    kind: PeriodKind,
    anchor: date,
    tz: str | ZoneInfo = DEFAULT_TIMEZONE,
    *,
    last: date | None = None,
) -> tuple[datetime, datetime]:
    """The local period [start, end) of `kind` that contains `anchor`, as aware datetimes.

    - day: the anchor day; week: Monday to Sunday; month: the calendar month;
      quarter: the calendar quarter (January-March, April-June, …);
    - custom: from `anchor` to `last` included (both local days).
    """
    if kind == "day":
        first, after = anchor, anchor + timedelta(days=1)
    elif kind == "week":
        first = anchor - timedelta(days=anchor.weekday())
        after = first + timedelta(days=7)
    elif kind == "month":
        first = anchor.replace(day=1)
        after = first + timedelta(days=calendar.monthrange(first.year, first.month)[1])
    elif kind == "quarter":
        month = (anchor.month - 1) // 3 * 3 + 1
        first = date(anchor.year, month, 1)
        after = date(anchor.year + 1, 1, 1) if month == 10 else date(anchor.year, month + 3, 1)
    elif kind == "custom":
        if last is None:
            raise ValueError("a custom period needs its last day")
        if last < anchor:
            raise ValueError(f"the period ends ({last}) before it starts ({anchor})")
        first, after = anchor, last + timedelta(days=1)
    else:
        raise ValueError(f"unknown period kind {kind!r} (known: {', '.join(PERIOD_KINDS)})")
    return local_midnight(first, tz), local_midnight(after, tz)


# -- the report --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Line:
    """One line of a breakdown: a family, a structure or a route."""

    key: str
    calls: int
    call_motives: int


@dataclass(frozen=True, slots=True)
class MotiveLine:
    motive: str
    family: str
    calls: int
    call_motives: int


@dataclass(frozen=True, slots=True)
class CallbackFigures:
    """The callbacks (kind "callback") asked during the period."""

    asked: int = 0
    made: int = 0
    """The caller was reached."""
    overdue: int = 0
    """Still waiting (pending or being placed) after their due time."""
    waiting: int = 0
    """Not yet due."""
    failed: int = 0
    """Given up after the last attempt."""
    canceled: int = 0


@dataclass(frozen=True, slots=True)
class TicketFigures:
    """The tickets opened during the period."""

    opened: int = 0
    within_deadline: int = 0
    """Resolved or closed, never found past their deadline."""
    overrun: int = 0
    """Found past their deadline, or still open after it."""
    open: int = 0
    """Still open, deadline not reached."""

    @property
    def within_deadline_rate(self) -> float | None:
        """Within deadline among the tickets whose outcome is known (handled or overrun)."""
        settled = self.within_deadline + self.overrun
        return self.within_deadline / settled if settled else None


@dataclass(frozen=True, slots=True)
class Report:
    """Every figure of one period; `to_dict()` is its JSON form."""

    start: datetime
    end: datetime
    timezone: str
    structure: str | None
    calls: int
    call_motives: int
    without_motive: int
    """Calls with no motive at all: each is still one line of the history."""
    answered: int
    out_of_hours: int
    wait_average: float | None
    """Seconds, over answered calls."""
    wait_p90: float | None
    """Seconds: 90 % of answered calls waited this long or less."""
    by_family: list[Line] = field(default_factory=list)
    by_motive: list[MotiveLine] = field(default_factory=list)
    by_structure: list[Line] = field(default_factory=list)
    by_route: list[Line] = field(default_factory=list)
    hourly: list[list[int]] = field(default_factory=lambda: [[0] * 24 for _ in WEEKDAYS])
    """Calls per local weekday (0 = Monday) and local hour of the day."""
    callbacks: CallbackFigures = field(default_factory=CallbackFigures)
    tickets: TicketFigures = field(default_factory=TicketFigures)
    at: datetime | None = None
    """The moment the report was built: "overdue" and "overrun" are as of then."""

    @property
    def answer_rate(self) -> float | None:
        return self.answered / self.calls if self.calls else None

    @property
    def out_of_hours_share(self) -> float | None:
        return self.out_of_hours / self.calls if self.calls else None

    @property
    def history_lines(self) -> int:
        """Lines of the "Historique des sollicitations": one per call-motive, or per call."""
        return self.call_motives + self.without_motive

    @property
    def top_irritants(self) -> list[MotiveLine]:
        """The motives that cost the most call-motives, most first."""
        return self.by_motive[:TOP_IRRITANTS]

    def to_dict(self) -> dict[str, Any]:
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "timezone": self.timezone,
            "structure": self.structure,
            "calls": self.calls,
            "call_motives": self.call_motives,
            "without_motive": self.without_motive,
            "answered": self.answered,
            "answer_rate": self.answer_rate,
            "out_of_hours": self.out_of_hours,
            "out_of_hours_share": self.out_of_hours_share,
            "wait": {"average_seconds": self.wait_average, "p90_seconds": self.wait_p90},
            "by_family": [asdict(line) for line in self.by_family],
            "by_motive": [asdict(line) for line in self.by_motive],
            "by_structure": [asdict(line) for line in self.by_structure],
            "by_route": [asdict(line) for line in self.by_route],
            "top_irritants": [asdict(line) for line in self.top_irritants],
            "hourly": {"weekdays": list(WEEKDAYS), "calls": [list(h) for h in self.hourly]},
            "callbacks": asdict(self.callbacks),
            "tickets": {
                **asdict(self.tickets),
                "within_deadline_rate": self.tickets.within_deadline_rate,
            },
            "at": None if self.at is None else self.at.isoformat(),
        }


def in_period(start: datetime, end: datetime, structure: str | None) -> list[ColumnElement[bool]]:
    """The WHERE clauses selecting the inbound calls of a report (or an export)."""
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("a period is made of aware datetimes")
    clauses = [Call.started_at >= start, Call.started_at < end, Call.direction == INBOUND]
    if structure is not None:
        clauses.append(Call.structure == structure)
    return clauses


def build_report(
    session: Session,
    start: datetime,
    end: datetime,
    *,
    structure: str | None = None,
    tz: str | ZoneInfo = DEFAULT_TIMEZONE,
    now: datetime | None = None,
) -> Report:
    """Every figure for the calls started in [start, end), of `structure` if given.

    `now` (default: the system clock) decides which callbacks are overdue and
    which open tickets have overrun their deadline.
    """
    zone = _zone(tz)
    now = now or datetime.now(UTC)
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    where = in_period(start, end, structure)
    dialect = session.get_bind().dialect.name

    tally = _Tally()
    for group in session.execute(_groups_query(where, dialect)):
        tally.add(group)
    average, p90 = _wait_figures(_wait_histogram(session, where, dialect))
    return Report(
        start=start,
        end=end,
        timezone=zone.key,
        structure=structure,
        calls=tally.calls,
        call_motives=tally.call_motives,
        without_motive=tally.without_motive,
        answered=tally.answered,
        out_of_hours=tally.out_of_hours,
        wait_average=average,
        wait_p90=p90,
        by_family=_lines(tally.by_family),
        by_motive=sorted(
            (MotiveLine(m, f, calls, count) for (m, f), (calls, count) in tally.by_motive.items()),
            key=lambda line: (-line.call_motives, line.motive, line.family),
        ),
        by_structure=_lines(tally.by_structure),
        by_route=_lines(tally.by_route),
        hourly=_hourly(session, where, dialect, zone),
        callbacks=_callback_figures(session, start, end, structure, now),
        tickets=_ticket_figures(session, start, end, structure, now),
        at=now,
    )


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


def _groups_query(where: list[ColumnElement[bool]], dialect: str) -> Select[Any]:
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
class _Tally:
    """Adds up the groups of `_groups_query`."""

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


def _lines(counts: dict[str, list[int]]) -> list[Line]:
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


def _wait_histogram(
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


def _wait_figures(histogram: list[tuple[int, int]]) -> tuple[float | None, float | None]:
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


def _hourly(
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


def _callback_figures(
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


def _ticket_figures(
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
