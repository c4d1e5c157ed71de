"""Business-time arithmetic: deadlines counted in open hours of a calendar.

"Business hours" are real elapsed hours during which the calendar is open, so
a range that spans a DST change counts the hours that actually passed.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from schedules.instants import US_PER_HOUR, Interval, from_us, to_us

MAX_DAYS = 3 * 366


class IntervalSource(Protocol):
    @property
    def zone(self) -> ZoneInfo: ...

    def day_intervals(self, day: date) -> tuple[Interval, ...]: ...


def _days(source: IntervalSource, first: date) -> Iterator[tuple[Interval, ...]]:
    for offset in range(MAX_DAYS):
        yield source.day_intervals(first + timedelta(days=offset))


def add_business_hours(source: IntervalSource, start: datetime, hours: float) -> datetime:
    """The instant when `hours` of open time have elapsed since `start`.

    A deadline that ends exactly at a closing time stays at that closing time
    (it is not pushed to the next opening).
    """
    if not math.isfinite(hours) or hours < 0:
        raise ValueError(f"hours must be a finite number >= 0, got {hours!r}")
    zone = source.zone
    left = round(hours * US_PER_HOUR)
    at = to_us(start)
    if left == 0:
        return start.astimezone(zone)
    for intervals in _days(source, start.astimezone(zone).date()):
        for s, e in intervals:
            if e <= at:
                continue
            begin = max(s, at)
            if e - begin >= left:
                return from_us(begin + left, zone)
            left -= e - begin
    raise ValueError(f"the calendar does not open for {hours} h within {MAX_DAYS} days")


def business_hours_between(source: IntervalSource, a: datetime, b: datetime) -> float:
    """Open hours between `a` and `b`; negative when `b` is before `a`."""
    if b < a:
        return -business_hours_between(source, b, a)
    zone = source.zone
    low, high = to_us(a), to_us(b)
    total = 0
    day = a.astimezone(zone).date()
    last = b.astimezone(zone).date()
    while day <= last:
        for s, e in source.day_intervals(day):
            overlap = min(e, high) - max(s, low)
            if overlap > 0:
                total += overlap
        day += timedelta(days=1)
    return total / US_PER_HOUR
