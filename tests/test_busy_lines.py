"""A number is busy only while it really is: ring timeouts, the talk bound, Twilio's word.

A first caller is put through to the hotline, then the call's dial result and
final status never come (lost callbacks); a second caller then asks for the
hotline. Twilio's REST API is replaced at the network edge only.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from requests.adapters import HTTPAdapter
from sqlalchemy import select

from callbook.calls.models import Call, CallEvent
from callbook.db import database, session_scope
from ivr.app import create_app
from ivr.call_status import WEBHOOK_TIMEOUT
from ivr.jobs.scheduler import jobs
from ivr.runtime import install_demo_if_empty
from schedules import clock
from tests.conftest import IvrRunner, deployment_settings, paris
from tests.fake_twilio import FakeTwilioHttp, fake_twilio
from tests.test_callbook_reports import add_call
from tests.voice_client import Twilio

HOTLINE = ["+33199002000", "+33199002001"]
TUESDAY_10 = paris(2026, 12, 1, 10, 0)  # the hotline is open; it rings 30 s (demo)


@pytest.fixture
def at() -> Iterator[Callable[[datetime], None]]:
    with ExitStack() as stack:
        yield lambda moment: stack.enter_context(clock.frozen_at(moment))


def put_through_to_hotline(app: Flask, at: Callable[[datetime], None], moment: datetime) -> str:
    """A caller at `moment` asks for the hotline; returns the CallSid and the numbers rung."""
    at(moment)
    caller = Twilio(app, caller="+33611111111")
    caller.step("/voice/incoming")
    twiml = caller.step("/voice/menu", {"Digits": "1"})  # an incident: the hotline
    assert twiml.dialed == HOTLINE
    # Twilio says the call is answered; its dial result and final status are then lost.
    assert caller.post("/voice/status", {"CallStatus": "in-progress"}).status_code == 204
    return caller.call_sid


def hotline_rung_for_next_caller(
    app: Flask, at: Callable[[datetime], None], moment: datetime
) -> bool:
    """Whether the hotline is rung for another caller at `moment` (who then hangs up)."""
    at(moment)
    caller = Twilio(app, caller="+33622222222")
    caller.step("/voice/incoming")
    twiml = caller.step("/voice/menu", {"Digits": "1"})
    assert caller.post("/voice/status", {"CallStatus": "completed"}).status_code == 204
    if twiml.dialed:
        assert twiml.dialed == HOTLINE
        return True
    assert "Enqueue" in twiml.verbs  # skipped as busy: the hotline's waiting line
    return False


def status_requests(http: FakeTwilioHttp) -> list[str]:
    return [
        r["url"].rsplit("/", 1)[1].removesuffix(".json")
        for r in http.requests
        if r["method"] == "GET"
    ]


# -- without Twilio (the demo): ring timeout, then the talk bound ------------------------


def test_a_call_an_hour_old_with_no_live_leg_does_not_keep_the_hotline_busy(
    app: Flask, at: Callable[[datetime], None]
) -> None:
    put_through_to_hotline(app, at, TUESDAY_10)
    # 30 s of ringing and 60 min of conversation at most (IVR_MAX_TALK_MINUTES) are over.
    assert hotline_rung_for_next_caller(app, at, TUESDAY_10 + timedelta(minutes=65))


def test_a_leg_within_its_ring_timeout_keeps_the_number_busy(
    app: Flask, at: Callable[[datetime], None]
) -> None:
    put_through_to_hotline(app, at, TUESDAY_10)
    assert not hotline_rung_for_next_caller(app, at, TUESDAY_10 + timedelta(seconds=20))


def test_without_twilio_a_leg_past_its_ring_timeout_is_busy_up_to_the_talk_bound(
    app: Flask, at: Callable[[datetime], None]
) -> None:
    put_through_to_hotline(app, at, TUESDAY_10)
    assert not hotline_rung_for_next_caller(app, at, TUESDAY_10 + timedelta(minutes=55))


def test_the_talk_bound_is_a_setting(
    migrated_database: str, tmp_path: Path, at: Callable[[datetime], None]
) -> None:
    settings = deployment_settings(
        instance_dir=tmp_path / "instance", database_url=migrated_database, max_talk_minutes=20
    )
    app = create_app(settings)
    with session_scope(app) as session:
        install_demo_if_empty(session)
    try:
        put_through_to_hotline(app, at, TUESDAY_10)
        assert hotline_rung_for_next_caller(app, at, TUESDAY_10 + timedelta(minutes=21))
    finally:
        database(app).engine.dispose()


def test_a_call_dialled_before_the_book_kept_ring_times_counts_from_its_start(
    app: Flask, at: Callable[[datetime], None]
) -> None:
    dialling = {
        "CAOLD": (TUESDAY_10 - timedelta(hours=2), HOTLINE[0]),
        "CANEW": (TUESDAY_10, HOTLINE[1]),
    }
    for sid, (started, _number) in dialling.items():
        add_call(app, sid, started, route="hotline", ended=False)
    with session_scope(app) as session:
        for call in session.scalars(select(Call).where(Call.call_sid.in_(dialling))):
            call.dialing = [dialling[call.call_sid][1]]
    # CANEW started 10 min ago and its ringing time is not known: maybe talking.
    at(TUESDAY_10 + timedelta(minutes=10))
    caller = Twilio(app, caller="+33622222222")
    caller.step("/voice/incoming")
    assert caller.step("/voice/menu", {"Digits": "1"}).dialed == [HOTLINE[0]]


# -- Twilio asked about legs in doubt --------------------------------------------------


def test_twilio_reporting_the_doubtful_call_completed_frees_the_number(
    twilio_app: Flask, at: Callable[[datetime], None]
) -> None:
    http = FakeTwilioHttp()
    fake_twilio(twilio_app, http)
    first = put_through_to_hotline(twilio_app, at, TUESDAY_10)
    assert status_requests(http) == []  # nobody else was on a line
    http.call_status[first] = "completed"
    assert hotline_rung_for_next_caller(twilio_app, at, TUESDAY_10 + timedelta(minutes=20))
    assert status_requests(http) == [first]
    # A final status is final: the next caller does not ask again.
    assert hotline_rung_for_next_caller(twilio_app, at, TUESDAY_10 + timedelta(minutes=21))
    assert status_requests(http) == [first]


def test_twilio_reporting_the_call_in_progress_keeps_the_number_busy(
    twilio_app: Flask, at: Callable[[datetime], None]
) -> None:
    http = FakeTwilioHttp()
    fake_twilio(twilio_app, http)
    first = put_through_to_hotline(twilio_app, at, TUESDAY_10)
    http.call_status[first] = "in-progress"
    assert not hotline_rung_for_next_caller(twilio_app, at, TUESDAY_10 + timedelta(minutes=20))
    assert status_requests(http) == [first]


def test_a_ringing_leg_is_busy_without_asking_twilio(
    twilio_app: Flask, at: Callable[[datetime], None]
) -> None:
    http = FakeTwilioHttp()
    fake_twilio(twilio_app, http)
    first = put_through_to_hotline(twilio_app, at, TUESDAY_10)
    http.call_status[first] = "completed"  # would free it, were Twilio asked
    assert not hotline_rung_for_next_caller(twilio_app, at, TUESDAY_10 + timedelta(seconds=20))
    assert status_requests(http) == []


class Unreachable:
    """The HTTP transport under Twilio's client: every connection times out."""

    def __init__(self) -> None:
        self.timeouts: list[object] = []

    def send(self, request: requests.PreparedRequest, **kw: Any) -> None:
        self.timeouts.append(kw.get("timeout"))
        raise requests.exceptions.ConnectTimeout("connect timed out", request=request)


