"""Contact-centre figures: how the callers who wanted a person were served, per team.

A *team* is `hotline` or a structure's key (`callbook.queue.QueueEntry.team`).
A period is [start, end), as in `callbook.reports`.

Words used below, for one team and one period:
- a *wait* is one row of `queue_entries` enqueued in the period: one caller
  put in the team's queue;
- a *direct answer* is an inbound call started in the period, answered
  (`answered_at` set) without ever waiting in a queue (no `queue_entries` row
  with its CallSid). It counts as answered, with a wait of 0 s. Its team is
  the call's structure when a referent answered (route `referent`), else
  `hotline`;
- *offered* = waits + direct answers. Calls that never reached anyone who
  could answer (closed, voicemail, hung up in the menu) are not offered;
  they are in the general report;
- *answered* = waits bridged to a member + direct answers;
- *abandoned* = waits the caller hung up (outcome `abandoned`);
- the other waits ended at closing time (`closing`), after the longest wait
  (`max_wait`), or on virtual hold with a callback keeping the caller's
  place (`hold`: the *callbacks from the queue*); `waiting` ones go on;
- the *abandon rate* is abandoned / offered;
- the *service level* is the share of the settled offered calls (offered
  minus those still waiting) answered within `threshold` seconds of waiting
  (IVR_SERVICE_LEVEL_SECONDS, 20 by default); direct answers are within it;
- the *average* and *90th-percentile wait* are over the answered calls (the
  speed of answer; nearest rank, exact to the second), the *longest wait*
  over every ended wait whatever its outcome;
- the *abandons heat map* counts abandoned waits per local weekday and hour
  of the moment the caller was enqueued, in the zone given (the calendar's).

Every figure is aggregated in SQL: waits are grouped by team, outcome and
whole second of wait (a year gives a few thousand groups), from which the
counts and the percentiles are added up here, the same on SQLite (which has
no percentile function) and PostgreSQL.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, String, case, exists, func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from callbook.calls.models import Call
from callbook.queue import WAITING, QueueEntry
from callbook.reports.figures import WEEKDAYS
from callbook.reports.queries import wait_figures

DEFAULT_THRESHOLD = 20
HOTLINE = "hotline"
ENDED = ("bridged", "abandoned", "closing", "max_wait", "hold")
WAIT_HORIZON = timedelta(hours=4)
"""Twilio's longest call: no caller has waited longer."""
DIRECT = "direct"
"""Outcome given here to a direct answer: answered, never queued."""


@dataclass(frozen=True, slots=True)
class TeamFigures:
    """The figures of one team (or of every team, `team` = "")."""

    team: str
    offered: int = 0
    answered: int = 0
    answered_directly: int = 0
    answered_within: int = 0
    abandoned: int = 0
    closing: int = 0
    max_wait: int = 0
    hold: int = 0
    """Callbacks from the queue (virtual hold)."""
    waiting: int = 0
    wait_average: float | None = None
    wait_p90: float | None = None
    longest_wait: int | None = None

    @property
    def abandon_rate(self) -> float | None:
        return self.abandoned / self.offered if self.offered else None

    @property
    def service_level(self) -> float | None:
        settled = self.offered - self.waiting
        return self.answered_within / settled if settled else None

    def to_dict(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "abandon_rate": self.abandon_rate,
            "service_level": self.service_level,
        }


@dataclass(frozen=True, slots=True)
class ContactCentre:
    """Every team's figures for one period, their total, and the abandons heat map."""

    start: datetime
    end: datetime
    timezone: str
    team: str | None
    threshold: int
    total: TeamFigures
    teams: list[TeamFigures] = field(default_factory=list)
    abandons: list[list[int]] = field(default_factory=lambda: [[0] * 24 for _ in WEEKDAYS])
    """Abandoned waits per local weekday (0 = Monday) and local hour."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "timezone": self.timezone,
            "team": self.team,
            "service_level_seconds": self.threshold,
            "total": self.total.to_dict(),
            "teams": [figures.to_dict() for figures in self.teams],
            "abandons": {"weekdays": list(WEEKDAYS), "counts": [list(r) for r in self.abandons]},
        }


# -- the SQL ------------------------------------------------------------------------


def _direct_team() -> ColumnElement[str]:
    return case(
        ((Call.route == "referent") & (Call.structure != ""), Call.structure), else_=HOTLINE
    )


def _waits_query(start: datetime, end: datetime, team: str | None) -> Select[Any]:
    """(team, outcome, whole seconds waited, waits): the period's waits, grouped."""
    seconds = func.coalesce(QueueEntry.wait_seconds, 0).label("seconds")
    query = select(QueueEntry.team, QueueEntry.outcome, seconds, func.count()).where(
        QueueEntry.enqueued_at >= start, QueueEntry.enqueued_at < end
    )
    if team is not None:
        query = query.where(QueueEntry.team == team)
    return query.group_by(QueueEntry.team, QueueEntry.outcome, seconds)


def _direct_query(start: datetime, end: datetime, team: str | None) -> Select[Any]:
    """(team, answered calls) for the period's inbound calls answered without a wait."""
    queued = exists().where(QueueEntry.call_sid == Call.call_sid)
    team_of = _direct_team().label("team")
    query = select(team_of, func.count()).where(
        Call.started_at >= start,
        Call.started_at < end,
        Call.direction == "inbound",
        Call.answered_at.is_not(None),
        ~queued,
    )
    if team is not None:
        query = query.where(team_of == team)
    return query.group_by(team_of)


