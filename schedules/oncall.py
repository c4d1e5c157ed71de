"""Emergency on-call: windows by kind of day, a weekly rota, dated overrides.

The hotline rules: on working days the on-call line answers 06:00-22:00; on
weekends and public holidays only 09:00-10:00 and 16:00-17:00. A public
holiday follows the weekend pattern. Technicians take turns weekly, handing
over on a fixed weekday and time; overrides (a swap, sick leave) replace the
person on duty for a dated period.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import pairwise
from typing import Self
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from schedules.instants import Interval, day_intervals, from_us, holiday_name, to_us
from schedules.ranges import (
    WORKING_WEEK,
    DayRanges,
    HolidaySpec,
    TimeRange,
    TimeZoneName,
    Weekday,
    parse_minutes,
    require_aware,
)


def _ranges(*texts: str) -> list[TimeRange]:
    return [TimeRange.model_validate(t) for t in texts]


class Rota(BaseModel):
    """A weekly rotation: members[0] took over on `anchor` at `handover_time`."""

    model_config = ConfigDict(frozen=True)

    members: list[str] = Field(min_length=1)
    anchor: date
    handover_weekday: Weekday = Weekday.mon
    handover_time: str = "09:00"
    period_weeks: int = Field(default=1, ge=1, le=52)

    @field_validator("members")
    @classmethod
    def _unique(cls, members: list[str]) -> list[str]:
        if any(not m.strip() for m in members):
            raise ValueError("a rota member has an empty name")
        seen = {m for m in members if members.count(m) > 1}
        if seen:
            raise ValueError(f"rota members listed twice: {', '.join(sorted(seen))}")
        return members

    @field_validator("handover_time")
    @classmethod
    def _time(cls, value: str) -> str:
        parse_minutes(value)
        return value

    @model_validator(mode="after")
    def _anchor_on_handover_day(self) -> Self:
        if Weekday.of(self.anchor.weekday()) is not self.handover_weekday:
            raise ValueError(
                f"anchor {self.anchor} is a {Weekday.of(self.anchor.weekday())}, "
                f"not the handover day ({self.handover_weekday})"
            )
        return self

    @property
    def handover_minute(self) -> int:
        return parse_minutes(self.handover_time)

    def index_at(self, local: datetime) -> int:
        """Index in `members` of the scheduled holder at a local wall-clock time.

        Counted on wall-clock dates, so the handover keeps its local hour across
        DST changes (a handover inside the spring gap happens at the jump).
        """
        days_back = (local.weekday() - self.handover_weekday.index) % 7
        handover_day = local.date() - timedelta(days=days_back)
        if days_back == 0 and local.hour * 60 + local.minute < self.handover_minute:
            handover_day -= timedelta(days=7)
        turns = (handover_day - self.anchor).days // 7 // self.period_weeks
        return turns % len(self.members)


class RotaOverride(BaseModel):
    """`technician` is on duty (first in line) from `start` to `end`."""

    model_config = ConfigDict(frozen=True)

    start: datetime
    end: datetime
    technician: str = Field(min_length=1)
    label: str = ""

    @model_validator(mode="after")
    def _check(self) -> Self:
        for name in ("start", "end"):
            if getattr(self, name).tzinfo is None:
                raise ValueError(f"{name} needs a UTC offset (e.g. 2026-12-24T18:00:00+01:00)")
        if self.end <= self.start:
            raise ValueError(f"override for {self.technician} ends before it starts")
        return self


@dataclass(frozen=True, slots=True)
class OnCallDuty:
    """Who answers the emergency line now, and in which order."""

    window_start: datetime
    window_end: datetime
    escalation: tuple[str, ...]
    rest_day: bool
    override: str = ""

    @property
    def primary(self) -> str:
        return self.escalation[0]

    @property
    def backups(self) -> tuple[str, ...]:
        return self.escalation[1:]


class OnCallSchedule(BaseModel):
    """On-call windows, the kind of each day, the rota and its overrides."""

    model_config = ConfigDict(frozen=True)

    timezone: TimeZoneName = "Europe/Paris"
    holidays: HolidaySpec | None = "FR"
    working_days: list[Weekday] = Field(default_factory=lambda: list(WORKING_WEEK))
    working_day_windows: DayRanges = Field(default_factory=lambda: _ranges("06:00-22:00"))
    rest_day_windows: DayRanges = Field(
        default_factory=lambda: _ranges("09:00-10:00", "16:00-17:00")
    )
    rota: Rota
    overrides: list[RotaOverride] = Field(default_factory=list)

    _intervals: dict[date, tuple[Interval, ...]] = PrivateAttr(default_factory=dict)

    @model_validator(mode="after")
    def _overrides_disjoint(self) -> Self:
        ordered = sorted(self.overrides, key=lambda o: o.start)
        for before, after in pairwise(ordered):
            if after.start < before.end:
                raise ValueError(
                    f"overrides for {before.technician} and {after.technician} overlap"
                )
        return self

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def __eq__(self, other: object) -> bool:
        # Compare the rules only, not the per-day caches kept in private attributes.
        if not isinstance(other, type(self)):
            return NotImplemented
        return self.__dict__ == other.__dict__

    __hash__ = None  # type: ignore[assignment]

    def is_rest_day(self, day: date) -> bool:
        """Weekends and public holidays follow the rest-day windows."""
        if Weekday.of(day.weekday()) not in self.working_days:
            return True
        return holiday_name(self.holidays, day) is not None

    def day_intervals(self, day: date) -> tuple[Interval, ...]:
        cached = self._intervals.get(day)
        if cached is None:
            windows = self.rest_day_windows if self.is_rest_day(day) else self.working_day_windows
            cached = day_intervals(day, tuple((w.start, w.end) for w in windows), self.zone)
            if len(self._intervals) > 4096:
                self._intervals.clear()
            self._intervals[day] = cached
        return cached

    def window_at(self, now: datetime) -> tuple[datetime, datetime] | None:
        """The on-call window active at `now`, or None."""
        at = to_us(require_aware(now))
        for s, e in self.day_intervals(now.astimezone(self.zone).date()):
            if s <= at < e:
                return from_us(s, self.zone), from_us(e, self.zone)
        return None

    def escalation_at(self, now: datetime) -> tuple[tuple[str, ...], str]:
        """(ordered escalation list, override label) at `now`, window or not."""
        local = require_aware(now).astimezone(self.zone)
        index = self.rota.index_at(local)
        members = self.rota.members
        order = [members[(index + k) % len(members)] for k in range(len(members))]
        override = next((o for o in self.overrides if o.start <= now < o.end), None)
        if override is None:
            return tuple(order), ""
        rest = [m for m in order if m != override.technician]
        return (override.technician, *rest), override.label or "remplacement"

    def on_call(self, now: datetime) -> OnCallDuty | None:
        """Who is on duty now with the escalation list; None outside the windows."""
        window = self.window_at(now)
        if window is None:
            return None
        escalation, override = self.escalation_at(now)
        rest_day = self.is_rest_day(now.astimezone(self.zone).date())
        return OnCallDuty(window[0], window[1], escalation, rest_day, override)

    def next_window(self, now: datetime, days: int = 14) -> tuple[datetime, datetime] | None:
        """The next window that starts after `now` (for "on call next")."""
        at = to_us(require_aware(now))
        first = now.astimezone(self.zone).date()
        for offset in range(days):
            for s, e in self.day_intervals(first + timedelta(days=offset)):
                if s > at:
                    return from_us(s, self.zone), from_us(e, self.zone)
        return None
