"""The dispatcher under faults: killed mid-dispatch, Twilio's REST API failing."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from flask import Flask
from requests.exceptions import ConnectTimeout, ReadTimeout
from sqlalchemy import select
from twilio.http.response import Response

from callbook.db import database, session_scope
from callbook.tickets import Callback, Ticket, dispatch
from ivr.app import create_app
from ivr.jobs.callbacks import Dispatcher
from ivr.runtime import active_config, install_demo_if_empty
from ivr.settings import Settings
from ivr.twilio_adapter import TwilioGateway, TwilioUnavailable
from schedules import clock
from tests.conftest import deployment_settings, paris
from tests.fake_twilio import FakeTwilioHttp
from tests.voice_client import Twilio

PUBLIC = "https://ivr.example.org"
HOTLINE = "+33199002000"
MONDAY_9 = paris(2026, 12, 28, 9, 0)  # the hotline is open


@pytest.fixture
def app(migrated_database: str, tmp_path: Path) -> Iterator[Flask]:
    """The service with Twilio credentials, on the test database (SQLite or PostgreSQL)."""
    settings = deployment_settings(
        instance_dir=tmp_path / "instance",
        database_url=migrated_database,
        twilio_account_sid="AC" + "0" * 32,
        twilio_auth_token="test-auth-token",  # type: ignore[arg-type]
        public_url=PUBLIC,
        outbound_rate=0,
    )
    app = create_app(settings)
    with session_scope(app) as session:
        install_demo_if_empty(session)
    yield app
    database(app).engine.dispose()


@pytest.fixture
def clock_at() -> Iterator[Callable[[datetime], None]]:
    with ExitStack() as stack:
        yield lambda moment: stack.enter_context(clock.frozen_at(moment))


def add_callbacks(app: Flask, count: int, due: datetime) -> list[int]:
    """`count` callbacks due at `due`, each from its own caller, each with a ticket."""
    ids = []
    with session_scope(app) as session:
        for n in range(count):
            ticket = Ticket(
                number=f"90000{n}", caller_number=f"+3361234500{n}", contact="", structure="",
                motive="", family="incident", priority="high", status="open", assignee="",
                call_sid="", urgent=False, flagged=False, deadline_warned=False,
                created_at=due, updated_at=due,
            )  # fmt: skip
            session.add(ticket)
            session.flush()
            callback = Callback(
                ticket_id=ticket.id, caller_number=ticket.caller_number,
                agent_numbers=[HOTLINE], due_at=due, created_at=due, updated_at=due,
            )  # fmt: skip
            session.add(callback)
            session.flush()
            ids.append(callback.id)
    return ids


def rows(app: Flask) -> dict[int, Callback]:
    with session_scope(app) as session:
        found = {c.id: c for c in session.scalars(select(Callback))}
        session.expunge_all()
        return found


def placed(http: FakeTwilioHttp) -> Counter[int]:
    """How many calls Twilio was asked to place, per callback id."""
    return Counter(
        int(parse_qs(urlparse(str(c["data"]["Url"])).query)["cb"][0]) for c in http.calls
    )


class Killed(BaseException):
    """The dispatcher's process died here (kill -9): nothing after it runs."""


class DyingGateway(TwilioGateway):
    """The real gateway, whose process dies before or after the REST request of some callbacks."""

    def __init__(self, settings: Settings, http: FakeTwilioHttp, die: dict[int, str]) -> None:
        super().__init__(settings, http_client=http)
        self.die = die

    def call(self, *, to: str, from_: str, path: str, status_path: str, timeout: int) -> str:
        when = self.die.pop(int(path.rsplit("=", 1)[1]), None)
        if when == "before":
            raise Killed
        sid = super().call(to=to, from_=from_, path=path, status_path=status_path, timeout=timeout)
        if when == "after":
            raise Killed
        return sid


