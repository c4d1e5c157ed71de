"""The contact centre right now: callers waiting, members on a line, today's figures.

Read by the wallboard (`/admin/wallboard`) and by `/metrics` at each refresh
or scrape, so it costs a few indexed queries and never asks Twilio.

A hotline member's number is *on a line* as far as the book knows, the rule
of `ivr.voice.busy` without its question to Twilio: a leg of an open call
holds it (ringing, or past its ring timeout and within the longest
conversation assumed, `IVR_MAX_TALK_MINUTES`), or a queued caller was
bridged to it and the wait row is not closed yet. A wall screen refreshed
every few seconds must not cost one REST request per doubtful leg.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from callbook import calls
from callbook.queue import QueueEntry
from callbook.reports import local_midnight
from callbook.reports.contact_centre import HOTLINE, TeamFigures, contact_centre, waiting_now
from ivr.config import ConfigDocument

FREE, RINGING, TALKING = "free", "ringing", "talking"


@dataclass(frozen=True, slots=True)
class TeamWait:
    team: str
    name: str
    waiting: int
    longest_wait: int


@dataclass(frozen=True, slots=True)
class Member:
    number: str
    state: str
    """`free`, `ringing` (a leg within its ring timeout) or `talking`."""

    @property
    def busy(self) -> bool:
        return self.state != FREE


@dataclass(frozen=True, slots=True)
class Board:
    at: datetime
    timezone: str
    threshold: int
    teams: list[TeamWait]
    """Every team with callers waiting, the hotline always (first)."""
    members: list[Member]
    today: TeamFigures
    today_by_team: list[TeamFigures] = field(default_factory=list)

    @property
    def waiting(self) -> int:
        return sum(t.waiting for t in self.teams)

    @property
    def longest_wait(self) -> int:
        return max((t.longest_wait for t in self.teams), default=0)

    @property
    def busy(self) -> int:
        return sum(1 for m in self.members if m.busy)

    def to_dict(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat(),
            "timezone": self.timezone,
            "service_level_seconds": self.threshold,
            "waiting": self.waiting,
            "longest_wait": self.longest_wait,
            "teams": [
                {
                    "team": t.team,
                    "name": t.name,
                    "waiting": t.waiting,
                    "longest_wait": t.longest_wait,
                }
                for t in self.teams
            ],
            "members": [{"number": m.number, "state": m.state} for m in self.members],
            "busy": self.busy,
            "free": len(self.members) - self.busy,
            "today": self.today.to_dict(),
        }


def team_name(doc: ConfigDocument, team: str) -> str:
    """What people call a team: the hotline's name, a structure's name, else its key."""
    if team == HOTLINE:
        name = doc.hotline.name
        return name[:1].upper() + name[1:]
    structure = doc.structure(team)
    return structure.name if structure is not None else team


def members(
    session: Session, doc: ConfigDocument, now: datetime, max_talk: timedelta
) -> list[Member]:
    """The hotline's numbers, each free, ringing or on a line (see the module's docstring)."""
    legs = calls.live_legs(session, exclude="", now=now, max_talk=max_talk)
    bridged = set(
        session.scalars(
            select(QueueEntry.agent_number).where(
                QueueEntry.outcome == "bridged",
                QueueEntry.ended_at.is_(None),
                QueueEntry.agent_number != "",
            )
        )
    )
    out = []
    for number in doc.hotline.numbers:
        holding = [leg for leg in legs if number in leg.numbers]
        if any(leg.ringing for leg in holding):
            state = RINGING
        elif holding or number in bridged:
            state = TALKING
        else:
            state = FREE
        out.append(Member(number, state))
    return out


def build_board(
    session: Session, doc: ConfigDocument, now: datetime, *, max_talk: timedelta, threshold: int
) -> Board:
    """The board at `now`; "today" is the local day of the hotline's calendar."""
    zone = ZoneInfo(doc.calendar(doc.hotline.calendar).timezone)
    waits = {team: (count, longest) for team, count, longest in waiting_now(session, now)}
    waits.setdefault(HOTLINE, (0, 0))
    teams = [
        TeamWait(team, team_name(doc, team), count, longest)
        for team, (count, longest) in sorted(
            waits.items(), key=lambda kv: (kv[0] != HOTLINE, kv[0])
        )
    ]
    day = now.astimezone(zone).date()
    start, end = local_midnight(day, zone), local_midnight(day + timedelta(days=1), zone)
    today = contact_centre(session, start, end, tz=zone, threshold=threshold)
    return Board(
        at=now,
        timezone=zone.key,
        threshold=threshold,
        teams=teams,
        members=members(session, doc, now, max_talk),
        today=today.total,
        today_by_team=today.teams,
    )
