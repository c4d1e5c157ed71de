"""Opening hours, holidays, exceptions and the reasons a caller is told."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from schedules import Calendar, ClosedKind
from tests.conftest import paris, weekdays


def test_christmas_eve_evening_is_closed_until_monday(hotline: Calendar) -> None:
    now = paris(2026, 12, 24, 17, 45)  # Thursday, after 17:30
    assert not hotline.is_open(now)
    assert hotline.why_closed(now).text == "hors horaires"  # type: ignore[union-attr]
    # Friday 25 is Christmas, then the weekend: Monday 28 at 09:00.
    assert hotline.next_business_morning(now) == paris(2026, 12, 28, 9, 0)
    assert hotline.next_opening(now) == paris(2026, 12, 28, 9, 0)


def test_christmas_day_names_the_holiday(hotline: Calendar) -> None:
    reason = hotline.why_closed(paris(2026, 12, 25, 10, 0))
    assert reason is not None and reason.kind is ClosedKind.holiday
    assert reason.text == "jour férié : Noël"


def test_good_friday_closed_in_alsace_moselle_open_elsewhere(hotline: Calendar) -> None:
    moselle = Calendar.model_validate({**hotline.model_dump(), "holidays": "FR/57"})
    good_friday = paris(2026, 4, 3, 10, 0)
    assert hotline.is_open(good_friday)
    assert not moselle.is_open(good_friday)
    assert str(moselle.why_closed(good_friday)) == "jour férié : Vendredi saint"
    # Easter Monday 6 April is a holiday in both: next opening is Tuesday 7.
    assert moselle.next_opening(good_friday) == paris(2026, 4, 7, 9, 0)


def test_saint_etienne_only_in_alsace_moselle() -> None:
    moselle = Calendar.model_validate({"weekly": weekdays("09:00-12:00"), "holidays": "FR/57"})
    # 26 December 2025 was a Friday: closed in Moselle only.
    plain = Calendar.model_validate({"weekly": weekdays("09:00-12:00")})
    friday = paris(2025, 12, 26, 10, 0)
    assert plain.is_open(friday)
    assert moselle.why_closed(friday).text == "jour férié : Saint-Étienne"  # type: ignore[union-attr]


def test_lunch_break_and_after_hours(hotline: Calendar) -> None:
    tuesday = (2026, 12, 1)
    assert hotline.is_open(paris(*tuesday, 9, 0))
    assert hotline.is_open(paris(*tuesday, 11, 59))
    assert not hotline.is_open(paris(*tuesday, 12, 0))
    assert hotline.why_closed(paris(*tuesday, 12, 30)).text == "pause de midi"  # type: ignore[union-attr]
    assert hotline.next_opening(paris(*tuesday, 12, 30)) == paris(*tuesday, 14, 0)
    assert hotline.why_closed(paris(*tuesday, 8, 59)).text == "hors horaires"  # type: ignore[union-attr]
    assert hotline.why_closed(paris(*tuesday, 17, 30)).text == "hors horaires"  # type: ignore[union-attr]


def test_current_range(hotline: Calendar) -> None:
    assert hotline.current_range(paris(2026, 12, 1, 15, 0)) == (
        paris(2026, 12, 1, 14, 0),
        paris(2026, 12, 1, 17, 30),
    )
    assert hotline.current_range(paris(2026, 12, 1, 13, 0)) is None


def test_next_business_morning_rules(hotline: Calendar) -> None:
    # Before opening: the same morning.
    assert hotline.next_business_morning(paris(2026, 12, 1, 7, 0)) == paris(2026, 12, 1, 9, 0)
    # During the day or the lunch break: the next morning.
    assert hotline.next_business_morning(paris(2026, 12, 1, 12, 30)) == paris(2026, 12, 2, 9, 0)
    # Saturday noon: Monday.
    assert hotline.next_business_morning(paris(2026, 11, 28, 12, 0)) == paris(2026, 11, 30, 9, 0)
    # Ascension Thursday 14 May 2026: Friday 15.
    assert hotline.next_business_morning(paris(2026, 5, 13, 18, 0)) == paris(2026, 5, 15, 9, 0)


def test_exceptional_closure_and_opening() -> None:
    calendar = Calendar.model_validate(
        {
            "weekly": weekdays("09:00-12:00", "14:00-17:00"),
            "exceptions": [
                {
                    "kind": "closure",
                    "start": "2026-06-10",
                    "end": "2026-06-11",
                    "label": "séminaire",
                },
                {
                    "kind": "closure",
                    "start": "2026-06-16",
                    "label": "formation",
                    "ranges": ["14:00-17:00"],
                },
                {
                    "kind": "opening",
                    "start": "2026-05-14",
                    "label": "permanence",
                    "ranges": ["09:00-12:00"],
                },
            ],
        }
    )
    assert (
        calendar.why_closed(paris(2026, 6, 11, 10, 0)).text
        == "fermeture exceptionnelle : séminaire"
    )  # type: ignore[union-attr]
    assert calendar.next_opening(paris(2026, 6, 10, 8, 0)) == paris(2026, 6, 12, 9, 0)
    # Partial closure: the morning stays open, the afternoon is closed with its label.
    assert calendar.is_open(paris(2026, 6, 16, 10, 0))
    assert (
        calendar.why_closed(paris(2026, 6, 16, 15, 0)).text
        == "fermeture exceptionnelle : formation"
    )  # type: ignore[union-attr]
    # An exceptional opening wins over the Ascension holiday.
    assert calendar.is_open(paris(2026, 5, 14, 10, 0))
    assert not calendar.is_open(paris(2026, 5, 14, 15, 0))


def test_held_closed_until_the_manual_closure_ends(hotline: Calendar) -> None:
    tuesday = (2026, 12, 1)
    held = hotline.closed_until(paris(*tuesday, 15, 0))
    assert not held.is_open(paris(*tuesday, 10, 0)) and hotline.is_open(paris(*tuesday, 10, 0))
    assert held.current_range(paris(*tuesday, 10, 0)) is None
    assert held.why_closed(paris(*tuesday, 10, 0)).text == "fermeture manuelle"  # type: ignore[union-attr]
    # The first real opening after the end: within the afternoon range, at the end itself.
    assert held.next_opening(paris(*tuesday, 10, 0)) == paris(*tuesday, 15, 0)
    assert held.is_open(paris(*tuesday, 15, 0))
    assert held.next_business_morning(paris(*tuesday, 10, 0)) == paris(2026, 12, 2, 9, 0)
    # Ending in the lunch break: 14:00; ending on Christmas Eve evening: Monday 28.
    lunch = hotline.closed_until(paris(*tuesday, 12, 30))
    assert lunch.next_opening(paris(*tuesday, 10, 0)) == paris(*tuesday, 14, 0)
    eve = hotline.closed_until(paris(2026, 12, 24, 18, 0))
    assert eve.next_opening(paris(2026, 12, 24, 10, 0)) == paris(2026, 12, 28, 9, 0)
    assert eve.next_business_morning(paris(2026, 12, 24, 10, 0)) == paris(2026, 12, 28, 9, 0)
    # A morning opening at the very end of the closure is that morning.
    dawn = hotline.closed_until(paris(2026, 12, 2, 9, 0))
    assert dawn.next_business_morning(paris(*tuesday, 10, 0)) == paris(2026, 12, 2, 9, 0)
    # Until further notice: no known reopening.
    assert hotline.closed_until(None).next_opening(paris(*tuesday, 10, 0)) is None
    assert hotline.closed_until(None).next_business_morning(paris(*tuesday, 10, 0)) is None
    # The day plans and the business-hour arithmetic keep the usual hours.
    assert held.day_intervals(date(*tuesday)) == hotline.day_intervals(date(*tuesday))
    assert held.add_business_hours(paris(*tuesday, 10, 0), 1) == paris(*tuesday, 11, 0)


def test_overseas_structure_in_its_own_zone() -> None:
    reunion = Calendar.model_validate(
        {"timezone": "Indian/Reunion", "holidays": "FR/974", "weekly": weekdays("08:00-12:00")}
    )
    # 08:30 in Paris (winter, UTC+1) is 11:30 in La Réunion (UTC+4): open.
    assert reunion.is_open(paris(2026, 12, 1, 8, 30))
    # 09:30 in Paris is 12:30 there: closed.
    assert not reunion.is_open(paris(2026, 12, 1, 9, 30))
    # Answers come in the calendar's zone.
    opening = reunion.next_opening(paris(2026, 12, 1, 9, 30))
    assert opening == datetime(2026, 12, 2, 8, 0, tzinfo=ZoneInfo("Indian/Reunion"))
    assert opening.utcoffset().total_seconds() == 4 * 3600  # type: ignore[union-attr]


def test_martinique_abolition_day() -> None:
    martinique = Calendar.model_validate(
        {"timezone": "America/Martinique", "holidays": "FR/972", "weekly": weekdays("08:00-16:00")}
    )
    noon = datetime(2026, 5, 22, 12, 0, tzinfo=ZoneInfo("America/Martinique"))
    assert martinique.why_closed(noon).text == "jour férié : Abolition de l'esclavage"  # type: ignore[union-attr]


def test_dst_spring_forward_day_ranges() -> None:
    # Sunday 29 March 2026: clocks jump from 02:00 to 03:00 in Paris.
    calendar = Calendar.model_validate(
        {"weekly": {"sun": ["01:00-04:00"], "sat": ["00:00-24:00"]}, "holidays": None}
    )
    assert calendar.is_open(datetime(2026, 3, 29, 0, 30, tzinfo=UTC))  # 01:30 CET
    assert calendar.is_open(datetime(2026, 3, 29, 1, 30, tzinfo=UTC))  # 03:30 CEST
    assert not calendar.is_open(datetime(2026, 3, 29, 2, 0, tzinfo=UTC))  # 04:00 CEST
    start = datetime(2026, 3, 29, 0, 0, tzinfo=UTC)
    assert calendar.business_hours_between(start, start.replace(hour=3)) == pytest.approx(2.0)


def test_dst_gap_range_starts_at_the_jump() -> None:
    calendar = Calendar.model_validate({"weekly": {"sun": ["02:30-05:00"]}, "holidays": None})
    # 02:30 does not exist on 29 March 2026: the range opens at 03:00 CEST.
    assert calendar.next_opening(paris(2026, 3, 29, 0, 0)) == paris(2026, 3, 29, 3, 0)
    assert (
        calendar.business_hours_between(paris(2026, 3, 29, 0, 0), paris(2026, 3, 29, 6, 0)) == 2.0
    )


def test_rejects_naive_datetimes(hotline: Calendar) -> None:
    with pytest.raises(ValueError, match="naive"):
        hotline.is_open(datetime(2026, 12, 1, 10, 0))  # noqa: DTZ001


@pytest.mark.parametrize(
    ("document", "field", "message"),
    [
        ({"timezone": "Europe/Atlantis"}, "timezone", "fuseau horaire inconnu"),
        ({"holidays": "FR/99"}, "holidays", "subdivision inconnue"),
        ({"holidays": "XX"}, "holidays", "pays inconnu"),
        ({"weekly": {"mon": ["09:00-12:00", "11:00-14:00"]}}, "weekly.mon", "se chevauchent"),
        ({"weekly": {"mon": ["12:00-09:00"]}}, "weekly.mon.0", "finit avant de commencer"),
        ({"weekly": {"mon": ["9h-12h"]}}, "weekly.mon.0", "n'est pas une heure"),
        ({"weekly": {"funday": ["09:00-12:00"]}}, "weekly.funday.[key]", "mon"),
        (
            {"exceptions": [{"kind": "opening", "start": "2026-05-14", "label": "x"}]},
            "exceptions.0",
            "a besoin de ses plages horaires",
        ),
        (
            {
                "exceptions": [
                    {"kind": "closure", "start": "2026-06-01", "end": "2026-06-05", "label": "a"},
                    {"kind": "closure", "start": "2026-06-05", "label": "b"},
                ]
            },
            "",
            "se chevauchent",
        ),
    ],
)
def test_bad_calendars_name_the_field(
    document: dict[str, object], field: str, message: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        Calendar.model_validate(document)
    error = caught.value.errors()[0]
    assert ".".join(str(p) for p in error["loc"]) == field
    assert message in error["msg"]


def test_calendar_round_trips_as_written(hotline: Calendar) -> None:
    dumped = hotline.model_dump(mode="json")
    assert dumped["weekly"]["mon"] == ["09:00-12:00", "14:00-17:30"]
    assert Calendar.model_validate(dumped) == hotline
