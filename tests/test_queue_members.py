"""Members called for waiting callers: claims in the database, one caller per member and
one member per caller, whatever the dispatchers; the scheduler's safety net.

Webhooks are posted signed, as Twilio posts them (`tests.voice_client`);
Twilio's REST API is answered at the network edge (`tests.fake_twilio`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from callbook.db import database, session_scope
from callbook.queue import claims
from callbook.queue.claims import Claim
from ivr.app import create_app
from ivr.jobs.scheduler import jobs
from ivr.voice.members import connect_waiting
from schedules import clock
from tests.conftest import deployment_settings
from tests.fake_twilio import FakeTwilioHttp, fake_twilio
from tests.queue_calls import (
    MEMBER,
    SECOND,
    TUESDAY_10,
    agent_calls,
    configure,
    done,
    entries,
    hangs_up,
    on_the_phone,
    queued,
    twilio_rest,
    waits,
)
from tests.voice_client import Twilio

# -- two dispatchers on one database ------------------------------------------------------


@pytest.fixture
def at() -> Iterator[Callable[[datetime], None]]:
    with ExitStack() as stack:
        yield lambda moment: stack.enter_context(clock.frozen_at(moment))


@pytest.fixture
def http(twilio_app: Flask) -> FakeTwilioHttp:
    return twilio_rest(twilio_app)


def test_two_dispatchers_never_give_one_caller_two_members_nor_one_member_two_callers(
    twilio_app: Flask, http: FakeTwilioHttp, at: Callable[[datetime], None], tmp_path: Path
) -> None:
    configure(twilio_app, [MEMBER, SECOND])
    at(TUESDAY_10)
    callers = [Twilio(twilio_app, caller=f"+3361111111{n}") for n in range(3)]
    for n, call in enumerate(callers, start=1):
        waits(call, n)  # three callers wait; both members are free
    other = create_app(
        deployment_settings(
            instance_dir=tmp_path / "other", database_url=twilio_app.config["DATABASE_URL"],
            twilio_account_sid="AC" + "0" * 32, twilio_auth_token="test-auth-token",  # type: ignore[arg-type]
        )
    )  # fmt: skip
    other_http = FakeTwilioHttp()
    fake_twilio(other, other_http)
    start = threading.Barrier(2)
    placed: list[list[str]] = []

    def dispatch(app: Flask) -> None:
        start.wait()
        placed.append(connect_waiting(app))

    try:
        for _ in range(3):
            threads = [threading.Thread(target=dispatch, args=(a,)) for a in (twilio_app, other)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
    finally:
        database(other).engine.dispose()
    made = agent_calls(http) + agent_calls(other_http)
    assert sorted(r["data"]["To"] for r in made) == [MEMBER, SECOND]
    rows = [r for r in entries(twilio_app).values() if r.agent_number]
    assert sorted(r.agent_number for r in rows) == [MEMBER, SECOND]
    assert sorted(r.agent_call_sid for r in rows) == sorted(r["sid"] for r in made)
    assert sum(len(p) for p in placed) == 2


def test_a_claim_in_progress_holds_back_a_second_dispatcher_until_it_commits(
    twilio_app: Flask, at: Callable[[datetime], None]
) -> None:
    """One member, two callers: a dispatcher that claims while another one's claim is not
    committed yet waits for it, then sees the member taken (no second caller for them)."""
    at(TUESDAY_10)
    for n, call in enumerate([Twilio(twilio_app), Twilio(twilio_app)], start=1):
        waits(call, n)
    claimed = threading.Event()
    release_first = threading.Event()
    results: dict[str, Claim | None] = {}

    def claim_in(session: Session) -> Claim | None:
        return claims.claim_next(
            session, "hotline", [MEMBER], max_calls=1, in_use=(), skip=(), now=clock.now(),
            max_talk=timedelta(minutes=60),
        )  # fmt: skip

    def first() -> None:
        with session_scope(twilio_app) as session:
            results["first"] = claim_in(session)
            claimed.set()
            for _ in range(3000):
                if release_first.is_set():
                    break
                time.sleep(0.01)

    def second() -> None:
        with session_scope(twilio_app) as session:
            results["second"] = claim_in(session)

    one = threading.Thread(target=first)
    one.start()
    for _ in range(3000):  # a bounded wait, polled (a timed Event.wait and libfaketime)
        if claimed.is_set():
            break
        time.sleep(0.01)
    assert claimed.is_set(), "the first dispatcher did not claim"
    two = threading.Thread(target=second)
    two.start()
    time.sleep(0.3)
    assert "second" not in results  # waiting for the first claim's transaction
    release_first.set()
    one.join()
    two.join()
    assert results["first"] is not None and results["first"].agent_number == MEMBER
    assert results["second"] is None


def test_the_scheduler_settles_a_lost_claim_and_a_lost_wait(
    twilio_app: Flask, http: FakeTwilioHttp, at: Callable[[datetime], None]
) -> None:
    configure(twilio_app, [MEMBER], max_wait_minutes=10)
    at(TUESDAY_10)
    lost = Twilio(twilio_app, caller="+33622222222")
    waits(lost, 1)  # its action request will never come
    with twilio_app.app_context():
        [first] = jobs(twilio_app)["queue"]()  # the member is called for it
    at(TUESDAY_10 + timedelta(minutes=3))  # that leg's status never came either
    caller = Twilio(twilio_app, caller="+33633333333")
    waits(caller, 2)
    with twilio_app.app_context():
        [again] = jobs(twilio_app)["queue"]()
    assert again != first
    assert entries(twilio_app)[lost.call_sid].agent_call_sid == again  # first in line again
    at(TUESDAY_10 + timedelta(minutes=26))
    with twilio_app.app_context():
        jobs(twilio_app)["queue"]()
    rows = entries(twilio_app)
    assert (rows[lost.call_sid].outcome, rows[lost.call_sid].wait_seconds) == ("abandoned", 1570)
    assert rows[caller.call_sid].outcome == "waiting"


def test_a_new_caller_waits_behind_those_already_in_line(
    app: Flask, at: Callable[[datetime], None]
) -> None:
    """Without Twilio nobody can be called for the line: a member free again is still
    not rung for a newcomer while others wait."""
    configure(app, [MEMBER])
    at(TUESDAY_10)
    talking = on_the_phone(app)
    waiting = queued(app, "+33622222222")
    waits(waiting, 1)
    at(TUESDAY_10 + timedelta(minutes=2))
    hangs_up(talking)
    newcomer = queued(app, "+33633333333")  # not put through to the free member
    assert waits(newcomer, 2).find("Gather") is not None
    done(waiting, "hangup", 130)
    at(TUESDAY_10 + timedelta(minutes=3))
    latest = Twilio(app, caller="+33644444444")  # the newcomer still waits before this one
    latest.step("/voice/incoming")
    assert "Enqueue" in latest.step("/voice/menu", {"Digits": "1"}).verbs
    latest.post("/voice/status", {"CallStatus": "completed"})  # gone before its first wait
    done(newcomer, "hangup", 60)  # nobody waits any more: the member is rung again
    last = Twilio(app, caller="+33655555555")
    last.step("/voice/incoming")
    assert last.step("/voice/menu", {"Digits": "1"}).dialed == [MEMBER]


def test_a_member_called_for_the_line_is_busy_for_new_callers(
    twilio_app: Flask, http: FakeTwilioHttp, at: Callable[[datetime], None]
) -> None:
    configure(twilio_app, [MEMBER])
    at(TUESDAY_10)
    talking = on_the_phone(twilio_app)
    waits(queued(twilio_app, "+33622222222"), 1)
    at(TUESDAY_10 + timedelta(minutes=2))
    hangs_up(talking)
    assert len(agent_calls(http)) == 1  # the member is called for the waiting caller
    newcomer = queued(twilio_app, "+33633333333")  # so the newcomer waits
    assert waits(newcomer, 1).find("Gather") is not None


def test_queue_webhooks_are_signed_and_validated(
    twilio_app: Flask, http: FakeTwilioHttp, at: Callable[[datetime], None]
) -> None:
    at(TUESDAY_10)
    call = Twilio(twilio_app)
    for path in ("/voice/queue/wait?team=hotline", "/voice/queue/hold?team=hotline",
                 "/voice/queue/done?step=1", "/voice/queue/connected", "/voice/queue/agent?e=1",
                 "/voice/queue/agent-status?e=1"):  # fmt: skip
        assert call.post(path, {"QueuePosition": 1}, signed=False).status_code == 403
    assert call.post("/voice/queue/wait?team=autre", {"QueuePosition": 1}).status_code == 400
    bad = call.post("/voice/queue/wait?team=hotline", {"QueuePosition": 1}, call_sid="CA1")
    assert bad.status_code == 400
    assert entries(twilio_app) == {}
    # Twilio's counters missing or nonsense: the first place, a typical estimate.
    twiml = call.step("/voice/queue/wait?team=hotline", {"QueuePosition": "x" * 40})
    assert "Vous êtes le premier dans la file d'attente." in twiml.says
    assert entries(twilio_app)[call.call_sid].position == 0


def test_the_member_who_answers_first_gets_the_head_of_the_line(
    twilio_app: Flask, http: FakeTwilioHttp, at: Callable[[datetime], None]
) -> None:
    """Twilio bridges whoever dials the queue with its head: the claims follow."""
    configure(twilio_app, [MEMBER, SECOND])
    at(TUESDAY_10)
    first, second = Twilio(twilio_app), Twilio(twilio_app)
    waits(first, 1)
    waits(second, 2)
    with twilio_app.app_context():
        jobs(twilio_app)["queue"]()
    to_member, to_second = agent_calls(http)
    assert (to_member["data"]["To"], to_second["data"]["To"]) == (MEMBER, SECOND)
    # The second member picks up first: Twilio hands them the first caller.
    queue_time = {"QueueTime": 20, "QueueSid": "QU" + "1" * 32}
    first.step("/voice/queue/connected", queue_time | {"DequeingCallSid": to_second["sid"]})
    rows = entries(twilio_app)
    assert (rows[first.call_sid].outcome, rows[first.call_sid].agent_number) == ("bridged", SECOND)
    assert (rows[second.call_sid].agent_number, rows[second.call_sid].agent_call_sid) == (
        MEMBER, to_member["sid"],
    )  # fmt: skip
    second.step("/voice/queue/connected", queue_time | {"DequeingCallSid": to_member["sid"]})
    rows = entries(twilio_app)
    assert (rows[second.call_sid].outcome, rows[second.call_sid].agent_number) == (
        "bridged", MEMBER,
    )  # fmt: skip
    assert len(agent_calls(http)) == 2


def test_a_member_twilio_cannot_call_is_released_and_the_next_one_called(
    twilio_app: Flask, http: FakeTwilioHttp, at: Callable[[datetime], None]
) -> None:
    configure(twilio_app, [MEMBER, SECOND])
    at(TUESDAY_10)
    call = Twilio(twilio_app)
    waits(call, 1)
    http.failures = [503, 503, 503]  # every try for the first member
    with twilio_app.app_context():
        [placed] = jobs(twilio_app)["queue"]()
    assert [r["data"]["To"] for r in http.calls] == [MEMBER] * 3 + [SECOND]
    row = entries(twilio_app)[call.call_sid]
    assert (row.agent_number, row.agent_call_sid) == (SECOND, placed)


def test_the_line_is_shared_out_to_the_member_idle_longest(
    twilio_app: Flask, http: FakeTwilioHttp, at: Callable[[datetime], None]
) -> None:
    configure(twilio_app, [MEMBER, SECOND], max_calls=1)
    at(TUESDAY_10)
    first = Twilio(twilio_app)
    waits(first, 1)
    with twilio_app.app_context():
        [to_member] = jobs(twilio_app)["queue"]()
    queue_time = {"QueueTime": 20, "QueueSid": "QU" + "1" * 32}
    first.step("/voice/queue/connected", queue_time | {"DequeingCallSid": to_member})
    at(TUESDAY_10 + timedelta(minutes=5))
    member = Twilio(twilio_app, caller="+33199001000", to=MEMBER)
    second = Twilio(twilio_app)
    waits(second, 1)
    member.post("/voice/queue/agent-status?e=1", {"CallStatus": "completed"}, call_sid=to_member)
    # Both are free now; the second number has not had a caller from the line yet.
    assert agent_calls(http)[-1]["data"]["To"] == SECOND
