"""Voicemails become tickets; callbacks are placed the next business morning, once."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from flask import Flask
from sqlalchemy import func, select

from callbook.calls.models import Call
from callbook.db import session_scope
from callbook.tickets import Callback, Ticket, TicketHistory, TicketMessage
from ivr.app import create_app
from ivr.jobs.callbacks import Dispatcher
from ivr.settings import Settings
from ivr.twilio_adapter import TwilioGateway
from schedules import clock
from tests.conftest import deployment_settings, paris
from tests.fake_twilio import FakeTwilioHttp
from tests.voice_client import Twilio, new_sid

PUBLIC = "https://ivr.example.org"
HOTLINE = "+33199002000"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return deployment_settings(
        instance_dir=tmp_path,
        twilio_account_sid="AC" + "0" * 32,
        twilio_auth_token="test-auth-token",  # type: ignore[arg-type]
        public_url=PUBLIC,
        outbound_rate=0,
    )


@pytest.fixture
def app(settings: Settings) -> Flask:
    return create_app(settings)


@pytest.fixture
def clock_at() -> Iterator[Any]:
    with ExitStack() as stack:
        yield lambda moment: stack.enter_context(clock.frozen_at(moment))


def voicemail(
    app: Flask,
    at: datetime,
    clock_at: Any,
    presses: list[tuple[str, str]],
    caller: str = "+33612345678",
    duration: int = 25,
) -> tuple[Twilio, Any]:
    clock_at(at)
    phone = Twilio(app, caller=caller)
    phone.step("/voice/incoming")
    twiml = None
    for path, digits in presses:
        twiml = phone.step(path, {"Digits": digits})
    assert twiml is not None and twiml.find("Record") is not None, twiml and twiml.verbs
    recording = {
        "RecordingSid": new_sid("RE"),
        "RecordingUrl": f"https://api.twilio.com/Recordings/{new_sid('RE')}",
        "RecordingDuration": str(duration),
    }
    return phone, (phone.step("/voice/voicemail", recording), recording)


def tickets(app: Flask) -> list[Ticket]:
    with session_scope(app) as session:
        rows = list(session.scalars(select(Ticket).order_by(Ticket.id)))
        for row in rows:
            session.expunge(row)
        return rows


def callbacks(app: Flask) -> list[Callback]:
    with session_scope(app) as session:
        rows = list(session.scalars(select(Callback).order_by(Callback.id)))
        for row in rows:
            session.expunge(row)
        return rows


def history(app: Flask, ticket_id: int) -> list[str]:
    with session_scope(app) as session:
        return list(session.scalars(
            select(TicketHistory.action).where(TicketHistory.ticket_id == ticket_id)
            .order_by(TicketHistory.id)
        ))  # fmt: skip


def test_friday_evening_voicemail_called_back_monday_morning(app: Flask, clock_at: Any) -> None:
    # Friday 27 November 2026, 18:30: an incident, the hotline is closed.
    phone, (twiml, _) = voicemail(
        app, paris(2026, 11, 27, 18, 30), clock_at, [("/voice/menu", "1")]
    )
    [ticket] = tickets(app)
    assert len(ticket.number) == 6
    assert f"Votre demande est enregistrée sous le numéro {' '.join(ticket.number)}." in twiml.says
    assert (ticket.priority, ticket.family, ticket.caller_number) == (
        "high",
        "incident",
        "+33612345678",
    )
    # 16 business hours from Friday evening: Monday 6.5 h + Tuesday 6.5 h + 3 h on Wednesday.
    assert ticket.deadline_at == paris(2026, 12, 2, 12, 0)
    choice = phone.step("/voice/callback-choice", {"Digits": "1"})
    assert "Nous vous rappellerons lundi 30 novembre à 9 h." in choice.says
    [callback] = callbacks(app)
    assert callback.due_at == paris(2026, 11, 30, 9, 0)
    assert callback.agent_numbers == [HOTLINE, "+33199002001"]

    # Monday 09:00: the dispatcher rings the hotline first.
    http = FakeTwilioHttp()
    dispatcher = Dispatcher(app, gateway=lambda s: TwilioGateway(s, http_client=http))
    clock_at(paris(2026, 11, 30, 8, 59))
    assert dispatcher.run_once().claimed == 0
    clock_at(paris(2026, 11, 30, 9, 0))
    report = dispatcher.run_once()
    assert (report.claimed, report.placed) == (1, 1)
    [placed] = http.calls
    assert placed["data"]["To"] == HOTLINE
    url = urlparse(str(placed["data"]["Url"]))
    assert url.path == "/voice/outbound/agent"
    cb = parse_qs(url.query)["cb"][0]
    # The hotline agent hears the ticket and presses 1; then the caller is dialled.
    agent = Twilio(app, caller="+33199001000", to=HOTLINE)
    whisper = agent.step(f"/voice/outbound/agent?cb={cb}")
    assert " ".join(ticket.number) in whisper.spoken and "incident technique" in whisper.spoken
    bridge = agent.step(f"/voice/outbound/agent-answer?cb={cb}", {"Digits": "1"})
    assert bridge.dialed == ["+33612345678"]
    done = agent.step(f"/voice/outbound/bridged?cb={cb}", {"DialCallStatus": "completed"})
    assert done.hangs_up
    assert (
        agent.post(f"/voice/outbound/status?cb={cb}", {"CallStatus": "completed"}).status_code
        == 204
    )
    assert callbacks(app)[0].status == "done"
    assert dispatcher.run_once().claimed == 0  # nothing runs twice
    # Both legs are in the call book: the voicemail call and the callback's agent leg.
    with session_scope(app) as session:
        book = {c.call_sid: c for c in session.scalars(select(Call))}
        assert set(book) == {phone.call_sid, agent.call_sid}
        assert book[phone.call_sid].route == "voicemail"
        leg = book[agent.call_sid]
        assert leg.status == "completed"
        assert [e.kind for e in leg.events] == ["status", "callback.attempt"]
    assert history(app, ticket.id)[-3:] == [
        "callback.dialing",
        "callback.accepted",
        "callback.done",
    ]


@pytest.mark.parametrize(
    ("moment", "presses", "due"),
    [
        ((2026, 12, 24, 17, 45), [("/voice/menu", "1")], (2026, 12, 28, 9, 0)),
        ((2026, 11, 28, 12, 0), [("/voice/menu", "3")], (2026, 11, 30, 9, 0)),
        ((2026, 12, 1, 12, 30), [("/voice/menu", "1")], (2026, 12, 1, 14, 0)),
        # Good Friday evening, Moselle: the structure's calendar (Easter Monday off too).
        (
            (2026, 4, 3, 18, 0),
            [("/voice/menu", "2"), ("/voice/department", "57")],
            (2026, 4, 7, 9, 0),
        ),
    ],
)
def test_callback_due_times(
    app: Flask, clock_at: Any, moment: tuple[int, ...], presses: list[tuple[str, str]],
    due: tuple[int, ...],
) -> None:  # fmt: skip
    phone, _ = voicemail(app, paris(*moment), clock_at, presses)
    phone.step("/voice/callback-choice", {"Digits": "1"})
    [callback] = callbacks(app)
    assert callback.due_at == paris(*due)


def test_no_callback_unless_asked(app: Flask, clock_at: Any) -> None:
    phone, _ = voicemail(app, paris(2026, 12, 24, 17, 45), clock_at, [("/voice/menu", "1")])
    twiml = phone.step("/voice/callback-choice", {"Digits": ""})
    assert "Votre message sera traité dès que possible." in twiml.says
    assert callbacks(app) == [] and len(tickets(app)) == 1


def test_callbacks_are_idempotent_and_order_independent(app: Flask, clock_at: Any) -> None:
    clock_at(paris(2026, 12, 24, 17, 45))
    phone = Twilio(app)
    phone.step("/voice/incoming")
    phone.step("/voice/menu", {"Digits": "1"})
    sid = new_sid("RE")
    recording = {"RecordingSid": sid, "RecordingUrl": "https://api.twilio.com/R/" + sid,
                 "RecordingDuration": "30"}  # fmt: skip
    # The transcription and the recording status arrive before the Record action.
    phone.post("/voice/transcription", {"RecordingSid": sid, "TranscriptionText": "serveur bloqué",
                                        "TranscriptionStatus": "completed"})  # fmt: skip
    phone.post("/voice/recording-status", recording | {"RecordingStatus": "completed"})
    phone.step("/voice/voicemail", recording)
    phone.post("/voice/recording-status", recording | {"RecordingStatus": "completed"})
    phone.step("/voice/voicemail", recording | {"AccountSid": "AC" + "0" * 32})  # a retry
    assert len(tickets(app)) == 1
    with session_scope(app) as session:
        [message] = session.scalars(select(TicketMessage)).all()
        transcription, ticket_id = message.transcription, message.ticket_id
    assert transcription == "serveur bloqué"
    assert ticket_id == tickets(app)[0].id


def test_second_voicemail_is_merged(app: Flask, clock_at: Any) -> None:
    voicemail(app, paris(2026, 12, 24, 17, 45), clock_at, [("/voice/menu", "1")])
    _, (twiml, _) = voicemail(app, paris(2026, 12, 24, 18, 5), clock_at, [("/voice/menu", "3")])
    [ticket] = tickets(app)
    assert f"numéro {' '.join(ticket.number)}" in twiml.spoken
    assert history(app, ticket.id) == ["created", "merged"]
    # Another caller gets a ticket of their own.
    voicemail(app, paris(2026, 12, 24, 18, 10), clock_at, [("/voice/menu", "1")],
              caller="+33698765432")  # fmt: skip
    assert len(tickets(app)) == 2


def test_short_recording_opens_no_ticket(app: Flask, clock_at: Any) -> None:
    _, (twiml, _) = voicemail(
        app, paris(2026, 12, 24, 17, 45), clock_at, [("/voice/menu", "1")], duration=1
    )
    assert tickets(app) == []
    assert twiml.hangs_up and not any("numéro" in s for s in twiml.says)


def test_urgent_voicemail_alerts_the_technician(app: Flask, clock_at: Any) -> None:
    clock_at(paris(2026, 12, 25, 9, 30))
    phone = Twilio(app)
    phone.step("/voice/incoming")
    phone.step("/voice/menu", {"Digits": "9"})
    for _ in range(3):  # nobody accepts: chloe, alice, bruno
        twiml = phone.step(
            "/voice/dial-result", {"DialCallStatus": "no-answer", "DialCallSid": new_sid()}
        )
    assert twiml.find("Record") is not None
    recording = {
        "RecordingSid": new_sid("RE"),
        "RecordingUrl": "https://x/R",
        "RecordingDuration": "20",
    }
    bye = phone.step("/voice/voicemail", recording)
    assert "Le technicien d'astreinte a été prévenu." in bye.says
    [ticket] = tickets(app)
    assert (ticket.priority, ticket.urgent) == ("urgent", True)
    [alert] = callbacks(app)
    assert (alert.kind, alert.rank, alert.due_at) == ("alert", 0, paris(2026, 12, 25, 9, 30))
    assert alert.agent_numbers[0] == "+33199004003"
    http = FakeTwilioHttp()
    report = Dispatcher(app, gateway=lambda s: TwilioGateway(s, http_client=http)).run_once()
    assert report.placed == 1 and http.calls[0]["data"]["To"] == "+33199004003"


def test_retry_spacing_then_flagged(app: Flask, clock_at: Any) -> None:
    phone, _ = voicemail(app, paris(2026, 12, 1, 12, 30), clock_at, [("/voice/menu", "1")])
    phone.step("/voice/callback-choice", {"Digits": "1"})
    http = FakeTwilioHttp(failures=[503] * 9)
    sleeps: list[float] = []
    gateway = lambda s: TwilioGateway(s, http_client=http, sleep=sleeps.append)  # noqa: E731
    dispatcher = Dispatcher(app, gateway=gateway)
    clock_at(paris(2026, 12, 1, 14, 0))
    assert dispatcher.run_once().failed == 1
    assert len(http.requests) == 3 and sleeps == [0.5, 1.0]  # retried with backoff
    [callback] = callbacks(app)
    assert (callback.status, callback.attempts) == ("pending", 1)
    assert callback.due_at == paris(2026, 12, 1, 14, 30)
    clock_at(paris(2026, 12, 1, 14, 30))
    dispatcher.run_once()
    [callback] = callbacks(app)
    assert callback.due_at == paris(2026, 12, 1, 15, 0)
    clock_at(paris(2026, 12, 1, 15, 0))
    dispatcher.run_once()
    [callback] = callbacks(app)
    assert (callback.status, callback.attempts) == ("failed", 3)
    assert tickets(app)[0].flagged


def test_retry_waits_for_the_next_opening(app: Flask, clock_at: Any) -> None:
    phone, _ = voicemail(app, paris(2026, 12, 24, 17, 45), clock_at, [("/voice/menu", "1")])
    phone.step("/voice/callback-choice", {"Digits": "1"})
    http = FakeTwilioHttp()
    dispatcher = Dispatcher(app, gateway=lambda s: TwilioGateway(s, http_client=http))
    clock_at(paris(2026, 12, 28, 11, 45))
    dispatcher.run_once()
    cb = callbacks(app)[0].id
    agent = Twilio(app, caller="+33199001000", to=HOTLINE)
    agent.post(f"/voice/outbound/status?cb={cb}", {"CallStatus": "no-answer"},
               call_sid=callbacks(app)[0].outbound_sid)  # fmt: skip
    # 11:45 + 30 min falls in the lunch break: retried at 14:00.
    assert callbacks(app)[0].due_at == paris(2026, 12, 28, 14, 0)


def test_two_dispatchers_never_dial_twice(app: Flask, clock_at: Any) -> None:
    for minute in range(6):
        phone, _ = voicemail(app, paris(2026, 12, 24, 17, 45 + minute), clock_at,
                             [("/voice/menu", "1")], caller=f"+3361234560{minute}")  # fmt: skip
        phone.step("/voice/callback-choice", {"Digits": "1"})
    clock_at(paris(2026, 12, 28, 9, 0))
    http = FakeTwilioHttp()
    lock = threading.Lock()

    def gateway(s: Settings) -> TwilioGateway:
        with lock:
            return TwilioGateway(s, http_client=http)

    racers = [Dispatcher(app, gateway=gateway, worker=f"w{i}") for i in range(2)]
    threads = [threading.Thread(target=r.run_once) for r in racers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    called = sorted(str(c["data"]["Url"]) for c in http.calls)
    assert len(called) == 6 and len(set(called)) == 6
    assert {c.status for c in callbacks(app)} == {"dialing"}


def test_restart_recovers_a_stale_claim(app: Flask, clock_at: Any) -> None:
    phone, _ = voicemail(app, paris(2026, 12, 24, 17, 45), clock_at, [("/voice/menu", "1")])
    phone.step("/voice/callback-choice", {"Digits": "1"})
    from callbook.tickets import dispatch

    clock_at(paris(2026, 12, 28, 9, 0))
    with session_scope(app) as session:  # a dispatcher claimed it, then died
        assert dispatch.claim(session, callbacks(app)[0].id, "dead", clock.now())
    http = FakeTwilioHttp()
    dispatcher = Dispatcher(app, gateway=lambda s: TwilioGateway(s, http_client=http))
    assert dispatcher.run_once().claimed == 0
    clock_at(paris(2026, 12, 28, 9, 6))
    assert dispatcher.run_once().placed == 1


def test_without_twilio_credentials_dispatch_is_off(tmp_path: Path, clock_at: Any) -> None:
    app = create_app(Settings(instance_dir=tmp_path))
    phone, _ = voicemail(app, paris(2026, 12, 24, 17, 45), clock_at, [("/voice/menu", "1")])
    phone.step("/voice/callback-choice", {"Digits": "1"})
    clock_at(paris(2026, 12, 28, 9, 0))
    report = Dispatcher(app).run_once()
    assert (report.due, report.claimed) == (1, 0)
    assert callbacks(app)[0].status == "pending"


def test_deadline_warning_then_overdue(app: Flask, clock_at: Any) -> None:
    from ivr.jobs.deadlines import check_deadlines
    from ivr.runtime import active_config

    # Saturday noon, an emergency between the on-call windows: an urgent voicemail.
    voicemail(app, paris(2026, 11, 28, 12, 0), clock_at, [("/voice/menu", "9")])
    _, doc = active_config(app).get()
    ticket = tickets(app)[0]
    assert ticket.priority == "urgent"
    # 4 business hours: Monday 09:00-12:00, then 14:00-15:00.
    assert ticket.deadline_at == paris(2026, 11, 30, 15, 0)
    with session_scope(app) as session:
        assert check_deadlines(session, doc, paris(2026, 11, 30, 11, 0)).warned == 0
        assert check_deadlines(session, doc, paris(2026, 11, 30, 14, 15)).warned == 1
        assert check_deadlines(session, doc, paris(2026, 11, 30, 14, 30)).warned == 0
        assert check_deadlines(session, doc, paris(2026, 11, 30, 15, 0)).overdue == 1
        assert check_deadlines(session, doc, paris(2026, 11, 30, 18, 0)).overdue == 0
    assert tickets(app)[0].flagged
    assert history(app, ticket.id)[-2:] == ["deadline.warning", "deadline.overdue"]
    with session_scope(app) as session:
        assert session.scalar(select(func.count()).select_from(Ticket)) == 1


def test_sms_to_mobile_caller_and_to_the_technician(tmp_path: Path, clock_at: Any) -> None:
    import yaml

    from ivr.config import demo_yaml_text

    demo = yaml.safe_load(demo_yaml_text())
    demo["tickets"] = {"sms": True}
    demo["technicians"][2]["sms"] = "06 12 00 00 03"
    app = create_app(
        deployment_settings(
            instance_dir=tmp_path, twilio_account_sid="AC" + "1" * 32,
            twilio_auth_token="t",  # type: ignore[arg-type]
            public_url=PUBLIC, outbound_rate=0,
        )
    )  # fmt: skip
    from ivr.config import load_yaml_text
    from ivr.config.revisions import save_revision

    with session_scope(app) as session:
        save_revision(session, load_yaml_text(yaml.safe_dump(demo)), author="test")
    phone, _ = voicemail(app, paris(2026, 12, 24, 17, 45), clock_at, [("/voice/menu", "1")])
    phone.step("/voice/callback-choice", {"Digits": "1"})
    http = FakeTwilioHttp()
    dispatcher = Dispatcher(app, gateway=lambda s: TwilioGateway(s, http_client=http))
    dispatcher.run_once()
    dispatcher.run_once()
    [text] = http.messages  # one text, not one per run
    assert text["data"]["To"] == "+33612345678"
    assert "lundi 28 décembre à 9 h" in str(text["data"]["Body"])
    assert tickets(app)[0].number in str(text["data"]["Body"])
    # An urgent voicemail on Christmas morning: the technician on duty gets an SMS.
    clock_at(paris(2026, 12, 25, 9, 30))
    urgent = Twilio(app, caller="+33698765432")
    urgent.step("/voice/incoming")
    urgent.step("/voice/menu", {"Digits": "9"})
    for _ in range(3):
        urgent.step("/voice/dial-result", {"DialCallStatus": "busy", "DialCallSid": new_sid()})
    urgent.step("/voice/voicemail", {"RecordingSid": new_sid("RE"), "RecordingUrl": "https://x/R",
                                     "RecordingDuration": "12"})  # fmt: skip
    dispatcher.run_once()
    alerts = [m for m in http.messages if m["data"]["To"] == "+33612000003"]
    assert len(alerts) == 1 and "urgent" in str(alerts[0]["data"]["Body"])


def test_technician_starts_cancels_and_reschedules(
    runner: Any, app: Flask, clock_at: Any
) -> None:  # fmt: skip
    phone, _ = voicemail(app, paris(2026, 12, 24, 17, 45), clock_at, [("/voice/menu", "1")])
    phone.step("/voice/callback-choice", {"Digits": "1"})
    cb = callbacks(app)[0].id
    listed = runner.invoke("callbacks", "list")
    assert f"{cb:>6}  To call back" in listed.output and "2026-12-28 09:00" in listed.output
    moved = runner.invoke("callbacks", "reschedule", str(cb), "2026-12-28 14:00")
    assert moved.exit_code == 0 and "due 2026-12-28 14:00" in moved.output
    assert runner.invoke("callbacks", "cancel", str(cb)).exit_code == 0
    assert callbacks(app)[0].status == "canceled"
    now = runner.invoke("callbacks", "call-now", str(cb))
    assert now.exit_code == 0 and callbacks(app)[0].status == "pending"
    assert runner.invoke("callbacks", "cancel", "999").exit_code == 1
    assert runner.invoke("callbacks", "reschedule", str(cb), "demain").exit_code == 2