def caller_reached(app: Flask, callback_id: int) -> None:
    """The agent answers, presses 1, and talks with the caller: the callback is done."""
    agent = Twilio(app, caller=HOTLINE, to="+33199001000")
    whisper = agent.step(f"/voice/outbound/agent?cb={callback_id}")
    assert whisper.find("Gather") is not None, whisper.says  # the row is still "dialing"
    agent.step(f"/voice/outbound/agent-answer?cb={callback_id}", {"Digits": "1"})
    agent.step(f"/voice/outbound/bridged?cb={callback_id}", {"DialCallStatus": "completed"})


# -- killed in the middle of dispatching -------------------------------------------


def test_killed_mid_dispatch_nothing_dialled_twice_nothing_forgotten(
    app: Flask, clock_at: Callable[[datetime], None]
) -> None:
    claimed_only, after_call, before_call, *others = add_callbacks(app, 5, MONDAY_9)
    http = FakeTwilioHttp()
    clock_at(MONDAY_9)
    # A first process claims a callback and dies before dialling it.
    with session_scope(app) as session:
        assert dispatch.claim(session, claimed_only, "host:1:dead", clock.now())
    # A second one dies just after Twilio accepted its call, before writing the CallSid.
    die = {after_call: "after", before_call: "before"}
    gateway = lambda s: DyingGateway(s, http, die)  # noqa: E731
    with pytest.raises(Killed):
        Dispatcher(app, gateway=gateway, worker="host:2:dead").run_once()
    # A third one dies with the REST request about to go out.
    with pytest.raises(Killed):
        Dispatcher(app, gateway=gateway, worker="host:3:dead").run_once()
    assert placed(http) == {after_call: 1}
    status = {i: c.status for i, c in rows(app).items()}
    assert status == {claimed_only: "claimed", after_call: "dialing", before_call: "dialing",
                      others[0]: "pending", others[1]: "pending"}  # fmt: skip

    # Restarted at once: the fresh claim is not yet known to be stale.
    restarted = Dispatcher(app, gateway=lambda s: TwilioGateway(s, http_client=http))
    assert restarted.run_once().placed == 2
    assert placed(http) == {after_call: 1, others[0]: 1, others[1]: 1}
    # Five minutes on, the dead claim is re-queued and placed.
    clock_at(paris(2026, 12, 28, 9, 6))
    assert restarted.run_once().placed == 1
    assert placed(http) == {after_call: 1, others[0]: 1, others[1]: 1, claimed_only: 1}
    # The call placed by the dead process rings and is answered like any other.
    for callback_id in (after_call, claimed_only, *others):
        caller_reached(app, callback_id)
    # Nobody knows whether the interrupted request went out: its row stays
    # "dialing" until its outcome is overdue, then it is retried as a failed attempt.
    clock_at(paris(2026, 12, 28, 9, 29))
    assert restarted.run_once().placed == 0
    clock_at(paris(2026, 12, 28, 9, 31))
    assert restarted.run_once().placed == 0
    retry = rows(app)[before_call]
    assert (retry.status, retry.attempts, retry.last_error) == ("pending", 1, "no outcome received")
    assert retry.due_at == paris(2026, 12, 28, 10, 1)
    clock_at(retry.due_at)
    assert restarted.run_once().placed == 1
    caller_reached(app, before_call)

    clock_at(paris(2026, 12, 28, 12, 0))
    assert restarted.run_once().placed == 0
    assert placed(http) == dict.fromkeys([claimed_only, after_call, before_call, *others], 1)
    assert {c.status for c in rows(app).values()} == {"done"}


def test_status_of_an_attempt_whose_sid_was_never_written_is_adopted(
    app: Flask, clock_at: Callable[[datetime], None]
) -> None:
    [callback_id] = add_callbacks(app, 1, MONDAY_9)
    http = FakeTwilioHttp()
    clock_at(MONDAY_9)
    gateway = lambda s: DyingGateway(s, http, {callback_id: "after"})  # noqa: E731
    with pytest.raises(Killed):
        Dispatcher(app, gateway=gateway, worker="host:2:dead").run_once()
    [request] = http.calls
    status_url = urlparse(str(request["data"]["StatusCallback"]))
    assert parse_qs(status_url.query) == {"cb": [str(callback_id)], "n": ["1"]}
    call_sid = request["sid"]
    agent = Twilio(app, caller="+33199001000", to=HOTLINE)
    path = f"{status_url.path}?{status_url.query}"
    # A status for another attempt (an older call) is not taken for this one.
    stale = f"/voice/outbound/status?cb={callback_id}&n=0"
    assert agent.post(stale, {"CallStatus": "no-answer"}, call_sid=call_sid).status_code == 204
    assert rows(app)[callback_id].status == "dialing"
    # The agent let it ring out: the attempt failed now, retried after the usual spacing.
    clock_at(paris(2026, 12, 28, 9, 1))
    answer = agent.post(path, {"CallStatus": "no-answer"}, call_sid=call_sid)
    assert answer.status_code == 204
    row = rows(app)[callback_id]
    assert (row.status, row.attempts) == ("pending", 1)
    assert row.last_error == "agent: no-answer"
    assert row.due_at == paris(2026, 12, 28, 9, 31)