def _utc_hour(dialect: str) -> ColumnElement[str]:
    """The UTC hour a caller was enqueued in, as 'YYYY-MM-DD HH' text."""
    if dialect == "sqlite":
        # Stored as 'YYYY-MM-DD HH:MM:SS.ffffff' in UTC (callbook.db.UTCDateTime).
        return func.substr(QueueEntry.enqueued_at, 1, 13, type_=String())
    if dialect == "postgresql":
        utc = func.timezone("UTC", QueueEntry.enqueued_at)
        return func.to_char(utc, "YYYY-MM-DD HH24", type_=String())
    raise NotImplementedError(f"reports support SQLite and PostgreSQL, not {dialect}")


def _abandons(
    session: Session, start: datetime, end: datetime, team: str | None, zone: ZoneInfo
) -> list[list[int]]:
    """Grouped by UTC hour in SQL, placed in local time here (see `queries.hourly`: the
    DST days have a 23 h and a 25 h local day, a UTC hour is always one local hour)."""
    hour = _utc_hour(session.get_bind().dialect.name).label("hour")
    query = select(hour, func.count()).where(
        QueueEntry.enqueued_at >= start,
        QueueEntry.enqueued_at < end,
        QueueEntry.outcome == "abandoned",
    )
    if team is not None:
        query = query.where(QueueEntry.team == team)
    grid = [[0] * 24 for _ in WEEKDAYS]
    for key, count in session.execute(query.group_by(hour)):
        local = datetime.fromisoformat(f"{key}:00+00:00").astimezone(zone)
        grid[local.weekday()][local.hour] += int(count)
    return grid


# -- adding up -----------------------------------------------------------------------


@dataclass(slots=True)
class _Tally:
    counts: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    answered_waits: list[tuple[int, int]] = field(default_factory=list)
    longest: int | None = None

    def add(self, outcome: str, seconds: int, count: int, threshold: int) -> None:
        self.counts["offered"] += count
        if outcome in ("bridged", DIRECT):
            self.counts["answered"] += count
            self.answered_waits.append((seconds, count))
            if seconds <= threshold:
                self.counts["answered_within"] += count
            if outcome == DIRECT:
                self.counts["answered_directly"] += count
        elif outcome in ENDED or outcome == "waiting":
            self.counts[outcome] += count
        if outcome in ENDED:
            self.longest = seconds if self.longest is None else max(self.longest, seconds)

    def figures(self, team: str) -> TeamFigures:
        average, p90 = wait_figures(self.answered_waits)
        return TeamFigures(
            team=team,
            **self.counts,
            wait_average=average,
            wait_p90=p90,
            longest_wait=self.longest,
        )


def contact_centre(
    session: Session,
    start: datetime,
    end: datetime,
    *,
    team: str | None = None,
    tz: str | ZoneInfo = "Europe/Paris",
    threshold: int = DEFAULT_THRESHOLD,
) -> ContactCentre:
    """The figures of the waits and direct answers of [start, end), of `team` if given."""
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("a period is made of aware datetimes")
    zone = tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)
    rows: list[tuple[str, str, int, int]] = [
        (str(t), str(outcome), max(int(seconds), 0), int(count))
        for t, outcome, seconds, count in session.execute(_waits_query(start, end, team))
    ]
    rows += [
        (str(t), DIRECT, 0, int(count))
        for t, count in session.execute(_direct_query(start, end, team))
    ]
    per_team: dict[str, _Tally] = defaultdict(_Tally)
    total = _Tally()
    for t, outcome, seconds, count in rows:
        per_team[t].add(outcome, seconds, count, threshold)
        total.add(outcome, seconds, count, threshold)
    return ContactCentre(
        start=start,
        end=end,
        timezone=zone.key,
        team=team,
        threshold=threshold,
        total=total.figures(team or ""),
        teams=[per_team[t].figures(t) for t in sorted(per_team, key=_team_order)],
        abandons=_abandons(session, start, end, team, zone),
    )


def _team_order(team: str) -> tuple[bool, str]:
    return (team != HOTLINE, team)


def waiting_now(session: Session, now: datetime) -> list[tuple[str, int, int]]:
    """(team, callers waiting, longest current wait in seconds) of the teams with callers
    waiting at `now`, hotline first.

    A row still `waiting` after `WAIT_HORIZON` is a wait whose end was lost (Twilio
    ends every call after four hours): it no longer shows as a caller waiting now.
    """
    oldest = func.min(QueueEntry.enqueued_at)
    query = (
        select(QueueEntry.team, func.count(), oldest)
        .where(
            QueueEntry.outcome == WAITING,
            QueueEntry.enqueued_at <= now,
            QueueEntry.enqueued_at > now - WAIT_HORIZON,
        )
        .group_by(QueueEntry.team)
    )
    out = [
        (str(t), int(count), max(int((now - first).total_seconds()), 0))
        for t, count, first in session.execute(query)
    ]
    return sorted(out, key=lambda row: _team_order(row[0]))


__all__ = ["ContactCentre", "TeamFigures", "contact_centre", "waiting_now"]
