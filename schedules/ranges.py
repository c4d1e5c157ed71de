"""Wall-clock building blocks: weekdays, time ranges, time zones, holiday specs.

Opening hours and on-call windows are written in wall-clock time ("09:00-12:00")
because that is how people state them; they become instants only when a
calendar places them on a given date in its own time zone.
"""

from __future__ import annotations

import re
from datetime import datetime, time
from enum import StrEnum
from itertools import pairwise
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays as holidays_lib
from pydantic import AfterValidator, BaseModel, ConfigDict, model_serializer, model_validator

MINUTES_PER_DAY = 24 * 60


class Weekday(StrEnum):
    """Days of the week, in the order of `date.weekday()`."""

    mon = "mon"
    tue = "tue"
    wed = "wed"
    thu = "thu"
    fri = "fri"
    sat = "sat"
    sun = "sun"

    @property
    def index(self) -> int:
        return _WEEKDAY_ORDER.index(self)

    @classmethod
    def of(cls, index: int) -> Weekday:
        return _WEEKDAY_ORDER[index]


_WEEKDAY_ORDER: tuple[Weekday, ...] = tuple(Weekday)
WORKING_WEEK: tuple[Weekday, ...] = _WEEKDAY_ORDER[:5]

_HHMM = re.compile(r"^\s*(\d{1,2})[:hH](\d{2})\s*$")


def parse_minutes(text: str, *, allow_24: bool = False) -> int:
    """'09:30' (or '9h30') -> 570. '24:00' is accepted only as an end of day."""
    match = _HHMM.match(text)
    if not match:
        raise ValueError(f"« {text} » n'est pas une heure (HH:MM attendu)")
    hours, minutes = int(match.group(1)), int(match.group(2))
    if minutes >= 60 or hours > 24 or (hours == 24 and (minutes or not allow_24)):
        raise ValueError(f"« {text} » n'est pas une heure valable")
    return hours * 60 + minutes


def format_minutes(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


class TimeRange(BaseModel):
    """A half-open wall-clock range [start, end) within one day, in minutes.

    Accepts "09:00-12:00", {"start": "09:00", "end": "12:00"} or minute counts.
    End may be 24:00 (midnight at the end of the day); ranges never cross
    midnight, so a night window is written as two ranges.
    """

    model_config = ConfigDict(frozen=True)

    start: int
    end: int

    @model_validator(mode="before")
    @classmethod
    def _parse(cls, value: Any) -> Any:
        if isinstance(value, str):
            parts = value.split("-")
            if len(parts) != 2:
                raise ValueError(f"« {value} » n'est pas une plage (HH:MM-HH:MM attendu)")
            value = {"start": parts[0], "end": parts[1]}
        if isinstance(value, dict):
            out = dict(value)
            if isinstance(out.get("start"), str):
                out["start"] = parse_minutes(out["start"])
            if isinstance(out.get("end"), str):
                out["end"] = parse_minutes(out["end"], allow_24=True)
            if isinstance(out.get("start"), time):
                out["start"] = out["start"].hour * 60 + out["start"].minute
            if isinstance(out.get("end"), time):
                out["end"] = out["end"].hour * 60 + out["end"].minute
            return out
        return value

    @model_validator(mode="after")
    def _check(self) -> TimeRange:
        if not 0 <= self.start < MINUTES_PER_DAY:
            raise ValueError(f"le début {self.start} est hors de la journée")
        if not 0 < self.end <= MINUTES_PER_DAY:
            raise ValueError(f"la fin {self.end} est hors de la journée")
        if self.end <= self.start:
            raise ValueError(
                f"la plage {format_minutes(self.start)}-{format_minutes(self.end)} "
                "finit avant de commencer"
            )
        return self

    def __str__(self) -> str:
        return f"{format_minutes(self.start)}-{format_minutes(self.end)}"

    @model_serializer
    def _dump(self) -> str:
        # Written back the way people write it, so exports round-trip.
        return str(self)

    def contains(self, minute: int) -> bool:
        return self.start <= minute < self.end


def check_no_overlap(ranges: list[TimeRange]) -> list[TimeRange]:
    """Sort ranges and refuse overlapping ones (touching is fine)."""
    ordered = sorted(ranges, key=lambda r: r.start)
    for before, after in pairwise(ordered):
        if after.start < before.end:
            raise ValueError(f"les plages {before} et {after} se chevauchent")
    return ordered


DayRanges = Annotated[list[TimeRange], AfterValidator(check_no_overlap)]


def _check_zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(
            f"fuseau horaire inconnu « {name} » (nom IANA attendu, par exemple Europe/Paris)"
        ) from exc
    return name


TimeZoneName = Annotated[str, AfterValidator(_check_zone)]


def _check_holiday_spec(spec: str) -> str:
    country, _, subdiv = spec.partition("/")
    supported = holidays_lib.list_supported_countries()
    if country not in supported:
        raise ValueError(f"pays inconnu pour les jours fériés : « {country} »")
    if subdiv and subdiv not in supported[country]:
        raise ValueError(f"subdivision inconnue « {subdiv} » pour {country}")
    return spec


HolidaySpec = Annotated[str, AfterValidator(_check_holiday_spec)]
"""'FR', 'FR/57', 'FR/974': a country of the `holidays` package and an optional subdivision."""


def require_aware(moment: datetime) -> datetime:
    """Refuse naive datetimes: a time rule cannot guess which zone was meant."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{moment!r} is naive; time rules take aware datetimes")
    return moment
