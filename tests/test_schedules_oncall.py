"""On-call windows (working day vs weekend/holiday), rota handovers, overrides."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from pydantic import ValidationError

from schedules import OnCallSchedule, Rota
from tests.conftest import paris


@pytest.mark.parametrize(
    ("moment", "active"),
    [
        ((2026, 12, 1, 5, 59), False),  # Tuesday, before 06:00
        ((2026, 12, 1, 6, 0), True),
        ((2026, 12, 1, 21, 59), True),
        ((2026, 12, 1, 22, 0), False),
        ((2026, 11, 28, 9, 30), True),  # Saturday, first window
        ((2026, 11, 28, 12, 0), False),  # Saturday noon: between windows
        ((2026, 11, 28, 16, 30), True),  # Saturday, second window
        ((2026, 5, 14, 9, 30), True),  # Ascension: weekend pattern
        ((2026, 5, 14, 11, 0), False),  # would be a working-day window otherwise
        ((2026, 12, 25, 9, 30), True),  # Christmas morning
        ((2026, 12, 25, 13, 0), False),
    ],
)
def test_windows_by_kind_of_day(
    oncall: OnCallSchedule, moment: tuple[int, ...], active: bool
) -> None:
    assert (oncall.on_call(paris(*moment)) is not None) is active


def test_holiday_follows_weekend_pattern(oncall: OnCallSchedule) -> None:
    duty = oncall.on_call(paris(2026, 5, 14, 16, 15))
    assert duty is not None and duty.rest_day
    assert (duty.window_start, duty.window_end) == (paris(2026, 5, 14, 16), paris(2026, 5, 14, 17))


def test_rota_rotates_weekly_on_monday_morning(oncall: OnCallSchedule) -> None:
    # Anchor Monday 5 January 2026: alice, then bruno, then chloe, then alice.
    assert oncall.on_call(paris(2026, 1, 5, 9, 0)).primary == "alice"  # type: ignore[union-attr]
    assert oncall.on_call(paris(2026, 1, 12, 8, 59)).primary == "alice"  # type: ignore[union-attr]
    duty = oncall.on_call(paris(2026, 1, 12, 9, 0))
    assert duty is not None
    assert duty.escalation == ("bruno", "chloe", "alice")
    assert duty.backups == ("chloe", "alice")
    assert oncall.on_call(paris(2026, 1, 19, 10, 0)).primary == "chloe"  # type: ignore[union-attr]
    assert oncall.on_call(paris(2026, 1, 26, 10, 0)).primary == "alice"  # type: ignore[union-attr]
    # Before the anchor the rotation runs backwards consistently.
    assert oncall.on_call(paris(2025, 12, 29, 10, 0)).primary == "chloe"  # type: ignore[union-attr]


def test_dst_weekend_windows_keep_local_hours(oncall: OnCallSchedule) -> None:
    # Saturday 28 March (CET) and Sunday 29 March (CEST): 09:00 local both days.
    saturday = oncall.window_at(datetime(2026, 3, 28, 8, 30, tzinfo=UTC))
    sunday = oncall.window_at(datetime(2026, 3, 29, 7, 30, tzinfo=UTC))
    assert saturday is not None and saturday[0] == paris(2026, 3, 28, 9, 0)
    assert sunday is not None and sunday[0] == paris(2026, 3, 29, 9, 0)
    assert oncall.window_at(datetime(2026, 3, 29, 8, 30, tzinfo=UTC)) is None  # 10:30 CEST
    # Sunday 25 October: back to UTC+1, 09:00 local is 08:00 UTC.
    assert oncall.window_at(datetime(2026, 10, 25, 8, 0, tzinfo=UTC)) is not None
    assert oncall.window_at(datetime(2026, 10, 25, 7, 59, tzinfo=UTC)) is None


def test_override_takes_the_lead(oncall: OnCallSchedule) -> None:
    document = oncall.model_dump(mode="json")
    document["overrides"] = [
        {
            "start": "2026-12-24T18:00:00+01:00",
            "end": "2026-12-26T09:00:00+01:00",
            "technician": "bruno",
            "label": "échange avec chloé",
        }
    ]
    swapped = OnCallSchedule.model_validate(document)
    scheduled = oncall.on_call(paris(2026, 12, 25, 9, 30))
    duty = swapped.on_call(paris(2026, 12, 25, 9, 30))
    assert scheduled is not None and duty is not None
    assert scheduled.primary == "chloe"  # 50 weeks after the anchor
    assert duty.primary == "bruno"
    assert duty.override == "échange avec chloé"
    assert scheduled.primary in duty.backups
    assert len(duty.escalation) == 3
    assert swapped.on_call(paris(2026, 12, 26, 9, 30)).primary == scheduled.primary  # type: ignore[union-attr]


def test_next_window(oncall: OnCallSchedule) -> None:
    assert oncall.next_window(paris(2026, 11, 28, 12, 0)) == (
        paris(2026, 11, 28, 16, 0),
        paris(2026, 11, 28, 17, 0),
    )


@pytest.mark.parametrize(
    ("rota", "field", "message"),
    [
        ({"members": [], "anchor": "2026-01-05"}, "rota.members", "at least 1"),
        ({"members": ["a", "a"], "anchor": "2026-01-05"}, "rota.members", "twice"),
        ({"members": ["a"], "anchor": "2026-01-06"}, "rota", "not the handover day"),
        (
            {"members": ["a"], "anchor": "2026-01-05", "handover_time": "9"},
            "rota.handover_time",
            "n'est pas une heure",
        ),
    ],
)
def test_bad_rota_names_the_field(rota: dict[str, object], field: str, message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        OnCallSchedule.model_validate({"rota": rota})
    error = caught.value.errors()[0]
    assert ".".join(str(p) for p in error["loc"]) == field
    assert message in error["msg"]


def test_overlapping_or_naive_overrides_are_refused() -> None:
    rota = {"members": ["a", "b"], "anchor": date(2026, 1, 5)}
    with pytest.raises(ValidationError, match="overlap"):
        OnCallSchedule.model_validate(
            {
                "rota": rota,
                "overrides": [
                    {
                        "start": "2026-12-24T18:00+01:00",
                        "end": "2026-12-26T09:00+01:00",
                        "technician": "a",
                    },
                    {
                        "start": "2026-12-25T18:00+01:00",
                        "end": "2026-12-27T09:00+01:00",
                        "technician": "b",
                    },
                ],
            }
        )
    with pytest.raises(ValidationError, match="UTC offset"):
        OnCallSchedule.model_validate(
            {
                "rota": rota,
                "overrides": [
                    {"start": "2026-12-24T18:00", "end": "2026-12-26T09:00", "technician": "a"}
                ],
            }
        )
    assert Rota.model_validate(rota).members == ["a", "b"]
