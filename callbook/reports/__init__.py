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

The figures are `callbook.reports.figures`; the SQL behind them is
`callbook.reports.queries`.

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
from datetime import date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from callbook.calls.models import Call
from callbook.reports.figures import (
    TOP_IRRITANTS,
    WEEKDAYS,
    CallbackFigures,
    Line,
    MotiveLine,
    Report,
    TicketFigures,
)
from callbook.reports.queries import (
    Tally,
    callback_figures,
    groups_query,
    hourly,
    lines,
    ticket_figures,
    wait_figures,
    wait_histogram,
)
from schedules import clock

__all__ = [
    "DEFAULT_TIMEZONE",
    "PERIOD_KINDS",
    "TOP_IRRITANTS",
    "WEEKDAYS",
    "CallbackFigures",
    "Line",
    "MotiveLine",
    "PeriodKind",
    "Report",
    "TicketFigures",
    "build_report",
    "in_period",
    "local_midnight",
    "period",
]

PeriodKind = Literal["day", "week", "month", "quarter", "custom"]
PERIOD_KINDS: tuple[PeriodKind, ...] = ("day", "week", "month", "quarter", "custom")
DEFAULT_TIMEZONE = "Europe/Paris"
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

    `now` (default: `schedules.clock.now()`, the service's clock, which the console
    phone and the tests freeze) decides which callbacks are overdue and which
    open tickets have overrun their deadline.
    """
    zone = _zone(tz)
    now = now or clock.now()
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    where = in_period(start, end, structure)
    dialect = session.get_bind().dialect.name

    tally = Tally()
    for group in session.execute(groups_query(where, dialect)):
        tally.add(group)
    average, p90 = wait_figures(wait_histogram(session, where, dialect))
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
        by_family=lines(tally.by_family),
        by_motive=sorted(
            (MotiveLine(m, f, calls, count) for (m, f), (calls, count) in tally.by_motive.items()),
            key=lambda line: (-line.call_motives, line.motive, line.family),
        ),
        by_structure=lines(tally.by_structure),
        by_route=lines(tally.by_route),
        hourly=hourly(session, where, dialect, zone),
        callbacks=callback_figures(session, start, end, structure, now),
        tickets=ticket_figures(session, start, end, structure, now),
        at=now,
    )
