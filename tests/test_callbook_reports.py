"""Reports of the call book on a hand-built book: every figure, periods, DST days.

`add_call` and `march_book` are shared with the other test_callbook_* files.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

import pytest
from flask import Flask
from sqlalchemy import inspect

from callbook.calls.models import Call, CallMotive
from callbook.db import database, session_scope
from callbook.reports import WEEKDAYS, Line, MotiveLine, Report, build_report, period
from tests.conftest import PARIS, paris

MotiveSpec = tuple[str, str, str]  # key, family, channel


def add_call(
    app: Flask,
    sid: str,
    started: datetime,
    *,
    structure: str = "",
    route: str = "",
    in_hours: bool | None = None,
    wait: int | None = None,
    duration: int | None = 60,
    motives: Sequence[MotiveSpec] = (),
    from_number: str = "+33612345678",
    contact: str = "",
    answered_by: str = "",
    ended: bool = True,
) -> None:
    """One call with known values, written directly in the book."""
    with session_scope(app) as session:
        call = Call(
            call_sid=sid,
            from_number=from_number,
            to_number="+33199001000",
            contact=contact,
            structure=structure,
            status="completed" if ended else "in-progress",
            route=route,
            answered_by=answered_by or ("hotline" if wait is not None else ""),
            in_hours=in_hours,
            started_at=started,
            answered_at=None if wait is None else started + timedelta(seconds=wait),
            ended_at=started + timedelta(seconds=duration or 0) if ended else None,
            duration=duration if ended else None,
            updated_at=started,
            state={},
            dialing=[],
        )
        call.motives = [
            CallMotive(position=i, motive=key, family=family, channel=channel)
            for i, (key, family, channel) in enumerate(motives)
        ]
        session.add(call)


def march_book(app: Flask) -> None:
    """March 2026 in Europe/Paris, plus one call on each side of the month.

    C5 and C6 fall on 29 March, the spring DST day: 01:30 local is 00:30 UTC,
    03:30 local is 01:30 UTC.
    """
    add_call(app, "C1", paris(2026, 3, 2, 9, 15), structure="auvergne", route="referent",
             in_hours=True, wait=30, motives=[("usage", "usage", "keypad")],
             contact="Mairie d'Issoire", answered_by="ref-auvergne")  # fmt: skip
    add_call(app, "C2", paris(2026, 3, 2, 9, 40), structure="auvergne", route="hotline",
             in_hours=True, wait=90, motives=[("incident", "incident", "keypad"),
                                              ("account", "account", "technician")])  # fmt: skip
    add_call(app, "C3", paris(2026, 3, 3, 14, 5), structure="paris", route="voicemail",
             in_hours=False, motives=[("incident", "incident", "speech"),
                                      ("anomaly", "incident", "technician")])  # fmt: skip
    add_call(app, "C4", paris(2026, 3, 7, 10, 0), route="oncall", in_hours=False, wait=20,
             motives=[("emergency", "emergency", "keypad")], answered_by="chloe")  # fmt: skip
    add_call(app, "C5", paris(2026, 3, 29, 1, 30), structure="paris", route="abandoned",
             duration=5)  # fmt: skip
    add_call(app, "C6", paris(2026, 3, 29, 3, 30), structure="paris", route="voicemail",
             in_hours=False, motives=[("incident", "incident", "keypad"),
                                      ("usage", "usage", "technician")])  # fmt: skip
    add_call(app, "C7", paris(2026, 3, 31, 23, 30), route="voicemail", in_hours=False,
             motives=[("directory", "directory", "keypad")])  # fmt: skip
    # Outside March in Paris, although C8 is still 31 March in UTC.
    add_call(app, "C8", paris(2026, 4, 1, 0, 10), route="hotline", in_hours=False,
             motives=[("usage", "usage", "keypad")])  # fmt: skip
    add_call(app, "C9", paris(2026, 2, 28, 23, 50), route="hotline", in_hours=False)


MARCH = period("month", date(2026, 3, 12), PARIS)


def report_of(app: Flask, structure: str | None = None, span: tuple = MARCH) -> Report:
    with session_scope(app) as session:
        return build_report(session, *span, structure=structure, tz=PARIS)


# -- periods -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "anchor", "start", "end"),
    [
        ("day", date(2026, 3, 29), paris(2026, 3, 29), paris(2026, 3, 30)),
        ("week", date(2026, 3, 29), paris(2026, 3, 23), paris(2026, 3, 30)),
        ("week", date(2026, 3, 23), paris(2026, 3, 23), paris(2026, 3, 30)),
        ("month", date(2026, 2, 14), paris(2026, 2, 1), paris(2026, 3, 1)),
        ("month", date(2026, 12, 31), paris(2026, 12, 1), paris(2027, 1, 1)),
        ("quarter", date(2026, 11, 15), paris(2026, 10, 1), paris(2027, 1, 1)),
        ("quarter", date(2026, 3, 31), paris(2026, 1, 1), paris(2026, 4, 1)),
        ("quarter", date(2026, 4, 1), paris(2026, 4, 1), paris(2026, 7, 1)),
    ],
)
def test_periods_are_local_and_half_open(
    kind: str, anchor: date, start: datetime, end: datetime
) -> None:
    assert period(kind, anchor, "Europe/Paris") == (start, end)  # type: ignore[arg-type]


def test_dst_days_last_23_and_25_hours() -> None:
    # Subtracting two datetimes of the same zone gives wall-clock time: go through UTC.
    spring = [t.astimezone(UTC) for t in period("day", date(2026, 3, 29), PARIS)]
    autumn = [t.astimezone(UTC) for t in period("day", date(2026, 10, 25), PARIS)]
    assert spring[1] - spring[0] == timedelta(hours=23)
    assert autumn[1] - autumn[0] == timedelta(hours=25)
    spring = list(period("day", date(2026, 3, 29), PARIS))
    assert spring[0].utcoffset() == timedelta(hours=1)
    assert spring[1].utcoffset() == timedelta(hours=2)


def test_custom_period_includes_its_last_day() -> None:
    start, end = period("custom", date(2026, 1, 1), PARIS, last=date(2026, 3, 31))
    assert (start, end) == (paris(2026, 1, 1), paris(2026, 4, 1))
    with pytest.raises(ValueError, match="before it starts"):
        period("custom", date(2026, 3, 31), PARIS, last=date(2026, 3, 1))
    with pytest.raises(ValueError, match="last day"):
        period("custom", date(2026, 3, 31), PARIS)


# -- figures -------------------------------------------------------------------------


def test_totals_rates_and_waits(app: Flask) -> None:
    march_book(app)
    report = report_of(app)
    assert (report.calls, report.call_motives, report.without_motive) == (7, 9, 1)
    assert report.history_lines == 10
    assert report.answered == 3 and report.answer_rate == pytest.approx(3 / 7)
    assert report.out_of_hours == 4 and report.out_of_hours_share == pytest.approx(4 / 7)
    assert report.wait_average == pytest.approx((30 + 90 + 20) / 3)
    assert report.wait_p90 == 90


def test_per_family_counts_each_call_once(app: Flask) -> None:
    march_book(app)
    report = report_of(app)
    # C3 has two motives of the incident family: two call-motives, one call.
    assert report.by_family == [
        Line("incident", 3, 4),
        Line("usage", 2, 2),
        Line("account", 1, 1),
        Line("directory", 1, 1),
        Line("emergency", 1, 1),
    ]


def test_per_motive_and_top_irritants(app: Flask) -> None:
    march_book(app)
    report = report_of(app)
    assert report.by_motive == [
        MotiveLine("incident", "incident", 3, 3),
        MotiveLine("usage", "usage", 2, 2),
        MotiveLine("account", "account", 1, 1),
        MotiveLine("anomaly", "incident", 1, 1),
        MotiveLine("directory", "directory", 1, 1),
        MotiveLine("emergency", "emergency", 1, 1),
    ]
    assert [m.motive for m in report.top_irritants] == [
        "incident",
        "usage",
        "account",
        "anomaly",
        "directory",
    ]


def test_per_structure_and_per_route(app: Flask) -> None:
    march_book(app)
    report = report_of(app)
    assert report.by_structure == [
        Line("paris", 3, 4),
        Line("auvergne", 2, 3),
        Line("", 2, 2),
    ]
    assert sorted(report.by_route, key=lambda line: line.key) == [
        Line("abandoned", 1, 0),
        Line("hotline", 1, 2),
        Line("oncall", 1, 1),
        Line("referent", 1, 1),
        Line("voicemail", 3, 5),
    ]


def test_one_structure(app: Flask) -> None:
    march_book(app)
    report = report_of(app, "paris")
    assert (report.calls, report.call_motives, report.answered) == (3, 4, 0)
    assert report.answer_rate == 0 and report.out_of_hours == 2
    assert report.wait_average is None and report.wait_p90 is None
    assert [line.key for line in report.by_structure] == ["paris"]


def test_empty_period(app: Flask) -> None:
    report = report_of(app)
    assert report.calls == 0 and report.answer_rate is None and report.out_of_hours_share is None
    assert report.by_family == [] and sum(map(sum, report.hourly)) == 0
    assert report.to_dict()["answer_rate"] is None


def test_hour_by_weekday_in_local_time_on_the_spring_dst_day(app: Flask) -> None:
    march_book(app)
    grid = report_of(app).hourly
    monday, tuesday, saturday, sunday = 0, 1, 5, 6
    expected = {
        (monday, 9): 2,
        (tuesday, 14): 1,
        (tuesday, 23): 1,  # C7: 21:30 UTC, 23:30 in Paris (summer time)
        (saturday, 10): 1,
        (sunday, 1): 1,  # C5: before the jump
        (sunday, 3): 1,  # C6: 01:30 UTC is 03:30 summer time; 02:xx never happens
    }
    seen = {(d, h): n for d in range(7) for h in range(24) if (n := grid[d][h])}
    assert seen == expected


def test_hour_by_weekday_on_the_autumn_dst_day(app: Flask) -> None:
    def utc(*args: int) -> datetime:
        return datetime(*args, tzinfo=UTC)  # type: ignore[misc]

    # 25 October 2026: 03:00 summer time becomes 02:00 winter time at 01:00 UTC.
    add_call(app, "O1", utc(2026, 10, 25, 0, 30))  # 02:30 summer time
    add_call(app, "O2", utc(2026, 10, 25, 1, 30))  # 02:30 winter time: the same wall hour
    add_call(app, "O3", utc(2026, 10, 25, 2, 30))  # 03:30
    add_call(app, "O4", utc(2026, 10, 24, 22, 30))  # Sunday 00:30 summer time
    add_call(app, "O5", utc(2026, 10, 26, 8, 0))  # Monday 09:00 winter time
    report = report_of(app, span=period("week", date(2026, 10, 21), PARIS))
    grid = report.hourly
    assert report.calls == 4  # Monday 26 belongs to the next week
    assert (grid[6][0], grid[6][2], grid[6][3], grid[0][9]) == (1, 2, 1, 0)
    report = report_of(app, span=period("custom", date(2026, 10, 24), PARIS,
                                        last=date(2026, 10, 26)))  # fmt: skip
    grid = report.hourly
    assert report.calls == 5
    assert (grid[6][0], grid[6][2], grid[6][3], grid[0][9]) == (1, 2, 1, 1)


def test_to_dict_is_json(app: Flask) -> None:
    import json

    march_book(app)
    data = json.loads(json.dumps(report_of(app).to_dict()))
    assert data["start"] == "2026-03-01T00:00:00+01:00"
    assert data["end"] == "2026-04-01T00:00:00+02:00"
    assert data["calls"] == 7 and data["wait"]["p90_seconds"] == 90
    assert data["by_family"][0] == {"key": "incident", "calls": 3, "call_motives": 4}
    assert len(data["top_irritants"]) == 5
    assert data["hourly"]["weekdays"] == list(WEEKDAYS)
    assert data["hourly"]["calls"][0][9] == 2


def test_naive_periods_are_refused(app: Flask) -> None:
    with session_scope(app) as session, pytest.raises(ValueError, match="aware"):
        build_report(session, datetime(2026, 3, 1), datetime(2026, 4, 1))  # noqa: DTZ001


def test_the_migration_adds_the_report_indexes(app: Flask) -> None:
    inspector = inspect(database(app).engine)
    calls = {ix["name"]: ix["column_names"] for ix in inspector.get_indexes("calls")}
    motives = {ix["name"]: ix["column_names"] for ix in inspector.get_indexes("call_motives")}
    reported = ["direction", "route", "in_hours", "answered_at"]
    assert calls["ix_calls_period"] == ["started_at", "structure", *reported]
    assert calls["ix_calls_structure_period"] == ["structure", "started_at", *reported]
    assert motives["ix_call_motives_call_motive"] == ["call_id", "motive", "family"]
