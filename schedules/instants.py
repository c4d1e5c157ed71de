"""From wall-clock ranges on a date to real instants, DST included.

Everything that measures time (is it open, how many business hours) works on
instants expressed as integer microseconds since the Unix epoch: exact,
comparable, and cheap. Wall-clock times are only the way people write hours.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache

import holidays as holidays_lib

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ONE_US = timedelta(microseconds=1)
US_PER_HOUR = 3_600_000_000

Interval = tuple[int, int]
"""[start, end) in epoch microseconds."""


def to_us(moment: datetime) -> int:
    return (moment - EPOCH) // ONE_US


def from_us(us: int, zone: object) -> datetime:
    return (EPOCH + timedelta(microseconds=us)).astimezone(zone)  # type: ignore[arg-type]


def wall_to_us(day: date, minute: int, zone: object) -> int:
    """The instant at which clocks in `zone` first show `minute` on `day`.

    Why this is not a plain `datetime.combine`: on the spring-forward night a
    wall time such as 02:30 does not exist (clocks jump from 02:00 to 03:00).
    People who wrote "from 02:30" mean "once the clock says 02:30 or later",
    which is the instant of the jump; zoneinfo alone would give 03:30. On the
    autumn night a wall time happens twice and the first occurrence counts.
    """
    if minute >= 24 * 60:
        day, minute = day + timedelta(days=1), minute - 24 * 60
    wall = datetime.combine(day, time(minute // 60, minute % 60))
    local = wall.replace(tzinfo=zone)  # type: ignore[arg-type]
    first = local.astimezone(UTC)
    if first.astimezone(zone).replace(tzinfo=None) == wall:  # type: ignore[arg-type]
        return to_us(first)
    # Non-existent wall time: search the jump between the two readings.
    low = to_us(local.replace(fold=1).astimezone(UTC))
    high = to_us(first)
    while high - low > 1:
        middle = (low + high) // 2
        if from_us(middle, zone).replace(tzinfo=None) >= wall:
            high = middle
        else:
            low = middle
    return high


def day_intervals(
    day: date, ranges: tuple[tuple[int, int], ...], zone: object
) -> tuple[Interval, ...]:
    """Place wall-clock minute ranges on `day`; drop ranges that vanish in a DST gap."""
    out: list[Interval] = []
    for start, end in ranges:
        begin_us, end_us = wall_to_us(day, start, zone), wall_to_us(day, end, zone)
        if end_us > begin_us:
            out.append((begin_us, end_us))
    return tuple(out)


@lru_cache(maxsize=256)
def _holidays_for(spec: str, year: int) -> dict[date, str]:
    country, _, subdiv = spec.partition("/")
    table = holidays_lib.country_holidays(country, subdiv=subdiv or None, years=year, language="fr")
    return dict(table.items())


def holiday_name(spec: str | None, day: date) -> str | None:
    """The public holiday's name on `day` ('Vendredi saint'), or None."""
    if not spec:
        return None
    return _holidays_for(spec, day.year).get(day)
