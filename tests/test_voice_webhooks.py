"""The /voice/* webhooks through Flask's test client, signed like Twilio."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from callbook.calls.models import Call, CallEvent, CallMotive
from callbook.db import session_scope
from ivr.app import create_app
from ivr.settings import Settings
from schedules import clock
from tests.conftest import paris
from tests.voice_client import Twilio, new_sid


@pytest.fixture
def voice_app(tmp_path: Path) -> Flask:
    return create_app(Settings(instance_dir=tmp_path))


@pytest.fixture
def phone(voice_app: Flask) -> Twilio:
    return Twilio(voice_app)


@pytest.fixture
def at() -> Iterator[object]:
    def freeze(moment: datetime) -> None:
        stack.enter_context(clock.frozen_at(moment))

    from contextlib import ExitStack

    with ExitStack() as stack:
        yield freeze


def call_row(app: Flask, sid: str) -> Call:
    with session_scope(app) as session:
        call = session.scalars(select(Call).where(Call.call_sid == sid)).one()
        session.expunge(call)
        return call


def count(app: Flask, model: type, **where: object) -> int:
    with session_scope(app) as session:
        query = select(func.count()).select_from(model)
        for key, value in where.items():
            query = query.where(getattr(model, key) == value)
        return int(session.scalar(query) or 0)


def events(app: Flask, sid: str) -> list[str]:
    with session_scope(app) as session:
        call = session.scalars(select(Call).where(Call.call_sid == sid)).one()
        return [
            e.kind
            for e in session.scalars(
                select(CallEvent).where(CallEvent.call_id == call.id).order_by(CallEvent.seq)
            )
        ]


def test_incoming_answers_french_twiml(phone: Twilio, at: object) -> None:
    at(paris(2026, 12, 1, 10, 0))  # type: ignore[operator]
    twiml = phone.step("/voice/incoming")
    assert twiml.verbs == ["Say", "Gather", "Redirect"]
    assert twiml.first("Say").get("language") == "fr-FR"
    assert twiml.first("Gather").get("action") == "/voice/menu?step=1"  # the answer to turn 1
    call = call_row(phone.app, phone.call_sid)
    assert call.from_number == "+33612345678" and call.revision == 1
    assert call.started_at.tzinfo is not None


@pytest.mark.parametrize(
    ("headers", "token"),
    [("none", None), ("wrong", "not-the-token")],
)
def test_unsigned_or_wrongly_signed_is_refused(
    phone: Twilio, headers: str, token: str | None
) -> None:
    response = phone.post("/voice/incoming", signed=headers != "none", token=token)
    assert response.status_code == 403
    assert count(phone.app, Call) == 0


def test_signature_covers_the_parameters(phone: Twilio) -> None:
    from ivr.twilio_adapter import sign

    form = {"CallSid": phone.call_sid, "From": phone.caller, "To": phone.to}
    signature = sign(phone.token, "http://localhost/voice/incoming", form)
    tampered = form | {"From": "+33100000000"}
    response = phone.client.post(
        "/voice/incoming", data=tampered, headers={"X-Twilio-Signature": signature}
    )
    assert response.status_code == 403


def test_full_emergency_call_on_christmas_morning(phone: Twilio, at: object) -> None:
    at(paris(2026, 12, 25, 9, 30))  # type: ignore[operator]
    phone.step("/voice/incoming")
    twiml = phone.step("/voice/menu", {"Digits": "9"})
    assert "Vous appelez pour une urgence sur la plateforme hébergée." in twiml.says
    assert any("Noël" in s for s in twiml.says)
    assert twiml.dialed == ["+33199004003"]  # chloe is on duty that week
    # The technician's leg: whisper, then accept.
    leg = {"ParentCallSid": phone.call_sid}
    whisper = phone.step("/voice/whisper", leg, call_sid=new_sid())
    assert "Tapez 1" in whisper.spoken
    accepted = phone.post("/voice/whisper-answer", leg | {"Digits": "1"}, call_sid=new_sid())
    assert accepted.status_code == 200
    done = phone.step(
        "/voice/dial-result", {"DialCallStatus": "completed", "DialCallDuration": "75"}
    )
    assert done.hangs_up
    assert (
        phone.post("/voice/status", {"CallStatus": "completed", "CallDuration": "140"}).status_code
        == 204
    )
    call = call_row(phone.app, phone.call_sid)
    assert (call.route, call.answered_by, call.status, call.duration) == (
        "oncall",
        "chloe",
        "completed",
        140,
    )
    assert call.in_hours is False and call.urgent
    assert count(phone.app, CallMotive, motive="emergency") == 1
    assert events(phone.app, phone.call_sid)[:4] == ["call.started", "menu.choice", "route", "dial"]


def test_retried_webhook_is_answered_the_same_and_recorded_once(phone: Twilio, at: object) -> None:
    at(paris(2026, 12, 1, 10, 0))  # type: ignore[operator]
    phone.step("/voice/incoming")
    first = phone.post("/voice/menu", {"Digits": "1"})
    again = phone.post("/voice/menu", {"Digits": "1"})
    assert first.data == again.data
    assert events(phone.app, phone.call_sid).count("menu.choice") == 1


def test_retried_incoming_webhook_is_answered_the_same(phone: Twilio, at: object) -> None:
    """The first step is written without reading the call: a retry finds it there."""
    at(paris(2026, 12, 1, 10, 0))  # type: ignore[operator]
    first = phone.post("/voice/incoming")
    again = phone.post("/voice/incoming")
    assert first.status_code == again.status_code == 200
    assert first.data == again.data
    assert events(phone.app, phone.call_sid) == ["call.started"]
    assert count(phone.app, Call, call_sid=phone.call_sid) == 1


def test_a_status_callback_before_the_incoming_webhook(phone: Twilio, at: object) -> None:
    """The row a status callback created is used (not duplicated) by the first step."""
    at(paris(2026, 12, 1, 10, 0))  # type: ignore[operator]
    assert phone.post("/voice/status", {"CallStatus": "ringing"}).status_code == 204
    twiml = phone.step("/voice/incoming")
    assert twiml.first("Gather") is not None
    assert count(phone.app, Call, call_sid=phone.call_sid) == 1
    assert events(phone.app, phone.call_sid) == ["status", "call.started"]
    assert call_row(phone.app, phone.call_sid).state["caller"] == phone.caller
    phone.step("/voice/menu", {"Digits": "1"})
    assert events(phone.app, phone.call_sid)[-1] != "call.started"


def test_status_callbacks_duplicated_and_out_of_order(phone: Twilio) -> None:
    sid = new_sid()
    # Unknown CallSid: the row is created, not lost.
    assert (
        phone.post(
            "/voice/status", {"CallStatus": "completed", "CallDuration": "30"}, call_sid=sid
        ).status_code
        == 204
    )
    assert (
        phone.post(
            "/voice/status", {"CallStatus": "completed", "CallDuration": "30"}, call_sid=sid
        ).status_code
        == 204
    )
    assert phone.post("/voice/status", {"CallStatus": "ringing"}, call_sid=sid).status_code == 204
    assert count(phone.app, Call, call_sid=sid) == 1
    call = call_row(phone.app, sid)
    assert (call.status, call.duration, call.route) == ("completed", 30, "abandoned")
    assert events(phone.app, sid) == ["status", "status"]


def test_closed_voicemail_path(phone: Twilio, at: object) -> None:
    at(paris(2026, 12, 24, 17, 45))  # type: ignore[operator]
    phone.step("/voice/incoming")
    twiml = phone.step("/voice/menu", {"SpeechResult": "j'ai une panne"})
    assert "Vous appelez pour un incident technique." in twiml.says
    assert "Il rouvrira lundi 28 décembre à 9 h." in twiml.says
    record = twiml.first("Record")
    recording = {
        "RecordingSid": new_sid("RE"),
        "RecordingUrl": "https://api.twilio.com/x",
        "RecordingDuration": "14",
    }
    bye = phone.step(record.get("action") or "", recording)
    assert bye.hangs_up
    assert (
        phone.post(
            "/voice/recording-status", recording | {"RecordingStatus": "completed"}
        ).status_code
        == 204
    )
    call = call_row(phone.app, phone.call_sid)
    assert call.route == "voicemail" and call.in_hours is False
    assert call.callback_at == paris(2026, 12, 28, 9, 0)
    assert "voicemail.recorded" in events(phone.app, phone.call_sid)


@pytest.mark.parametrize(
    "params",
    [
        {"Digits": "9" * 20_000},
        {"Digits": "\x00\x01\x02"},
        {"SpeechResult": "é" * 10_000},
        {"DialCallStatus": "explosion", "DialCallDuration": "-5"},
    ],
)
@pytest.mark.parametrize("path", ["/voice/menu", "/voice/department", "/voice/dial-result"])
def test_odd_values_never_5xx(phone: Twilio, path: str, params: dict[str, str]) -> None:
    phone.step("/voice/incoming")
    response = phone.post(path, params)
    assert response.status_code in (200, 413), response.status_code


def test_malformed_body_and_forged_call_sid(phone: Twilio) -> None:
    bad = phone.post("/voice/incoming", call_sid="not-a-sid")
    assert bad.status_code == 400
    # A well-formed CallSid we never saw, on a later step: still a useful answer.
    twiml = phone.step("/voice/dial-result", {"DialCallStatus": "no-answer"}, call_sid=new_sid())
    assert twiml.verbs  # routed again, not hung up silently
    assert not twiml.hangs_up or "Record" in twiml.verbs
    raw = phone.client.post(
        "/voice/menu", data=b"\xff\xfe%%%", content_type="application/x-www-form-urlencoded"
    )
    assert raw.status_code == 403


def test_oversized_body_is_rejected_early(phone: Twilio) -> None:
    response = phone.post("/voice/menu", {"SpeechResult": "x" * 200_000})
    assert response.status_code == 413


def test_database_down_still_answers(voice_app: Flask, phone: Twilio, at: object) -> None:
    at(paris(2026, 12, 1, 10, 0))  # type: ignore[operator]
    phone.step("/voice/incoming")  # this worker now knows the configuration
    from callbook.db import Database, make_engine, make_sessionmaker

    broken = make_engine("sqlite:////nonexistent-folder/ivr.sqlite3")
    voice_app.extensions["callbook"] = Database(broken, make_sessionmaker(broken))
    fallback = phone.step("/voice/fallback")
    assert fallback.dialed == ["+33199002000", "+33199002001"]  # hotline open on a Tuesday
    step = phone.step("/voice/menu", {"Digits": "1"})
    assert step.dialed == ["+33199002000", "+33199002001"]
    at(paris(2026, 12, 1, 20, 0))  # type: ignore[operator]
    closed = phone.step("/voice/fallback")
    assert "Record" in closed.verbs


def _signed_post(app: Flask, url: str, headers: dict[str, str] | None = None) -> int:
    from ivr.twilio_adapter import sign

    form = {"CallSid": new_sid(), "From": "+33612345678", "To": "+33199001000"}
    signature = sign(app.extensions["twilio_token"], url, form)
    response = app.test_client().post(
        "/voice/incoming", data=form, headers={"X-Twilio-Signature": signature, **(headers or {})}
    )
    return response.status_code


def test_signature_on_the_public_url(tmp_path: Path) -> None:
    app = create_app(Settings(instance_dir=tmp_path, public_url="https://ivr.example.org/"))
    assert _signed_post(app, "https://ivr.example.org/voice/incoming") == 200
    assert _signed_post(app, "http://localhost/voice/incoming") == 403


@pytest.mark.parametrize("trusted", [True, False])
def test_signature_behind_a_trusted_proxy(tmp_path: Path, trusted: bool) -> None:
    app = create_app(Settings(instance_dir=tmp_path, trust_proxy=trusted))
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "ivr.example.org"}
    status = _signed_post(app, "https://ivr.example.org/voice/incoming", forwarded)
    # Forwarded headers count only when the proxy is trusted: otherwise anyone
    # could choose the URL the signature is checked against.
    assert status == (200 if trusted else 403)
