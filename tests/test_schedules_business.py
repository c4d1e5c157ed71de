"""Deadlines in business hours (4 / 16 / 40 / 64 h) over the hotline calendar."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest

from schedules import Calendar
from tests.conftest import paris


def test_four_hours_from_friday_afternoon_lands_on_monday(hotline: Calendar) -> None:
    # Friday 18 Dec 16:00: 1.5 h left that day, 2.5 h on Monday morning.
    assert hotline.add_business_hours(paris(2026, 12, 18, 16, 0), 4) == paris(2026, 12, 21, 11, 30)


def test_four_hours_from_friday_17h_is_due_monday(hotline: Calendar) -> None:
    # DOMAIN.md: a ticket opened Friday 17:00 with 4 h to go is due on Monday:
    # 0.5 h on Friday, 3 h on Monday morning, 0.5 h after the lunch break.
    assert hotline.add_business_hours(paris(2026, 11, 27, 17, 0), 4) == paris(2026, 11, 30, 14, 30)


def test_deadline_skips_christmas_and_weekend(hotline: Calendar) -> None:
    # Thursday 24 Dec 17:00: 0.5 h, then nothing until Monday 28.
    assert hotline.add_business_hours(paris(2026, 12, 24, 17, 0), 4) == paris(2026, 12, 28, 14, 30)


@pytest.mark.parametrize(
    ("hours", "due"),
    [
        # A week holds 32.5 open hours (6.5 h a day).
        (16, (2026, 12, 3, 12, 0)),  # Tue 1 Dec 09:00 + 2 days (13 h) + 3 h
        (40, (2026, 12, 9, 10, 0)),  # Tue-Fri 26 h, Mon + Tue 13 h, then 1 h
        (64, (2026, 12, 14, 16, 30)),  # Tue-Fri 26 h, a full week 32.5 h, then 5.5 h
    ],
)
def test_priority_deadlines(hotline: Calendar, hours: float, due: tuple[int, ...]) -> None:
    start = paris(2026, 12, 1, 9, 0)
    assert hotline.add_business_hours(start, hours) == paris(*due)
    assert hotline.business_hours_between(start, paris(*due)) == pytest.approx(hours)


def test_deadline_ending_at_closing_time_stays_there(hotline: Calendar) -> None:
    assert hotline.add_business_hours(paris(2026, 12, 1, 9, 0), 3) == paris(2026, 12, 1, 12, 0)


def test_start_while_closed_counts_from_next_opening(hotline: Calendar) -> None:
    assert hotline.add_business_hours(paris(2026, 12, 1, 12, 15), 1) == paris(2026, 12, 1, 15, 0)
    assert hotline.add_business_hours(paris(2026, 12, 1, 12, 15), 0) == paris(2026, 12, 1, 12, 15)


def test_between_is_antisymmetric(hotline: Calendar) -> None:
    a, b = paris(2026, 12, 1, 10, 0), paris(2026, 12, 2, 10, 0)
    assert hotline.business_hours_between(a, b) == 6.5
    assert hotline.business_hours_between(b, a) == -6.5


def test_day_of_dst_changes_counts_real_hours() -> None:
    always = Calendar.model_validate(
        {"weekly": {d: ["00:00-24:00"] for d in ("sat", "sun")}, "holidays": None}
    )
    saturday_noon = datetime(2026, 3, 28, 11, 0, tzinfo=UTC)  # 12:00 CET
    sunday_noon = datetime(2026, 3, 29, 10, 0, tzinfo=UTC)  # 12:00 CEST
    assert always.business_hours_between(saturday_noon, sunday_noon) == 23
    autumn_saturday = paris(2026, 10, 24, 12, 0)
    autumn_sunday = paris(2026, 10, 25, 12, 0)
    assert always.business_hours_between(autumn_saturday, autumn_sunday) == 25
    assert always.add_business_hours(autumn_saturday, 25) == autumn_sunday


@pytest.mark.parametrize("bad", [-1.0, math.nan, math.inf])
def test_bad_hours_are_refused(hotline: Calendar, bad: float) -> None:
    with pytest.raises(ValueError, match="hours"):
        hotline.add_business_hours(paris(2026, 12, 1, 9, 0), bad)


def test_never_open_calendar_says_so() -> None:
    never = Calendar.model_validate({"weekly": {}})
    assert never.next_opening(paris(2026, 12, 1, 9, 0)) is None
    assert never.next_business_morning(paris(2026, 12, 1, 9, 0)) is None
    with pytest.raises(ValueError, match="does not open"):
        never.add_business_hours(paris(2026, 12, 1, 9, 0), 4)
