"""Contact-centre figures on hand-built waits and calls: counts, rates, percentiles, heat map."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from flask import Flask

from callbook.db import session_scope
from callbook.queue import QueueEntry
from callbook.reports import period
from callbook.reports.contact_centre import contact_centre, waiting_now
from schedules import clock
from tests.api_helpers import token_for
from tests.conftest import PARIS, paris
from tests.test_callbook_reports import add_call


def add_wait(
    app: Flask,
    sid: str,
    enqueued: datetime,
    outcome: str,
    wait: int | None = None,
    *,
    team: str = "hotline",
    answered: bool = False,
) -> None:
    """One wait (and its inbound call, answered when bridged) written directly in the book."""
    add_call(app, sid, enqueued, route="hotline", wait=wait if answered else None)
    with session_scope(app) as session:
        session.add(
            QueueEntry(
                call_sid=sid,
                team=team,
                caller_number="+33612345678",
                enqueued_at=enqueued,
                position=1,
                outcome=outcome,
                ended_at=None if wait is None else enqueued + timedelta(seconds=wait),
                wait_seconds=wait,
            )
        )


def seed_march(app: Flask) -> None:
    """Monday 2 March 2026: hotline waits of every outcome, one structure, direct answers."""
    day = paris(2026, 3, 2, 9, 0)
    for i, seconds in enumerate((5, 10, 15, 20, 25, 40, 60, 90, 120, 300)):
        add_wait(app, f"B{i}", day + timedelta(minutes=i), "bridged", seconds, answered=True)
    add_wait(app, "A1", paris(2026, 3, 2, 10, 5), "abandoned", 50)
    add_wait(app, "A2", paris(2026, 3, 2, 10, 40), "abandoned", 400)
    add_wait(app, "A3", paris(2026, 3, 3, 14, 10), "abandoned", 7, team="auvergne")
    add_wait(app, "H1", paris(2026, 3, 2, 11, 0), "hold", 30)
    add_wait(app, "M1", paris(2026, 3, 2, 11, 5), "max_wait", 600)
    add_wait(app, "K1", paris(2026, 3, 2, 17, 29), "closing", 60)
    add_wait(app, "W1", paris(2026, 3, 2, 17, 45), "waiting")
    # Answered at once, never queued: two for the hotline, one by a referent.
    add_call(app, "D1", paris(2026, 3, 2, 9, 30), route="hotline", wait=4)
    add_call(app, "D2", paris(2026, 3, 2, 9, 31), route="hotline", wait=3, structure="auvergne")
    add_call(app, "D3", paris(2026, 3, 2, 9, 32), route="referent", wait=2, structure="auvergne")
    # Not offered: never answered and never queued; outside the month; outbound.
    add_call(app, "V1", paris(2026, 3, 2, 9, 33), route="voicemail")
    add_wait(app, "X1", paris(2026, 4, 1, 9, 0), "abandoned", 10)


def test_figures_per_team_and_in_total(app: Flask) -> None:
    seed_march(app)
    start, end = period("month", date(2026, 3, 10), PARIS)
    with session_scope(app) as session:
        cc = contact_centre(session, start, end, tz=PARIS, threshold=20)
    hotline, auvergne = cc.teams
    assert (hotline.team, auvergne.team) == ("hotline", "auvergne")
    # 10 bridged + 2 abandoned + hold + max_wait + closing + waiting + 2 direct
    assert hotline.offered == 18
    assert hotline.answered == 12 and hotline.answered_directly == 2
    assert hotline.abandoned == 2 and hotline.abandon_rate == pytest.approx(2 / 18)
    assert (hotline.hold, hotline.max_wait, hotline.closing, hotline.waiting) == (1, 1, 1, 1)
    # within 20 s: 5, 10, 15, 20 and the two direct answers, among 17 settled
    assert hotline.answered_within == 6
    assert hotline.service_level == pytest.approx(6 / 17)
    waits = [5, 10, 15, 20, 25, 40, 60, 90, 120, 300, 0, 0]
    assert hotline.wait_average == pytest.approx(sum(waits) / 12)
    assert hotline.wait_p90 == 120.0  # 11th of 12 sorted waits (nearest rank)
    assert hotline.longest_wait == 600
    assert (auvergne.offered, auvergne.answered, auvergne.abandoned) == (2, 1, 1)
    assert auvergne.wait_p90 == 0.0 and auvergne.longest_wait == 7
    assert cc.total.offered == 20 and cc.total.abandoned == 3 and cc.total.hold == 1
    assert cc.total.to_dict()["service_level"] == pytest.approx(7 / 19)


def test_one_team_only_and_the_abandons_heat_map(app: Flask) -> None:
    seed_march(app)
    start, end = period("month", date(2026, 3, 10), PARIS)
    with session_scope(app) as session:
        cc = contact_centre(session, start, end, team="auvergne", tz=PARIS)
        everyone = contact_centre(session, start, end, tz=PARIS)
    assert [t.team for t in cc.teams] == ["auvergne"]
    assert cc.total.offered == 2
    assert sum(map(sum, cc.abandons)) == 1 and cc.abandons[1][14] == 1  # Tuesday 14 h local
    assert everyone.abandons[0][10] == 2  # Monday 10 h local, both in Paris time
    data = everyone.to_dict()
    assert data["abandons"]["counts"][0][10] == 2
    assert data["service_level_seconds"] == 20


def test_abandons_on_the_autumn_dst_day_fall_in_their_local_hour(app: Flask) -> None:
    # 25 October 2026: 02:30 local happens twice (00:30 and 01:30 UTC).
    add_wait(app, "F1", datetime(2026, 10, 25, 0, 30, tzinfo=UTC), "abandoned", 12)
    add_wait(app, "F2", datetime(2026, 10, 25, 1, 30, tzinfo=UTC), "abandoned", 12)
    start, end = period("day", date(2026, 10, 25), PARIS)
    with session_scope(app) as session:
        cc = contact_centre(session, start, end, tz=PARIS)
    assert cc.abandons[6][2] == 2  # Sunday, 02 h local, twice
    assert cc.total.abandon_rate == 1.0


def test_an_empty_period_has_no_rates(app: Flask) -> None:
    start, end = period("day", date(2026, 3, 2), PARIS)
    with session_scope(app) as session:
        cc = contact_centre(session, start, end, tz=PARIS)
    assert cc.teams == [] and cc.total.offered == 0
    assert cc.total.service_level is None and cc.total.abandon_rate is None
    assert cc.total.wait_average is None and cc.total.longest_wait is None


def test_callers_waiting_now_per_team(app: Flask) -> None:
    now = paris(2026, 3, 2, 10, 0)
    add_wait(app, "W1", now - timedelta(seconds=95), "waiting", team="auvergne")
    add_wait(app, "W2", now - timedelta(seconds=40), "waiting")
    add_wait(app, "W3", now - timedelta(seconds=10), "waiting")
    add_wait(app, "B1", now - timedelta(seconds=300), "bridged", 20, answered=True)
    add_wait(app, "L1", now - timedelta(hours=5), "waiting")  # its end was lost
    with session_scope(app) as session:
        assert waiting_now(session, now) == [("hotline", 2, 40), ("auvergne", 1, 95)]


def test_the_api_answers_the_figures_of_a_period(app: Flask) -> None:
    seed_march(app)
    client = app.test_client()
    viewer = token_for(app, "viewer")
    url = "/api/v1/reports/contact-centre"
    response = client.get(f"{url}?period=month&date=2026-03-10", headers=viewer)
    assert response.status_code == 200, response.data
    data = response.get_json()
    assert data["start"] == "2026-03-01T00:00:00+01:00" and data["timezone"] == "Europe/Paris"
    assert data["total"]["offered"] == 20 and data["total"]["hold"] == 1
    assert [t["team"] for t in data["teams"]] == ["hotline", "auvergne"]
    assert data["teams"][0]["abandon_rate"] == pytest.approx(2 / 18)
    assert data["abandons"]["counts"][0][10] == 2
    one = client.get(f"{url}?period=day&date=2026-03-03&team=auvergne", headers=viewer).get_json()
    assert one["team"] == "auvergne" and one["total"]["abandoned"] == 1
    year = client.get(f"{url}?period=year&date=2026-07-01", headers=viewer).get_json()
    assert year["start"] == "2026-01-01T00:00:00+01:00" and year["total"]["offered"] == 21
    with clock.frozen_at(paris(2026, 3, 2, 18, 0)):  # no date: today
        today = client.get(f"{url}?period=day", headers=viewer).get_json()
    assert today["total"]["offered"] == 19


@pytest.mark.parametrize(
    ("query", "field"),
    [("period=decade", "period"), ("date=2026-13-01", "date"), ("team=Bad%20Team", "team")],
)
def test_the_api_refuses_bad_queries(app: Flask, query: str, field: str) -> None:
    response = app.test_client().get(
        f"/api/v1/reports/contact-centre?{query}", headers=token_for(app, "viewer")
    )
    assert response.status_code == 422
    assert response.get_json()["fields"] == [field]


def test_the_api_needs_a_token(app: Flask) -> None:
    assert app.test_client().get("/api/v1/reports/contact-centre").status_code == 401
