"""French voicemail transcription with Twilio's real-time transcription (IVR_TRANSCRIPTION).

Driven through the signed webhooks: the voicemail's TwiML starts the
transcription before <Record>, and the pieces Twilio posts to
/voice/transcription-events complete the ticket's message whatever their
order, their repetitions, and whether the ticket exists yet.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from callbook.db import database, session_scope
from callbook.tickets import Ticket, TicketHistory, TicketMessage, TranscriptPiece
from ivr.app import create_app
from ivr.runtime import install_demo_if_empty
from ivr.voice.replay import replay
from ivr.voice.spool import spool_of
from schedules import clock
from tests.conftest import deployment_settings, paris
from tests.test_faults import FakeMonotonic, database_down
from tests.twiml import TwiML
from tests.voice_client import Twilio, new_sid

CHRISTMAS_EVE = paris(2026, 12, 24, 17, 45)  # closed: the caller leaves a message
EVENTS = "/voice/transcription-events"


def _app(database_url: str, instance: Path, **settings: Any) -> Flask:
    app = create_app(deployment_settings(instance_dir=instance, database_url=database_url,
                                         **settings))  # fmt: skip
    app.config["TESTING"] = True
    with session_scope(app) as session:
        install_demo_if_empty(session)
    return app


@pytest.fixture
def app(migrated_database: str, tmp_path: Path) -> Iterator[Flask]:
    """The service with IVR_TRANSCRIPTION on (`login_as` and `client` use it too)."""
    app = _app(migrated_database, tmp_path / "instance", transcription=True)
    yield app
    database(app).engine.dispose()


@pytest.fixture(autouse=True)
def evening() -> Iterator[None]:
    with clock.frozen_at(CHRISTMAS_EVE):
        yield


def _offer(phone: Twilio) -> TwiML:
    phone.step("/voice/incoming")
    return phone.step("/voice/menu", {"SpeechResult": "j'ai une panne"})


def _record(phone: Twilio, twiml: TwiML, recording_sid: str) -> TwiML:
    recording = {
        "RecordingSid": recording_sid,
        "RecordingUrl": "https://api.twilio.com/x",
        "RecordingDuration": "14",
    }
    return phone.step(twiml.first("Record").get("action") or "", recording)


def _event(phone: Twilio, event: str, **more: str) -> int:
    params = {"TranscriptionEvent": event, "Track": "inbound_track", "LanguageCode": "fr-FR",
              "ProviderName": "Google", "Timestamp": "2026-12-24T16:46:00Z", **more}  # fmt: skip
    return phone.post(EVENTS, params).status_code


def _piece(phone: Twilio, sid: str, sequence: int, text: str, *, final: bool = True) -> int:
    data = json.dumps({"transcript": text, "confidence": 0.93})
    return _event(
        phone, "transcription-content", TranscriptionSid=sid, SequenceId=str(sequence),
        TranscriptionData=data, Final="true" if final else "false",
    )  # fmt: skip


def _message(app: Flask, recording_sid: str) -> tuple[str, int | None]:
    with session_scope(app) as session:
        message = session.scalars(
            select(TicketMessage).where(TicketMessage.recording_sid == recording_sid)
        ).one()
        return message.transcription, message.ticket_id


def _history(app: Flask, ticket_id: int, action: str) -> int:
    with session_scope(app) as session:
        query = select(func.count()).where(
            TicketHistory.ticket_id == ticket_id, TicketHistory.action == action
        )
        return int(session.scalar(query) or 0)


def test_the_voicemail_starts_a_french_transcription_before_record(app: Flask) -> None:
    phone = Twilio(app)
    offer = _offer(phone)
    verbs = offer.verbs
    assert "Start" in verbs and verbs.index("Start") < verbs.index("Record")
    transcription = offer.first("Start").find("Transcription")
    assert transcription is not None
    assert transcription.get("languageCode") == "fr-FR"
    assert transcription.get("track") == "inbound_track"
    assert transcription.get("statusCallbackUrl") == "http://localhost" + EVENTS
    assert transcription.get("statusCallbackMethod") == "POST"
    # Twilio's own <Record transcribe> is English-only: never asked for.
    assert offer.first("Record").get("transcribe") is None
    after = _record(phone, offer, new_sid("RE"))
    stop = after.first("Stop").find("Transcription")
    assert stop is not None and stop.get("name") == transcription.get("name")


def test_without_the_setting_nothing_is_transcribed(migrated_database: str, tmp_path: Path) -> None:
    app = _app(migrated_database, tmp_path / "plain")
    try:
        offer = _offer(Twilio(app))
        assert offer.find("Start") is None and offer.find("Transcription") is None
        assert offer.first("Record").get("transcribe") is None
    finally:
        database(app).engine.dispose()


def test_pieces_early_late_out_of_order_and_duplicated(app: Flask) -> None:
    phone = Twilio(app)
    offer = _offer(phone)
    sid, recording = new_sid("GT"), new_sid("RE")
    assert _event(phone, "transcription-started", TranscriptionSid=sid, SequenceId="1") == 204
    # Before the ticket exists, and out of order.
    assert _piece(phone, sid, 3, "le serveur de messagerie est bloqué") == 204
    assert _piece(phone, sid, 2, "Bonjour, ici Paul Morel,") == 204
    assert _piece(phone, sid, 4, "depuis ce mat", final=False) == 204  # partial: ignored
    _record(phone, offer, recording)
    text, ticket_id = _message(app, recording)
    assert text == "Bonjour, ici Paul Morel, le serveur de messagerie est bloqué"
    assert ticket_id is not None
    # Late (the ticket exists), duplicated, and one piece (5) never comes.
    assert _piece(phone, sid, 2, "Bonjour, ici Paul Morel,") == 204
    assert _piece(phone, sid, 6, "merci de me rappeler.") == 204
    assert _piece(phone, sid, 6, "merci de me rappeler.") == 204
    assert _event(phone, "transcription-stopped", TranscriptionSid=sid, SequenceId="7") == 204
    text, _ = _message(app, recording)
    assert text == (
        "Bonjour, ici Paul Morel, le serveur de messagerie est bloqué merci de me rappeler."
    )
    with session_scope(app) as session:
        assert session.scalar(select(func.count()).select_from(TranscriptPiece)) == 3
    assert _history(app, ticket_id, "transcription") == 0  # the ticket opened with its text


def test_a_piece_after_the_ticket_adds_one_history_line(app: Flask) -> None:
    phone = Twilio(app)
    offer = _offer(phone)
    recording = new_sid("RE")
    _record(phone, offer, recording)
    _, ticket_id = _message(app, recording)
    sid = new_sid("GT")
    assert _piece(phone, sid, 3, "plus rien ne marche") == 204
    assert _piece(phone, sid, 2, "Bonjour") == 204
    assert _message(app, recording)[0] == "Bonjour plus rien ne marche"
    assert ticket_id is not None and _history(app, ticket_id, "transcription") == 1


@pytest.mark.parametrize(
    "params",
    [
        {"TranscriptionData": "not json"},
        {"TranscriptionData": json.dumps(["transcript"])},
        {"TranscriptionData": json.dumps({"transcript": 42})},
        {"TranscriptionData": json.dumps({"transcript": "x" * 30_000})},
        {"SequenceId": ""},
        {"SequenceId": "-3"},
        {"SequenceId": "99999999999999"},
        {"TranscriptionSid": ""},
        {"Track": "outbound_track"},
        {"Final": "maybe"},
    ],
)
def test_odd_pieces_are_dropped_without_error(app: Flask, params: dict[str, str]) -> None:
    phone = Twilio(app)
    good = {"TranscriptionEvent": "transcription-content", "TranscriptionSid": new_sid("GT"),
            "SequenceId": "2", "Final": "true", "Track": "inbound_track",
            "TranscriptionData": json.dumps({"transcript": "bonjour"})}  # fmt: skip
    assert phone.post(EVENTS, good | params).status_code == 204
    with session_scope(app) as session:
        assert session.scalar(select(func.count()).select_from(TranscriptPiece)) == 0


def test_malformed_sids_are_refused_at_the_edge(app: Flask) -> None:
    phone = Twilio(app)
    bad_sid = {"TranscriptionEvent": "transcription-content", "TranscriptionSid": "GT" + "z" * 40,
               "SequenceId": "2", "Final": "true"}  # fmt: skip
    assert phone.post(EVENTS, bad_sid).status_code == 400
    assert phone.post(EVENTS, bad_sid, call_sid="CA-forged").status_code == 400


def test_unsigned_or_wrongly_signed_events_are_refused(app: Flask) -> None:
    phone = Twilio(app)
    data = {"TranscriptionEvent": "transcription-content", "TranscriptionSid": new_sid("GT"),
            "SequenceId": "2", "Final": "true",
            "TranscriptionData": json.dumps({"transcript": "bonjour"})}  # fmt: skip
    assert phone.post(EVENTS, data, signed=False).status_code == 403
    assert phone.post(EVENTS, data, token="not-the-token").status_code == 403
    with session_scope(app) as session:
        assert session.scalar(select(func.count()).select_from(TranscriptPiece)) == 0


def test_the_ticket_page_shows_and_the_search_finds_the_transcript(
    app: Flask, login_as: Callable[..., FlaskClient]
) -> None:
    phone = Twilio(app)
    offer = _offer(phone)
    recording, sid = new_sid("RE"), new_sid("GT")
    _piece(phone, sid, 2, "La synchronisation des agendas échoue")
    _record(phone, offer, recording)
    with session_scope(app) as session:
        number = session.scalars(select(Ticket.number)).one()
    tech = login_as("technician")
    page = tech.get(f"/admin/tickets/{number}").get_data(as_text=True)
    assert "La synchronisation des agendas échoue" in page
    assert number in tech.get("/admin/tickets?q=agendas").get_data(as_text=True)
    assert number in tech.get("/admin/tickets?q=SYNCHRONISATION").get_data(as_text=True)
    missing = tech.get("/admin/tickets?q=imprimante").get_data(as_text=True)
    assert number not in missing and "Aucun ticket ne correspond." in missing
    from tests.api_helpers import token_for

    found = tech.get("/api/v1/tickets?q=agendas", headers=token_for(app, "technician")).json
    assert [t["number"] for t in found["tickets"]] == [number]  # type: ignore[index]
    detail = tech.get(f"/api/v1/tickets/{number}", headers=token_for(app, "technician")).json
    assert detail["messages"][0]["transcription"] == "La synchronisation des agendas échoue"  # type: ignore[index]


def test_the_pieces_are_erased_with_the_caller(app: Flask) -> None:
    from callbook.privacy import erasure

    phone = Twilio(app, caller="+33465719901")
    offer = _offer(phone)
    _piece(phone, new_sid("GT"), 2, "Bonjour, ici Paul Morel")
    _record(phone, offer, new_sid("RE"))
    with session_scope(app) as session:
        erasure.apply(session, erasure.plan(session, "+33465719901"), actor="test", now=clock.now())
    with session_scope(app) as session:
        assert session.scalar(select(func.count()).select_from(TranscriptPiece)) == 0
        assert session.scalars(select(TicketMessage.transcription)).all() == [""]


@pytest.fixture
def ticks(app: Flask) -> FakeMonotonic:
    """The spool's cool-down clock, moved by hand."""
    fake = FakeMonotonic()
    spool_of(app).monotonic = fake
    return fake


