"""Waiting callers: the hotline's line, the place said, virtual hold, closing time,
missed calls recovered once.

Webhooks are posted signed, as Twilio posts them (`tests.voice_client`);
Twilio's REST API is answered at the network edge (`tests.fake_twilio`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import datetime, timedelta

import pytest
from flask import Flask
from sqlalchemy import select

from callbook.db import session_scope
from callbook.tickets import Callback
from ivr.config import demo_yaml_text, load_yaml_text
from ivr.config.loader import to_data, validate_document
from ivr.flows import queue
from ivr.jobs.callbacks import Dispatcher
from ivr.jobs.scheduler import jobs
from ivr.twilio_adapter import TwilioGateway
from schedules import clock
from tests.conftest import paris
from tests.fake_twilio import FakeTwilioHttp
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
    path_of,
    queued,
    recoveries,
    twilio_rest,
    waits,
)
from tests.voice_client import Twilio

# -- the line: places said, the first caller bridged when the member is free ----------


@pytest.fixture
def at() -> Iterator[Callable[[datetime], None]]:
    with ExitStack() as stack:
        yield lambda moment: stack.enter_context(clock.frozen_at(moment))


@pytest.fixture
def http(twilio_app: Flask) -> FakeTwilioHttp:
    return twilio_rest(twilio_app)


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


def test_callers_on_virtual_hold_at_closing_time_are_called_back_first_at_the_opening(
    twilio_app: Flask, http: FakeTwilioHttp, at: Callable[[datetime], None]
) -> None:
    configure(twilio_app, [MEMBER])
    at(paris(2026, 12, 1, 17, 20))
    on_the_phone(twilio_app, http)
    call = queued(twilio_app, "+33622222222")
    waits(call, 1)
    call.step("/voice/queue/hold?team=hotline", {"Digits": "1"})
    at(paris(2026, 12, 1, 17, 31))  # the member never became free; the hotline closed
    with twilio_app.app_context():
        jobs(twilio_app)["queue"]()
    with session_scope(twilio_app) as session:
        callback = session.scalars(select(Callback)).one()
        assert (callback.status, callback.rank) == ("pending", 0)
        assert callback.due_at == paris(2026, 12, 2, 9, 0)


def test_the_wait_estimate_from_twilio_averages_or_the_typical_call() -> None:
    doc = load_yaml_text(demo_yaml_text())  # two members, 4 minutes a call
    assert [queue.place(n) for n in (1, 2, 10)] == ["premier", "2e", "10e"]
    before_averages = [queue.estimate_minutes(doc, queue.Waiting(n, 0, 0)) for n in (1, 2, 5)]
    assert before_averages == [2, 4, 10]
    # Twilio's AvgQueueTime (seconds): per caller up to this one, shared by the members.
    assert queue.estimate_minutes(doc, queue.Waiting(3, 200, 90)) == 3  # 3 × 90 s / 2
    assert queue.estimate_minutes(doc, queue.Waiting(1, 5, 10)) == 1  # never "0 minutes"
    assert queue.spoken_minutes(1) == "1 minute"


def test_the_line_is_checked_with_the_document() -> None:
    data = to_data(load_yaml_text(demo_yaml_text()))
    data["hotline"]["queue"] |= {"hold_music": "musique.mp3", "max_wait_minutes": 0}
    with pytest.raises(ValueError) as refused:
        validate_document(data)
    assert "hotline.queue.hold_music" in str(refused.value)
    assert "hotline.queue.max_wait_minutes" in str(refused.value)