def test_twilio_unreachable_falls_back_to_the_bounded_rule_without_waiting(
    twilio_app: Flask, at: Callable[[datetime], None], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The webhook's own gateway: one short try, no backoff, then quiet for a while."""
    edge = Unreachable()
    monkeypatch.setattr(HTTPAdapter, "send", edge.send)
    put_through_to_hotline(twilio_app, at, TUESDAY_10)
    started = time.monotonic()
    assert not hotline_rung_for_next_caller(twilio_app, at, TUESDAY_10 + timedelta(minutes=20))
    assert time.monotonic() - started < 1.4  # no retry, no backoff sleep (0.5 s, then 1 s)
    assert edge.timeouts == [WEBHOOK_TIMEOUT] and WEBHOOK_TIMEOUT <= 2
    # Twilio just failed: the next dialling webhook does not wait for it again.
    assert not hotline_rung_for_next_caller(twilio_app, at, TUESDAY_10 + timedelta(minutes=21))
    assert len(edge.timeouts) == 1
    # Past the talk bound the leg is over, whatever Twilio could say.
    assert hotline_rung_for_next_caller(twilio_app, at, TUESDAY_10 + timedelta(minutes=65))


def test_twilio_refusing_falls_back_to_the_bounded_rule(
    twilio_app: Flask, at: Callable[[datetime], None]
) -> None:
    http = FakeTwilioHttp()
    sleeps = fake_twilio(twilio_app, http)
    put_through_to_hotline(twilio_app, at, TUESDAY_10)
    http.failures = [503, 503, 503]
    assert not hotline_rung_for_next_caller(twilio_app, at, TUESDAY_10 + timedelta(minutes=20))
    assert len(http.requests) == 1 and sleeps == []  # one try, no backoff


# -- the sweep and the Today page ----------------------------------------------------------


def swept_event(app: Flask, sid: str) -> dict[str, Any]:
    with session_scope(app) as session:
        call = session.scalars(select(Call).where(Call.call_sid == sid)).one()
        event = session.scalars(
            select(CallEvent).where(CallEvent.call_id == call.id, CallEvent.kind == "swept")
        ).one()
        return dict(event.data)


def call_status(app: Flask, sid: str) -> tuple[str, bool]:
    with session_scope(app) as session:
        call = session.scalars(select(Call).where(Call.call_sid == sid)).one()
        return call.status, call.ended_at is not None


def test_sweep_closes_stale_calls_with_the_status_twilio_reports(
    twilio_app: Flask, at: Callable[[datetime], None]
) -> None:
    http = FakeTwilioHttp()
    fake_twilio(twilio_app, http)
    five_hours_ago = TUESDAY_10 - timedelta(hours=5)
    for sid in ("CADONE", "CAMISSED", "CALONG"):
        add_call(twilio_app, sid, five_hours_ago, route="hotline", ended=False)
    add_call(twilio_app, "CARECENT", TUESDAY_10 - timedelta(minutes=5), ended=False)
    http.call_status.update(
        {"CADONE": "completed", "CAMISSED": "no-answer", "CALONG": "in-progress"}
    )
    at(TUESDAY_10)
    with twilio_app.app_context():
        assert jobs(twilio_app)["sweep"]() == 2
    assert call_status(twilio_app, "CADONE") == ("completed", True)
    assert call_status(twilio_app, "CAMISSED") == ("no-answer", True)
    assert call_status(twilio_app, "CALONG") == ("in-progress", False)  # Twilio: it goes on
    assert call_status(twilio_app, "CARECENT") == ("in-progress", False)  # not asked
    assert sorted(status_requests(http)) == ["CADONE", "CALONG", "CAMISSED"]
    assert swept_event(twilio_app, "CADONE") == {
        "status": "completed",
        "source": "twilio",
        "last_heard": five_hours_ago.astimezone(UTC).isoformat(),
    }


def test_sweep_without_an_answer_from_twilio_closes_as_unknown(
    twilio_app: Flask, at: Callable[[datetime], None]
) -> None:
    http = FakeTwilioHttp(failures=[503, 503, 503])
    sleeps = fake_twilio(twilio_app, http)
    for sid in ("CAONE", "CATWO"):
        add_call(twilio_app, sid, TUESDAY_10 - timedelta(hours=5), ended=False)
    at(TUESDAY_10)
    with twilio_app.app_context():
        assert jobs(twilio_app)["sweep"]() == 2
    assert call_status(twilio_app, "CAONE") == ("unknown", True)
    assert call_status(twilio_app, "CATWO") == ("unknown", True)
    assert swept_event(twilio_app, "CAONE")["status"] == "unknown"
    # The scheduler retries with backoff, then asks nothing more during this sweep.
    assert len(http.requests) == 3 and sleeps == [0.5, 1.0]


def test_sweep_command_without_twilio_closes_as_unknown(
    app: Flask, runner: IvrRunner, at: Callable[[datetime], None]
) -> None:
    add_call(app, "CALOST", TUESDAY_10 - timedelta(hours=5), ended=False)
    at(TUESDAY_10)
    result = runner.invoke("callbook", "sweep")
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "1 open call closed"
    assert call_status(app, "CALOST") == ("unknown", True)


def test_today_lists_only_calls_that_may_go_on(
    app: Flask, at: Callable[[datetime], None], login_as: Callable[[str], FlaskClient]
) -> None:
    put_through_to_hotline(app, at, TUESDAY_10)
    technician = login_as("technician")
    at(TUESDAY_10 + timedelta(minutes=30))
    assert "Appels en cours (1)" in technician.get("/admin/today").get_data(as_text=True)
    at(TUESDAY_10 + timedelta(minutes=65))
    assert "Appels en cours (0)" in technician.get("/admin/today").get_data(as_text=True)