def test_pieces_posted_while_the_database_is_down_are_replayed_once(
    app: Flask, ticks: FakeMonotonic
) -> None:
    phone = Twilio(app)
    recording, sid = new_sid("RE"), new_sid("GT")
    offer = _offer(phone)
    with database_down(app):
        assert _piece(phone, sid, 3, "ne s'ouvre plus") == 204
        _record(phone, offer, recording)
        assert _piece(phone, sid, 2, "Le portail") == 204
        assert _piece(phone, sid, 2, "Le portail") == 204  # Twilio's retry, spooled too
    assert any("-transcript-" in p.name for p in spool_of(app).pending())
    ticks.value += 60  # the spool's cool-down is over
    report = replay(app)
    assert spool_of(app).pending() == [] and report.rejected == 0
    assert _message(app, recording)[0] == "Le portail ne s'ouvre plus"
    with session_scope(app) as session:
        assert session.scalar(select(func.count()).select_from(TranscriptPiece)) == 2


def test_the_console_phone_plays_a_voicemail_with_transcription_on(app: Flask) -> None:
    from tests.admin_data import phone as console_call

    console_call(app, CHRISTMAS_EVE, "+33465719901", "2", "1")  # Paul Morel leaves a message
    with session_scope(app) as session:
        assert session.scalar(select(func.count()).select_from(Ticket)) == 1
