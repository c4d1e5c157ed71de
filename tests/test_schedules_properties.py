"""Invariants of the time rules, checked over many instants (hypothesis)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from schedules import Calendar
from tests.conftest import weekdays

CALENDARS = [
    Calendar.model_validate({"weekly": weekdays("09:00-12:00", "14:00-17:30")}),
    Calendar.model_validate(
        {"weekly": weekdays("09:30-11:30", "14:00-16:30"), "holidays": "FR/57"}
    ),
    Calendar.model_validate(
        {"timezone": "Indian/Reunion", "holidays": "FR/974", "weekly": weekdays("08:00-12:00")}
    ),
    # Open across both 2026 DST nights, including wall times that do not exist.
    Calendar.model_validate(
        {
            "weekly": {"sun": ["01:00-02:45", "02:50-04:00"], "sat": ["22:00-24:00"]},
            "holidays": None,
        }
    ),
]

instants = st.datetimes(
    min_value=datetime(2025, 12, 1),  # noqa: DTZ001 - hypothesis wants naive bounds
    max_value=datetime(2027, 2, 1),  # noqa: DTZ001
    timezones=st.just(UTC),
)
calendars = st.sampled_from(CALENDARS)
hours = st.floats(min_value=0, max_value=80, allow_nan=False)


@settings(max_examples=300, deadline=None)
@given(calendar=calendars, now=instants)
def test_next_opening_is_open_and_nothing_before_it_is(calendar: Calendar, now: datetime) -> None:
    opening = calendar.next_opening(now)
    assert opening is not None
    assert opening >= now
    assert calendar.is_open(opening)
    # Every open interval ends after `now` only from `opening` on: probe the gap.
    gap = opening - now
    for step in range(1, 8):
        probe = now + gap * step / 8
        if probe < opening:
            assert not calendar.is_open(probe)
    if opening > now:
        assert not calendar.is_open(opening - timedelta(microseconds=1))
        assert calendar.why_closed(now) is not None


@settings(max_examples=300, deadline=None)
@given(calendar=calendars, now=instants, a=hours, b=hours)
def test_add_business_hours_is_monotonic(
    calendar: Calendar, now: datetime, a: float, b: float
) -> None:
    low, high = sorted((a, b))
    assert calendar.add_business_hours(now, low) <= calendar.add_business_hours(now, high)
    later = now + timedelta(hours=high)
    assert calendar.add_business_hours(now, low) <= calendar.add_business_hours(later, low)


@settings(max_examples=300, deadline=None)
@given(calendar=calendars, now=instants, h=hours)
def test_between_inverts_add(calendar: Calendar, now: datetime, h: float) -> None:
    due = calendar.add_business_hours(now, h)
    assert abs(calendar.business_hours_between(now, due) - h) < 1e-6


@settings(max_examples=200, deadline=None)
@given(calendar=calendars, now=instants)
def test_current_range_matches_is_open(calendar: Calendar, now: datetime) -> None:
    current = calendar.current_range(now)
    assert (current is not None) is calendar.is_open(now)
    if current is not None:
        assert current[0] <= now < current[1]
    morning = calendar.next_business_morning(now)
    assert morning is not None and morning > now and calendar.is_open(morning)
