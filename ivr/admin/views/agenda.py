"""The schedules page: weekly hours, public holidays, and a 14-day hour-by-hour agenda.

The agenda is laid out in the calendar's own zone, one row per local day and
one cell per wall-clock hour. An hour is a real hour of elapsed time: the
agenda walks whole UTC hours from local midnight, so on the autumn DST night
(25 October 2026) 02:00 happens twice and its cell holds two hours, and on
the spring night (29 March 2026) 02:00 never happens and its cell is empty.
(Every French zone, overseas included, is a whole number of hours from UTC,
so a UTC hour is exactly one local hour.)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays as holidays_lib
from babel.dates import get_day_names
from flask_babel import gettext

from ivr.admin.views.french import day_label
from ivr.admin.views.status import closed_reason, technician_names
from ivr.config import ConfigDocument
from ivr.i18n import babel_locale
from schedules import Calendar, OnCallSchedule
from schedules.instants import from_us, holiday_name, to_us
from schedules.ranges import Weekday

HOUR = timedelta(hours=1)
AGENDA_DAYS = 14
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def weekday_names() -> dict[str, str]:
    """'mon' -> 'lundi' ('Monday'): Babel's names in the reader's language."""
    names = get_day_names("wide", locale=babel_locale())
    return {key: names[i] for i, key in enumerate(WEEKDAYS)}


@dataclass(frozen=True, slots=True)
class AgendaHour:
    """One real hour [start, start + 1 h)."""

    start: datetime
    open_minutes: int
    """Minutes of the hour the calendar is open (0-60)."""
    oncall_minutes: int
    """Minutes of the hour inside an on-call window (0-60)."""
    on_duty: str
    """Who answers the on-call line in that hour (the primary), if a window is active."""
    reason: str
    """Why the calendar is closed at the start of the hour; empty when open."""

    @property
    def state(self) -> str:
        """'open', 'partial' or 'closed': the class of the agenda cell."""
        if self.open_minutes >= 60:
            return "open"
        return "partial" if self.open_minutes else "closed"


@dataclass(frozen=True, slots=True)
class HourCell:
    """A wall-clock hour of a day: 0 real hours (spring gap), 1, or 2 (autumn fold)."""

    hour: int
    slots: tuple[AgendaHour, ...]


@dataclass(frozen=True, slots=True)
class AgendaDay:
    day: date
    label: str
    holiday: str
    """The public holiday's name (of the calendar's country/subdivision), if any."""
    exception: str
    """Label of an exceptional closure or opening covering the day, if any."""
    rest_day: bool
    """The on-call line follows the weekend/holiday windows."""
    cells: tuple[HourCell, ...]
    hours: int
    """Real hours in the day: 23, 24 or 25."""


@dataclass(frozen=True, slots=True)
class Agenda:
    calendar: str
    timezone: str
    days: list[AgendaDay] = field(default_factory=list)


def _overlap_minutes(intervals: tuple[tuple[int, int], ...], start: int, end: int) -> int:
    covered = sum(max(0, min(e, end) - max(s, start)) for s, e in intervals)
    return round(covered / 60_000_000)


def _on_duty(
    doc: ConfigDocument,
    schedule: OnCallSchedule,
    start: datetime,
    end: datetime,
    intervals: tuple[tuple[int, int], ...],
) -> str:
    """The primary at the first instant of the hour that is inside a window."""
    begin, finish = to_us(start), to_us(end)
    inside = [max(s, begin) for s, e in intervals if s < finish and e > begin]
    if not inside:
        return ""
    moment = from_us(min(inside), UTC)
    return technician_names(doc, schedule.escalation_at(moment)[0][:1])[0]


def agenda_day(doc: ConfigDocument, calendar_key: str, day: date) -> AgendaDay:
    # The planned hours: a manual closure in force is shown on the Today page.
    calendar = doc.calendars[calendar_key]
    zone = calendar.zone
    schedule = doc.oncall.schedule if doc.oncall else None
    begin = datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)
    after = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)
    open_intervals = calendar.day_intervals(day)
    slots: dict[int, list[AgendaHour]] = {h: [] for h in range(24)}
    moment = begin
    while moment < after:
        end = moment + HOUR
        local = moment.astimezone(zone)
        oncall_minutes, on_duty = 0, ""
        if schedule is not None:
            # The on-call windows are read in their own zone, on their own local day.
            windows = schedule.day_intervals(moment.astimezone(schedule.zone).date())
            oncall_minutes = _overlap_minutes(windows, to_us(moment), to_us(end))
            if oncall_minutes:
                on_duty = _on_duty(doc, schedule, moment, end, windows)
        reason = calendar.why_closed(moment)
        slots[local.hour].append(
            AgendaHour(
                start=local,
                open_minutes=_overlap_minutes(open_intervals, to_us(moment), to_us(end)),
                oncall_minutes=oncall_minutes,
                on_duty=on_duty,
                reason="" if reason is None else closed_reason(reason),
            )
        )
        moment = end
    exception = next((e for e in calendar.exceptions if e.covers(day)), None)
    return AgendaDay(
        day=day,
        label=day_label(day),
        holiday=holiday_name(calendar.holidays, day) or "",
        exception="" if exception is None else f"{_KINDS[exception.kind]} : {exception.label}",
        rest_day=schedule.is_rest_day(day) if schedule is not None else False,
        cells=tuple(HourCell(h, tuple(slots[h])) for h in range(24)),
        hours=sum(len(s) for s in slots.values()),
    )


_KINDS = {"closure": "fermeture exceptionnelle", "opening": "ouverture exceptionnelle"}


def agenda(
    doc: ConfigDocument, calendar_key: str, now: datetime, days: int = AGENDA_DAYS
) -> Agenda:
    """`days` local days of `calendar_key`, starting with the day `now` falls in."""
    calendar = doc.calendar(calendar_key)
    first = calendar.local_day(now)
    return Agenda(
        calendar=calendar_key,
        timezone=calendar.timezone,
        days=[agenda_day(doc, calendar_key, first + timedelta(days=k)) for k in range(days)],
    )


# -- the other sections of the page ------------------------------------------------


@dataclass(frozen=True, slots=True)
class WeeklyLine:
    weekday: str
    ranges: str


def weekly_lines(calendar: Calendar) -> list[WeeklyLine]:
    lines = []
    for weekday in Weekday:
        ranges = calendar.weekly.get(weekday, [])
        text = ", ".join(str(r) for r in ranges) if ranges else gettext("fermé")
        lines.append(WeeklyLine(weekday_names()[weekday.value], text))
    return lines


def public_holidays(spec: str | None, year: int) -> list[tuple[date, str]]:
    """The public holidays of a year for 'FR', 'FR/57', 'FR/974'…, in date order."""
    if not spec:
        return []
    country, _, subdiv = spec.partition("/")
    table = holidays_lib.country_holidays(
        country, subdiv=subdiv or None, years=year, language=_holiday_language(country)
    )
    return sorted(table.items())


def _holiday_language(country: str) -> str:
    """The reader's language for the holidays' names, when the library knows it."""
    wanted = "fr" if babel_locale().language == "fr" else "en_US"
    known = holidays_lib.country_holidays(country).supported_languages
    return wanted if wanted in known else "fr"


@dataclass(frozen=True, slots=True)
class Handover:
    at: datetime
    holder: str
    override: str = ""


def next_handovers(doc: ConfigDocument, now: datetime, count: int = 6) -> list[Handover]:
    """The next rota handovers and who takes over (overrides included)."""
    if doc.oncall is None:
        return []
    schedule = doc.oncall.schedule
    rota = schedule.rota
    zone = ZoneInfo(schedule.timezone)
    local = now.astimezone(zone)
    days_ahead = (rota.handover_weekday.index - local.weekday()) % 7
    minute = rota.handover_minute
    day = local.date() + timedelta(days=days_ahead)
    out: list[Handover] = []
    while len(out) < count:
        # Handovers keep their wall-clock time across DST (see schedules.oncall).
        at = datetime.combine(day, time(minute // 60, minute % 60), tzinfo=zone)
        weeks = (day - rota.anchor).days // 7
        if at > now and weeks % rota.period_weeks == 0:
            escalation, override = schedule.escalation_at(at)
            out.append(Handover(at, technician_names(doc, escalation[:1])[0], override))
        day += timedelta(days=7)
    return out
