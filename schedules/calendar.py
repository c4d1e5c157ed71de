"""Opening calendars: weekly hours, public holidays, exceptional closures/openings."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from itertools import pairwise
from typing import Literal, Self
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator

from schedules import business
from schedules.instants import Interval, day_intervals, from_us, holiday_name, to_us
from schedules.ranges import (
    DayRanges,
    HolidaySpec,
    TimeRange,
    TimeZoneName,
    Weekday,
    require_aware,
)

SEARCH_DAYS = 3 * 366
"""How far ahead a query looks for an opening before giving up."""

_PLAN_CACHE_SIZE = 4096


class ClosedKind(StrEnum):
    holiday = "holiday"
    closure = "closure"
    lunch = "lunch"
    after_hours = "after_hours"
    manual = "manual"


@dataclass(frozen=True, slots=True)
class ClosedReason:
    """Why a calendar is closed at a moment, in words a caller can be told."""

    kind: ClosedKind
    label: str = ""

    @property
    def text(self) -> str:
        if self.kind is ClosedKind.holiday:
            return f"jour férié : {self.label}"
        if self.kind is ClosedKind.closure:
            return f"fermeture exceptionnelle : {self.label}"
        if self.kind is ClosedKind.lunch:
            return "pause de midi"
        if self.kind is ClosedKind.manual:
            return "fermeture manuelle"
        return "hors horaires"

    def __str__(self) -> str:
        return self.text


class DateException(BaseModel):
    """An exceptional closure or opening for a date or an inclusive date range.

    A closure without ranges closes the whole day(s); with ranges it closes
    only those hours. An opening replaces the day's hours with its ranges (it
    wins over a public holiday: a bridge day worked, a Saturday permanence).
    """

    model_config = ConfigDict(frozen=True)

    kind: Literal["closure", "opening"]
    start: date
    end: date | None = None
    label: str = Field(min_length=1)
    ranges: DayRanges = Field(default_factory=list)

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.end is not None and self.end < self.start:
            raise ValueError(f"l'exception « {self.label} » finit ({self.end}) avant de commencer")
        if self.kind == "opening" and not self.ranges:
            raise ValueError(f"l'ouverture « {self.label} » a besoin de ses plages horaires")
        return self

    @property
    def last_day(self) -> date:
        return self.end or self.start

    def covers(self, day: date) -> bool:
        return self.start <= day <= self.last_day


@dataclass(frozen=True, slots=True)
class DayPlan:
    """One local day of a calendar, resolved."""

    day: date
    ranges: tuple[tuple[int, int], ...]
    intervals: tuple[Interval, ...]
    whole_day_reason: ClosedReason | None
    partial_closures: tuple[tuple[int, int, str], ...]


class Calendar(BaseModel):
    """Opening hours of a service in its own time zone.

    All queries take an aware `now` and answer with aware datetimes in the
    calendar's zone.
    """

    model_config = ConfigDict(frozen=True)

    timezone: TimeZoneName = "Europe/Paris"
    weekly: dict[Weekday, DayRanges] = Field(default_factory=dict)
    holidays: HolidaySpec | None = "FR"
    exceptions: list[DateException] = Field(default_factory=list)

    _plans: dict[date, DayPlan] = PrivateAttr(default_factory=dict)
    _closed: bool = PrivateAttr(default=False)
    _closed_until: int | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _check_exceptions(self) -> Self:
        ordered = sorted(self.exceptions, key=lambda e: e.start)
        for before, after in pairwise(ordered):
            if after.start <= before.last_day:
                raise ValueError(
                    f"les exceptions « {before.label} » et « {after.label} » se chevauchent "
                    f"(le {after.start} est dans les deux)"
                )
        return self

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def closed_until(self, until: datetime | None) -> Calendar:
        """This calendar, held closed until `until` (None: until further notice).

        The manual closure switch. It has no start: a configuration with the
        switch on exists only from the moment it was turned on, so every
        instant it is asked about before `until` is closed. The weekly hours,
        holidays and exceptions still apply after `until`, so the next opening
        is the first real one once the closure is over. The day plans are not
        touched (an agenda still shows the usual hours) and business-hour
        arithmetic, which counts the usual open hours, is unchanged.
        """
        held = self.model_copy()  # shares the day-plan cache, which does not depend on this
        held._closed = True
        held._closed_until = None if until is None else to_us(require_aware(until))
        return held

    def _held_at(self, at: int) -> bool:
        return self._closed and (self._closed_until is None or at < self._closed_until)

    def __eq__(self, other: object) -> bool:
        # Compare the rules only, not the per-day caches kept in private attributes.
        if not isinstance(other, type(self)):
            return NotImplemented
        return self.__dict__ == other.__dict__

    __hash__ = None  # type: ignore[assignment]

    # -- the resolved day ------------------------------------------------

    def plan(self, day: date) -> DayPlan:
        cached = self._plans.get(day)
        if cached is not None:
            return cached
        plan = self._resolve(day)
        if len(self._plans) >= _PLAN_CACHE_SIZE:
            self._plans.clear()
        self._plans[day] = plan
        return plan

    def _resolve(self, day: date) -> DayPlan:
        template = self.weekly.get(Weekday.of(day.weekday()), [])
        ranges = [(r.start, r.end) for r in template]
        whole_day: ClosedReason | None = None
        partial: list[tuple[int, int, str]] = []
        exception = next((e for e in self.exceptions if e.covers(day)), None)
        if exception is not None and exception.kind == "opening":
            ranges = [(r.start, r.end) for r in exception.ranges]
        elif exception is not None and not exception.ranges:
            ranges, whole_day = [], ClosedReason(ClosedKind.closure, exception.label)
        else:
            name = holiday_name(self.holidays, day)
            if name is not None:
                ranges, whole_day = [], ClosedReason(ClosedKind.holiday, name)
            elif exception is not None:
                partial = [(r.start, r.end, exception.label) for r in exception.ranges]
                ranges = _subtract(ranges, [(s, e) for s, e, _ in partial])
        spans = tuple(ranges)
        return DayPlan(day, spans, day_intervals(day, spans, self.zone), whole_day, tuple(partial))

    def day_intervals(self, day: date) -> tuple[Interval, ...]:
        return self.plan(day).intervals

    def local_day(self, now: datetime) -> date:
        return require_aware(now).astimezone(self.zone).date()

    # -- queries -----------------------------------------------------------

    def is_open(self, now: datetime) -> bool:
        at = to_us(require_aware(now))
        if self._held_at(at):
            return False
        return any(s <= at < e for s, e in self.plan(self.local_day(now)).intervals)

    def current_range(self, now: datetime) -> tuple[datetime, datetime] | None:
        """The opening range `now` falls in, as (start, end), or None when closed."""
        at = to_us(require_aware(now))
        if self._held_at(at):
            return None
        for s, e in self.plan(self.local_day(now)).intervals:
            if s <= at < e:
                return from_us(s, self.zone), from_us(e, self.zone)
        return None

    def next_opening(self, now: datetime) -> datetime | None:
        """The first instant at or after `now` when the calendar is open.

        `now` itself when open; None when nothing opens within SEARCH_DAYS, or
        while held closed until further notice.
        """
        at = self._first_free(to_us(require_aware(now)))
        if at is None:
            return None
        for s, e in self._intervals_from(self.local_day(from_us(at, self.zone))):
            if e > at:
                return from_us(max(s, at), self.zone)
        return None

    def next_business_morning(self, now: datetime) -> datetime | None:
        """The first opening of a business day that starts strictly after `now`.

        This is the callback time of the hotline rules: called at 17:45 on
        Thursday 24 December, the next business morning is Monday 28 at 09:00.
        Before the day's first opening it is that same morning. While held
        closed, the search starts when the closure ends (a morning opening at
        that very instant counts).
        """
        at = to_us(require_aware(now))
        if self._held_at(at):
            if self._closed_until is None:
                return None
            at = self._closed_until - 1
        start = self.local_day(from_us(at, self.zone))
        for offset in range(SEARCH_DAYS):
            intervals = self.plan(start + timedelta(days=offset)).intervals
            if intervals and intervals[0][0] > at:
                return from_us(intervals[0][0], self.zone)
        return None

    def why_closed(self, now: datetime) -> ClosedReason | None:
        """None when open; otherwise the reason a caller can be told."""
        if self.is_open(now):
            return None
        if self._held_at(to_us(now)):
            return ClosedReason(ClosedKind.manual)
        local = now.astimezone(self.zone)
        plan = self.plan(local.date())
        if plan.whole_day_reason is not None:
            return plan.whole_day_reason
        minute = local.hour * 60 + local.minute
        for start, end, label in plan.partial_closures:
            if start <= minute < end:
                return ClosedReason(ClosedKind.closure, label)
        if plan.ranges and plan.ranges[0][0] <= minute < plan.ranges[-1][1]:
            return ClosedReason(ClosedKind.lunch)
        return ClosedReason(ClosedKind.after_hours)

    def add_business_hours(self, start: datetime, hours: float) -> datetime:
        """The instant when `hours` of open time have elapsed since `start`."""
        return business.add_business_hours(self, require_aware(start), hours)

    def business_hours_between(self, a: datetime, b: datetime) -> float:
        """Open hours between a and b (negative when b is before a)."""
        return business.business_hours_between(self, require_aware(a), require_aware(b))

    def _first_free(self, at: int) -> int | None:
        """`at`, or the end of a closure holding at `at`; None when it has no end."""
        if not self._held_at(at):
            return at
        return self._closed_until

    def _intervals_from(self, first: date) -> Iterator[Interval]:
        for offset in range(SEARCH_DAYS):
            yield from self.plan(first + timedelta(days=offset)).intervals


def _subtract(ranges: list[tuple[int, int]], holes: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Wall-clock ranges minus the hours of a partial closure."""
    out = ranges
    for hole_start, hole_end in holes:
        cut: list[tuple[int, int]] = []
        for start, end in out:
            if hole_end <= start or end <= hole_start:
                cut.append((start, end))
                continue
            if start < hole_start:
                cut.append((start, hole_start))
            if hole_end < end:
                cut.append((hole_end, end))
        out = cut
    return out


def weekly(**days: list[str]) -> dict[Weekday, list[TimeRange]]:
    """Shorthand for tests and fixtures: weekly(mon=["09:00-12:00"], ...)."""
    return {Weekday(k): [TimeRange.model_validate(r) for r in v] for k, v in days.items()}