def test_a_long_conversation_is_not_taken_for_a_lost_outcome(
    app: Flask, clock_at: Callable[[datetime], None]
) -> None:
    [callback_id] = add_callbacks(app, 1, MONDAY_9)
    http = FakeTwilioHttp()
    dispatcher = Dispatcher(app, gateway=lambda s: TwilioGateway(s, http_client=http))
    clock_at(MONDAY_9)
    assert dispatcher.run_once().placed == 1
    [request] = http.calls
    agent = Twilio(app, caller="+33199001000", to=HOTLINE)
    agent.step(f"/voice/outbound/agent?cb={callback_id}")
    agent.step(f"/voice/outbound/agent-answer?cb={callback_id}", {"Digits": "1"})
    # Forty minutes of conversation: Twilio says the call goes on, nobody is dialled again.
    http.call_status[request["sid"]] = "in-progress"
    clock_at(paris(2026, 12, 28, 9, 40))
    assert dispatcher.run_once().placed == 0
    assert (rows(app)[callback_id].status, len(http.calls)) == ("dialing", 1)
    fetches = [r for r in http.requests if r["method"] == "GET"]
    assert [r["url"].rsplit("/", 1)[1] for r in fetches] == [f"{request['sid']}.json"]
    # The conversation ends but its outcome is lost: 30 minutes after the last
    # check, Twilio says "completed" and the attempt is retried as before.
    http.call_status[request["sid"]] = "completed"
    clock_at(paris(2026, 12, 28, 10, 5))
    assert dispatcher.run_once().placed == 0
    assert rows(app)[callback_id].status == "dialing"
    clock_at(paris(2026, 12, 28, 10, 11))
    dispatcher.run_once()
    row = rows(app)[callback_id]
    assert (row.status, row.last_error) == ("pending", "no outcome received")


def test_a_claim_changed_by_hand_meanwhile_is_not_dialled(
    app: Flask, clock_at: Callable[[datetime], None]
) -> None:
    [callback_id] = add_callbacks(app, 1, MONDAY_9)
    clock_at(MONDAY_9)
    http = FakeTwilioHttp()
    dispatcher = Dispatcher(app, gateway=lambda s: TwilioGateway(s, http_client=http))
    with session_scope(app) as session:
        assert dispatch.claim(session, callback_id, "host:1:dead", clock.now())
        row = dispatch.get(session, callback_id)
        assert row is not None
        row.status = "canceled"
    assert dispatcher._place(*_doc_and_gateway(app, http), callback_id) == "failed"
    assert http.calls == []


def _doc_and_gateway(app: Flask, http: FakeTwilioHttp) -> tuple[Any, TwilioGateway]:
    _, doc = active_config(app).get()
    return doc, TwilioGateway(app.config["IVR_SETTINGS"], http_client=http)


# -- Twilio's REST API failing --------------------------------------------------------


class TimingOut(FakeTwilioHttp):
    """The first `count` requests time out (connect or read); the next ones are answered."""

    def __init__(self, count: int) -> None:
        super().__init__()
        self.count = count

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Response:
        if self.count:
            self.count -= 1
            self.requests.append({"method": method, "url": url, "data": kwargs.get("data")})
            raise ReadTimeout("read timed out") if self.count % 2 else ConnectTimeout("timeout")
        return super().request(method, url, *args, **kwargs)


