"""The time rules, pure: opening calendars, holidays, business time, on-call.

No Flask, no database, nothing of `ivr` or `callbook`: every rule takes an
aware `now` and answers with aware datetimes.
"""

from schedules.calendar import Calendar, ClosedKind, ClosedReason, DateException, DayPlan
from schedules.oncall import OnCallDuty, OnCallSchedule, Rota, RotaOverride
from schedules.ranges import TimeRange, Weekday

__all__ = [
    "Calendar",
    "ClosedKind",
    "ClosedReason",
    "DateException",
    "DayPlan",
    "OnCallDuty",
    "OnCallSchedule",
    "Rota",
    "RotaOverride",
    "TimeRange",
    "Weekday",
]
