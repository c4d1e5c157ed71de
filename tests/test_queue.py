"""Waiting callers: the hotline's line, the place said, members called, virtual hold,
closing time, missed calls recovered once.

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
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from callbook.db import database, session_scope
from callbook.outbox import OutboxMessage
from callbook.queue import QueueEntry, claims
from callbook.queue.claims import Claim
from callbook.tickets import Callback
from ivr.app import create_app
from ivr.config import load_yaml_text
from ivr.config.loader import demo_yaml_text, to_data, validate_document
from ivr.config.revisions import save_revision
from ivr.jobs.callbacks import Dispatcher
from ivr.jobs.scheduler import jobs
from ivr.twilio_adapter import TwilioGateway
from ivr.voice.members import connect_waiting
from schedules import clock
from tests.conftest import deployment_settings, paris
from tests.fake_twilio import FakeTwilioHttp, fake_twilio
from tests.twiml import TwiML
from tests.voice_client import Twilio

MEMBER = "+33199002000"
SECOND = "+33199002001"
TUESDAY_10 = paris(2026, 12, 1, 10, 0)  # the hotline is open


@pytest.fixture
def at() -> Iterator[Callable[[datetime], None]]:
    with ExitStack() as stack:
        yield lambda moment: stack.enter_context(clock.frozen_at(moment))


@pytest.fixture
def http(twilio_app: Flask) -> FakeTwilioHttp:
    http = FakeTwilioHttp()
    fake_twilio(twilio_app, http)
    return http


def configure(app: Flask, numbers: list[str], **queue: Any) -> None:
    """The demo, its hotline answered by `numbers`, its line set with `queue`."""
    data = to_data(load_yaml_text(demo_yaml_text()))
    data["hotline"]["numbers"] = numbers
    data["hotline"]["queue"] = data["hotline"]["queue"] | queue
    with session_scope(app) as session:
        save_revision(session, validate_document(data), author="tests")


def on_the_phone(
    app: Flask, http: FakeTwilioHttp | None = None, caller: str = "+33611111111"
) -> Twilio:
    """A caller put through to the hotline, who is talking with a member (Twilio says
    so, once the book's ring timeout is over)."""
    call = Twilio(app, caller=caller)
    if http is not None:
        http.call_status[call.call_sid] = "in-progress"
    call.step("/voice/incoming")
    assert call.step("/voice/menu", {"Digits": "1"}).dialed
    assert call.post("/voice/status", {"CallStatus": "in-progress"}).status_code == 204
    return call


def hangs_up(call: Twilio, seconds: int = 120) -> None:
    params = {"CallStatus": "completed", "CallDuration": seconds}
    assert call.post("/voice/status", params).status_code == 204


def queued(app: Flask, caller: str) -> Twilio:
    """A caller who asks for the hotline and is put in its line."""
    call = Twilio(app, caller=caller)
    call.step("/voice/incoming")
    twiml = call.step("/voice/menu", {"Digits": "1"})
    enqueue = twiml.first("Enqueue")
    assert (enqueue.text or "").strip() == "hotline"
    assert enqueue.get("waitUrl") == "/voice/queue/wait?team=hotline"
    assert (enqueue.get("action") or "").startswith("/voice/queue/done")
    call.done_url = enqueue.get("action")  # type: ignore[attr-defined]
    return call


def waits(call: Twilio, position: int, waited: int = 10, average: int = 0) -> TwiML:
    params = {"QueuePosition": position, "QueueTime": waited, "AvgQueueTime": average,
              "CurrentQueueSize": position, "QueueSid": "QU" + "1" * 32}  # fmt: skip
    return call.step("/voice/queue/wait?team=hotline", params)


def done(call: Twilio, result: str, waited: int) -> TwiML:
    params = {"QueueResult": result, "QueueTime": waited, "QueueSid": "QU" + "1" * 32}
    return call.step(call.done_url, params)  # type: ignore[attr-defined]


def entries(app: Flask) -> dict[str, QueueEntry]:
    with session_scope(app) as session:
        rows = session.scalars(select(QueueEntry).order_by(QueueEntry.id)).all()
        session.expunge_all()
    return {row.call_sid: row for row in rows}


def agent_calls(http: FakeTwilioHttp) -> list[dict[str, Any]]:
    return [r for r in http.calls if "/voice/queue/agent" in str(r["data"].get("Url", ""))]


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


# -- the line: places said, the first caller bridged when the member is free ----------


def test_three_callers_hear_their_place_and_the_first_is_bridged_when_the_member_is_free(
    twilio_app: Flask, http: FakeTwilioHttp, at: Callable[[datetime], None]
) -> None:
    configure(twilio_app, [MEMBER])
    at(TUESDAY_10)
    talking = on_the_phone(twilio_app)
    callers = []
    for n, number in enumerate(["+33622222222", "+33633333333", "+33644444444"], start=1):
        at(TUESDAY_10 + timedelta(seconds=5 * n))
        call = queued(twilio_app, number)
        twiml = waits(call, n, waited=0)
        place = "premier" if n == 1 else f"{n}e"
        assert f"Vous êtes le {place} dans la file d'attente." in twiml.says
        # One member, 4 minutes per caller ahead until Twilio has an average.
        assert f"Temps d'attente estimé : environ {4 * n} minutes." in twiml.says
        assert twiml.first("Gather").get("action") == "/voice/queue/hold?team=hotline"
        callers.append(call)
    assert not agent_calls(http)  # the member is still on the phone
    rows = entries(twilio_app)
    assert [rows[c.call_sid].position for c in callers] == [1, 2, 3]
    assert {r.outcome for r in rows.values()} == {"waiting"}

    at(TUESDAY_10 + timedelta(minutes=3))
    waits(callers[0], 1, waited=170, average=120)  # asked again: still one row each
    hangs_up(talking)  # the member is free: the first caller in line gets them
    [placed] = agent_calls(http)
    assert placed["data"]["To"] == MEMBER
    agent_sid = placed["sid"]
    first = entries(twilio_app)[callers[0].call_sid]
    assert (first.agent_number, first.agent_call_sid) == (MEMBER, agent_sid)

    # The member picks up: their leg dials the team's queue.
    member = Twilio(twilio_app, caller="+33199001000", to=MEMBER)
    twiml = member.step(path_of(placed["data"]["Url"]), call_sid=agent_sid)
    queue = twiml.first("Dial").find("Queue")
    assert queue is not None and (queue.text or "").strip() == "hotline"
    assert queue.get("url") == "/voice/queue/connected"
    assert "Appel en attente depuis 2 minutes : 06 22 22 22 22" in twiml.spoken
    # Twilio dequeues the head of the line: the first caller hears it, then talks.
    connected = {"DequeingCallSid": agent_sid, "QueueTime": 175, "QueueSid": "QU" + "1" * 32}
    heard = callers[0].step("/voice/queue/connected", connected)
    assert heard.says == ["Un conseiller va vous répondre."]
    rows = entries(twilio_app)
    bridged = rows[callers[0].call_sid]
    assert (bridged.outcome, bridged.wait_seconds, bridged.agent_call_sid) == (
        "bridged", 175, agent_sid,
    )  # fmt: skip
    assert [rows[c.call_sid].outcome for c in callers[1:]] == ["waiting", "waiting"]
    at(TUESDAY_10 + timedelta(minutes=9))
    assert done(callers[0], "bridged", 175).hangs_up
    assert entries(twilio_app)[callers[0].call_sid].outcome == "bridged"
    # Nobody else is called while the member talks.
    assert len(agent_calls(http)) == 1
    with twilio_app.app_context():
        assert jobs(twilio_app)["queue"]() == []
    # The member's leg ends: free again, for the next caller in line.
    status_url = path_of(placed["data"]["StatusCallback"])
    member.post(status_url, {"CallStatus": "completed", "CallDuration": 360}, call_sid=agent_sid)
    assert entries(twilio_app)[callers[0].call_sid].agent_ended_at is not None
    second = agent_calls(http)[1]
    assert second["data"]["To"] == MEMBER
    assert entries(twilio_app)[callers[1].call_sid].agent_call_sid == second["sid"]


def test_a_member_who_does_not_answer_is_skipped_and_the_next_one_called(
    twilio_app: Flask, http: FakeTwilioHttp, at: Callable[[datetime], None]
) -> None:
    configure(twilio_app, [MEMBER, SECOND], max_calls=1)
    at(TUESDAY_10)
    talking = on_the_phone(twilio_app)
    at(TUESDAY_10 + timedelta(seconds=10))
    call = queued(twilio_app, "+33622222222")  # one call at a time: the second waits
    waits(call, 1)
    hangs_up(talking)
    [first] = agent_calls(http)
    assert first["data"]["To"] == MEMBER
    member = Twilio(twilio_app, caller="+33199001000", to=MEMBER)
    status_url = path_of(first["data"]["StatusCallback"])
    member.post(status_url, {"CallStatus": "no-answer"}, call_sid=first["sid"])
    second = agent_calls(http)[1]
    assert second["data"]["To"] == SECOND
    row = entries(twilio_app)[call.call_sid]
    assert (row.outcome, row.agent_number, row.agent_call_sid) == ("waiting", SECOND, second["sid"])


# -- virtual hold: called back, keeping one's place ---------------------------------------


def test_virtual_hold_keeps_the_place_before_later_callers(
    twilio_app: Flask, http: FakeTwilioHttp, at: Callable[[datetime], None]
) -> None:
    configure(twilio_app, [MEMBER])
    at(TUESDAY_10)
    talking = on_the_phone(twilio_app)
    at(TUESDAY_10 + timedelta(seconds=5))
    first = queued(twilio_app, "+33622222222")
    waits(first, 1)
    at(TUESDAY_10 + timedelta(seconds=10))
    later = queued(twilio_app, "+33633333333")
    waits(later, 2)
    at(TUESDAY_10 + timedelta(seconds=40))
    twiml = first.step("/voice/queue/hold?team=hotline", {"Digits": "1", "QueueTime": 35})
    assert twiml.says == ["Nous vous rappellerons dès qu'un conseiller sera libre."]
    assert twiml.verbs[-1] == "Leave"
    assert done(first, "leave", 35).hangs_up
    rows = entries(twilio_app)
    held = rows[first.call_sid]
    assert held.outcome == "hold" and held.callback_id is not None
    with session_scope(twilio_app) as session:
        callback = session.get(Callback, held.callback_id)
        assert callback is not None
        assert (callback.status, callback.caller_number) == ("held", "+33622222222")
    with twilio_app.app_context():
        assert jobs(twilio_app)["dispatch"]().due == 0  # held: not due before a member is free

    at(TUESDAY_10 + timedelta(minutes=2))
    hangs_up(talking)
    assert not agent_calls(http)  # the member goes to the caller on hold, not to `later`
    with session_scope(twilio_app) as session:
        callback = session.get(Callback, held.callback_id)
        assert callback is not None
        assert (callback.status, callback.rank, callback.agent_numbers) == ("pending", 0, [MEMBER])
        assert callback.due_at == TUESDAY_10 + timedelta(minutes=2)
    assert entries(twilio_app)[later.call_sid].agent_number == ""
    dispatcher = Dispatcher(twilio_app, gateway=lambda s: TwilioGateway(s, http_client=http))
    assert dispatcher.run_once().placed == 1
    assert http.calls[-1]["data"]["To"] == MEMBER
    assert "/voice/outbound/agent?cb=" in http.calls[-1]["data"]["Url"]


def test_virtual_hold_outside_opening_hours_is_due_first_thing_at_the_next_opening(
    twilio_app: Flask, http: FakeTwilioHttp, at: Callable[[datetime], None]
) -> None:
    configure(twilio_app, [MEMBER])
    at(paris(2026, 12, 4, 17, 29))  # Friday, the hotline closes at 17:30
    on_the_phone(twilio_app)
    at(paris(2026, 12, 4, 17, 29, 10))
    call = queued(twilio_app, "+33622222222")
    waits(call, 1)
    at(paris(2026, 12, 4, 17, 30, 5))
    twiml = call.step("/voice/queue/hold?team=hotline", {"Digits": "1"})
    assert twiml.says == ["Nous vous rappellerons lundi 7 décembre à 9 h."]
    with session_scope(twilio_app) as session:
        callback = session.scalars(select(Callback)).one()
        assert (callback.status, callback.rank) == ("pending", 0)
        assert callback.due_at == paris(2026, 12, 7, 9, 0)


def test_a_withheld_number_cannot_be_put_on_hold_and_keeps_waiting(
    twilio_app: Flask, http: FakeTwilioHttp, at: Callable[[datetime], None]
) -> None:
    configure(twilio_app, [MEMBER])
    at(TUESDAY_10)
    on_the_phone(twilio_app)
    call = queued(twilio_app, "anonymous")
    waits(call, 1)
    twiml = call.step("/voice/queue/hold?team=hotline", {"Digits": "1"})
    assert "Leave" not in twiml.verbs
    assert "numéro est masqué" in twiml.spoken
    assert entries(twilio_app)[call.call_sid].outcome == "waiting"


# -- closing time and the longest wait: voicemail with a callback offer --------------------


def test_closing_time_empties_the_line_to_voicemail(
    twilio_app: Flask, http: FakeTwilioHttp, at: Callable[[datetime], None]
) -> None:
    configure(twilio_app, [MEMBER])
    at(paris(2026, 12, 1, 11, 58))
    on_the_phone(twilio_app)
    at(paris(2026, 12, 1, 11, 58, 30))
    callers = [queued(twilio_app, n) for n in ("+33622222222", "+33633333333")]
    for n, call in enumerate(callers, start=1):
        assert "Gather" in waits(call, n).verbs
    at(paris(2026, 12, 1, 12, 0, 10))  # the hotline closes at noon
    for n, call in enumerate(callers, start=1):
        assert waits(call, n, waited=100).verbs == ["Leave"]
        twiml = done(call, "leave", 100)
        assert "L'assistance ferme et ne peut plus prendre votre appel en direct." in twiml.says
        assert "Il rouvrira aujourd'hui à 14 h." in twiml.says
        assert "Record" in twiml.verbs
    rows = entries(twilio_app)
    assert [(r.outcome, r.wait_seconds) for r in rows.values()] == [("closing", 100)] * 2
    # A message then offers a callback at the reopening.
    call = callers[0]
    twiml = call.step(
        twiml.first("Record").get("action") or "",
        {"RecordingSid": "RE" + "2" * 32, "RecordingUrl": "https://api.twilio.com/r",
         "RecordingDuration": 12},
    )  # fmt: skip
    assert twiml.find("Gather") is not None


def test_after_the_longest_wait_the_caller_leaves_for_voicemail(
    twilio_app: Flask, http: FakeTwilioHttp, at: Callable[[datetime], None]
) -> None:
    configure(twilio_app, [MEMBER], max_wait_minutes=5)
    at(TUESDAY_10)
    on_the_phone(twilio_app, http)
    call = queued(twilio_app, "+33622222222")
    waits(call, 1)
    at(TUESDAY_10 + timedelta(minutes=5))
    assert waits(call, 1, waited=300).verbs == ["Leave"]
    twiml = done(call, "leave", 300)
    assert "L'attente se prolonge" in twiml.spoken and "Record" in twiml.verbs
    assert entries(twilio_app)[call.call_sid].outcome == "max_wait"


# -- missed calls: one recovery per caller and day ---------------------------------------


def recoveries(app: Flask) -> tuple[list[OutboxMessage], list[Callback]]:
    with session_scope(app) as session:
        sms = list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
        callbacks = list(session.scalars(select(Callback).order_by(Callback.id)))
        session.expunge_all()
    return sms, callbacks


def test_a_missed_call_gets_one_sms_and_one_callback_even_when_retried_or_called_again(
    twilio_app: Flask, http: FakeTwilioHttp, at: Callable[[datetime], None]
) -> None:
    configure(twilio_app, [MEMBER])
    at(TUESDAY_10)
    on_the_phone(twilio_app, http)
    at(TUESDAY_10 + timedelta(minutes=1))
    call = queued(twilio_app, "+33622222222")
    waits(call, 1)
    at(TUESDAY_10 + timedelta(minutes=2, seconds=35))
    assert done(call, "hangup", 95).verbs == []
    assert done(call, "hangup", 95).verbs == []  # Twilio retries the action
    row = entries(twilio_app)[call.call_sid]
    assert (row.outcome, row.wait_seconds) == ("abandoned", 95)
    [sms], [callback] = recoveries(twilio_app)
    assert (sms.kind, sms.topic, sms.recipient, sms.status) == (
        "sms", "call.missed", "+33622222222", "pending",
    )  # fmt: skip
    assert "votre appel de 10 h." in sms.payload["body"]
    assert (callback.caller_number, callback.status) == ("+33622222222", "pending")
    assert callback.due_at == TUESDAY_10 + timedelta(minutes=2, seconds=36)

    at(paris(2026, 12, 1, 15, 0))  # the same caller, the same day, hangs up again
    on_the_phone(twilio_app, http, caller="+33699999999")
    again = queued(twilio_app, "+33622222222")
    waits(again, 1)
    done(again, "hangup", 40)
    assert entries(twilio_app)[again.call_sid].outcome == "abandoned"
    assert [len(found) for found in recoveries(twilio_app)] == [1, 1]


@pytest.mark.parametrize("caller", ["+33473258339", "anonymous", "+442079460000"])
def test_no_recovery_for_landlines_foreign_or_withheld_numbers(
    twilio_app: Flask, http: FakeTwilioHttp, at: Callable[[datetime], None], caller: str
) -> None:
    configure(twilio_app, [MEMBER])
    at(TUESDAY_10)
    on_the_phone(twilio_app)
    call = queued(twilio_app, caller)
    waits(call, 1)
    done(call, "hangup", 30)
    assert entries(twilio_app)[call.call_sid].outcome == "abandoned"
    assert recoveries(twilio_app) == ([], [])


# -- two dispatchers on one database ------------------------------------------------------


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
            while not release_first.is_set():
                time.sleep(0.01)

    def second() -> None:
        with session_scope(twilio_app) as session:
            results["second"] = claim_in(session)

    one = threading.Thread(target=first)
    one.start()
    while not claimed.is_set():
        time.sleep(0.01)
    two = threading.Thread(target=second)
    two.start()
    time.sleep(0.3)
    assert "second" not in results  # waiting for the first claim's transaction
    release_first.set()
    one.join()
    two.join()
    assert results["first"] is not None and results["first"].agent_number == MEMBER
    assert results["second"] is None


def test_a_caller_who_hangs_up_while_it_rings_long_enough_is_a_missed_call(
    twilio_app: Flask, http: FakeTwilioHttp, at: Callable[[datetime], None]
) -> None:
    configure(twilio_app, [MEMBER], missed={"sms": True, "callback": False, "ringing_seconds": 20})
    at(TUESDAY_10)
    quick = Twilio(twilio_app, caller="+33622222222")
    quick.step("/voice/incoming")
    assert quick.step("/voice/menu", {"Digits": "1"}).dialed == [MEMBER]
    at(TUESDAY_10 + timedelta(seconds=10))  # 10 s of ringing only
    hangs_up(quick, 30)
    assert recoveries(twilio_app) == ([], [])
    patient = Twilio(twilio_app, caller="+33633333333")
    patient.step("/voice/incoming")
    assert patient.step("/voice/menu", {"Digits": "1"}).dialed == [MEMBER]
    at(TUESDAY_10 + timedelta(seconds=35))  # it rang 25 s
    hangs_up(patient, 50)
    hangs_up(patient, 50)  # the status callback, retried
    [sms], callbacks = recoveries(twilio_app)
    assert sms.recipient == "+33633333333" and callbacks == []


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