def gateway_with(app: Flask, http: FakeTwilioHttp, sleeps: list[float]) -> TwilioGateway:
    return TwilioGateway(app.config["IVR_SETTINGS"], http_client=http, sleep=sleeps.append)


def call(gateway: TwilioGateway) -> str:
    return gateway.call(to="+33612345678", from_=HOTLINE, path="/a", status_path="/s", timeout=20)


@pytest.mark.parametrize("status", [500, 502, 503, 504, 429])
def test_gateway_retries_server_errors_with_backoff(app: Flask, status: int) -> None:
    http, sleeps = FakeTwilioHttp(failures=[status, status]), []
    assert call(gateway_with(app, http, sleeps)).startswith("CA")
    assert len(http.calls) == 3 and sleeps == [0.5, 1.0]


def test_gateway_retries_timeouts_then_gives_up(app: Flask) -> None:
    sleeps: list[float] = []
    assert call(gateway_with(app, TimingOut(2), sleeps)).startswith("CA")
    assert sleeps == [0.5, 1.0]
    sleeps.clear()
    http = TimingOut(3)
    with pytest.raises(TwilioUnavailable, match="Twilio unreachable") as refused:
        call(gateway_with(app, http, sleeps))
    assert len(http.requests) == 3 and sleeps == [0.5, 1.0] and not refused.value.permanent


@pytest.mark.parametrize(("status", "permanent"), [(400, True), (401, False), (404, False)])
def test_gateway_does_not_retry_client_errors(app: Flask, status: int, permanent: bool) -> None:
    http, sleeps = FakeTwilioHttp(failures=[status]), []
    with pytest.raises(TwilioUnavailable, match=f"HTTP {status}") as refused:
        call(gateway_with(app, http, sleeps))
    assert len(http.calls) == 1 and sleeps == [] and refused.value.permanent is permanent


def test_dispatcher_survives_timeouts_and_places_the_next_callbacks(
    app: Flask, clock_at: Callable[[datetime], None]
) -> None:
    first, second = add_callbacks(app, 2, MONDAY_9)
    clock_at(MONDAY_9)
    http, sleeps = TimingOut(3), []
    report = Dispatcher(app, gateway=lambda s: gateway_with(app, http, sleeps)).run_once()
    assert (report.claimed, report.placed, report.failed) == (2, 1, 1)
    after = rows(app)
    assert (after[first].status, after[first].attempts) == ("pending", 1)
    assert after[first].last_error.startswith("Twilio unreachable")
    assert after[first].due_at == paris(2026, 12, 28, 9, 30)  # retried after the spacing
    assert after[second].status == "dialing"


def test_server_errors_every_time_end_in_a_failed_callback_and_a_flagged_ticket(
    app: Flask, clock_at: Callable[[datetime], None]
) -> None:
    [callback_id] = add_callbacks(app, 1, MONDAY_9)
    http = FakeTwilioHttp(failures=[503] * 9)
    dispatcher = Dispatcher(app, gateway=lambda s: gateway_with(app, http, []))
    for moment in (MONDAY_9, paris(2026, 12, 28, 9, 30), paris(2026, 12, 28, 10, 0)):
        clock_at(moment)
        assert dispatcher.run_once().failed == 1
    row = rows(app)[callback_id]
    assert (row.status, row.attempts, len(http.calls)) == ("failed", 3, 9)
    with session_scope(app) as session:
        ticket = session.get(Ticket, row.ticket_id)
        assert ticket is not None and ticket.flagged


def test_an_invalid_number_fails_at_once(app: Flask, clock_at: Callable[[datetime], None]) -> None:
    [callback_id] = add_callbacks(app, 1, MONDAY_9)
    clock_at(MONDAY_9)
    http = FakeTwilioHttp(failures=[400])
    report = Dispatcher(app, gateway=lambda s: gateway_with(app, http, [])).run_once()
    assert report.failed == 1 and len(http.calls) == 1
    row = rows(app)[callback_id]
    assert (row.status, row.attempts) == ("failed", 1)
    assert row.last_error.startswith("Twilio refused: HTTP 400")
