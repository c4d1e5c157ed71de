"""Faults survived: the database down or locked during calls, the spool and its replay,
the fallback URL, and a configuration revision that cannot be loaded.

The database is broken at its edge only: new connections are refused (a
stopped server) or another connection holds SQLite's write lock. The code
under test is never patched.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import create_engine, event, func, make_url, select, text, update
from sqlalchemy.pool import NullPool

import callbook.db
from callbook.calls import SPOOL_KEY
from callbook.calls.models import Call, CallEvent, CallMotive
from callbook.db import database, session_scope
from callbook.history.models import ConfigRevision, ConfigState
from callbook.tickets import Callback, Ticket, TicketMessage
from ivr.app import create_app
from ivr.config import to_data
from ivr.jobs.scheduler import jobs
from ivr.runtime import EXTENSION as CONFIG_EXTENSION
from ivr.runtime import ActiveConfig, active_config
from ivr.voice.replay import replay
from ivr.voice.spool import REJECTED, RETRY_SECONDS, Spool, spool_of
from schedules import clock
from tests.conftest import deployment_settings, paris
from tests.twiml import TwiML
from tests.voice_client import Twilio, new_sid

HOTLINE = ["+33199002000", "+33199002001"]


class FakeMonotonic:
    def __init__(self) -> None:
        self.value = 1000.0

    def __call__(self) -> float:
        return self.value


@pytest.fixture
def ticks(app: Flask) -> FakeMonotonic:
    """The spool's cool-down clock, moved by hand."""
    fake = FakeMonotonic()
    spool_of(app).monotonic = fake
    return fake


@contextmanager
def database_down(app: Flask) -> Iterator[None]:
    """Every new connection is refused, as by a stopped server; pooled ones are gone."""
    engine = database(app).engine
    refused = engine.dialect.loaded_dbapi.OperationalError

    def refuse(*_args: object) -> None:
        raise refused("connection refused (database stopped by the test)")

    event.listen(engine, "do_connect", refuse)
    engine.dispose()
    try:
        yield
    finally:
        event.remove(engine, "do_connect", refuse)


@contextmanager
def database_locked(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Another connection holds SQLite's write lock; ours wait 50 ms, then give up."""
    url = make_url(app.config["DATABASE_URL"])
    if url.get_backend_name() != "sqlite":
        pytest.skip("SQLite's write lock")
    monkeypatch.setattr(callbook.db, "SQLITE_BUSY_TIMEOUT_MS", 50)
    database(app).engine.dispose()  # new connections get the short busy timeout
    holder = sqlite3.connect(str(url.database), isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        yield
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def book(app: Flask, sid: str) -> dict[str, Any]:
    """What the call book holds of a call; spool stamps left out."""
    with session_scope(app) as session:
        call = session.scalars(select(Call).where(Call.call_sid == sid)).one()
        events = session.scalars(
            select(CallEvent).where(CallEvent.call_id == call.id).order_by(CallEvent.seq)
        )
        motives = session.scalars(select(CallMotive.motive).where(CallMotive.call_id == call.id))
        return {
            "events": [
                (e.kind, e.at, {k: v for k, v in e.data.items() if k != SPOOL_KEY}) for e in events
            ],
            "row": (call.route, call.status, call.answered_by, call.in_hours, call.duration,
                    call.started_at, call.ended_at, call.revision, call.from_number),
            "motives": list(motives),
        }  # fmt: skip


def count(app: Flask, model: type, **where: object) -> int:
    with session_scope(app) as session:
        query = select(func.count()).select_from(model)
        for key, value in where.items():
            query = query.where(getattr(model, key) == value)
        return int(session.scalar(query) or 0)


def hotline_call(phone: Twilio) -> list[TwiML]:
    """Tuesday morning: an incident, the hotline answers, the caller hangs up."""
    heard = [phone.step("/voice/incoming"), phone.step("/voice/menu", {"Digits": "1"})]
    heard.append(
        phone.step("/voice/dial-result", {"DialCallStatus": "completed", "DialCallDuration": "42"})
    )
    ended = phone.post("/voice/status", {"CallStatus": "completed", "CallDuration": "90"})
    assert ended.status_code == 204
    return heard


RECORDING = {"RecordingUrl": "https://api.twilio.com/r", "RecordingDuration": "14"}


def voicemail_call(phone: Twilio, recording_sid: str) -> list[TwiML]:
    """Christmas Eve after hours: a message, a callback asked, the callbacks of Twilio."""
    recording = RECORDING | {"RecordingSid": recording_sid}
    heard = [
        phone.step("/voice/incoming"),
        phone.step("/voice/menu", {"SpeechResult": "j'ai une panne"}),
        phone.step("/voice/voicemail", recording),
        phone.step("/voice/callback-choice", {"Digits": "1"}),
    ]
    status = recording | {"RecordingStatus": "completed"}
    assert phone.post("/voice/recording-status", status).status_code == 204
    assert phone.post("/voice/status", {"CallStatus": "completed"}).status_code == 204
    return heard


def test_whole_call_with_the_database_down_is_replayed_exactly_once(
    app: Flask, ticks: FakeMonotonic
) -> None:
    with clock.frozen_at(paris(2026, 12, 15, 10, 0)):
        reference = Twilio(app)
        hotline_call(reference)  # the same call with the database up
        down = Twilio(app)
        with database_down(app):
            heard = hotline_call(down)
    assert heard[1].dialed == HOTLINE  # the caller reached the hotline all the same
    assert "Vous appelez pour un incident technique." in heard[1].says
    assert heard[2].hangs_up
    assert count(app, Call, call_sid=down.call_sid) == 0
    assert len(spool_of(app).pending()) == 4

    saved = [(p.name, p.read_bytes()) for p in spool_of(app).pending()]
    report = replay(app)
    assert (report.replayed, report.rejected, report.left) == (4, 0, 0)
    assert spool_of(app).pending() == []
    expected = book(app, reference.call_sid)
    assert book(app, down.call_sid) == expected
    assert expected["row"][:3] == ("hotline", "completed", "hotline")

    # A crash after the commits but before the files were deleted: replayed again.
    for name, data in saved:
        (spool_of(app).directory / name).write_bytes(data)
    assert replay(app).replayed == 4
    assert book(app, down.call_sid) == expected  # nothing twice
    assert count(app, CallMotive) == 2


def test_voicemail_and_callback_with_the_database_down(app: Flask, ticks: FakeMonotonic) -> None:
    with clock.frozen_at(paris(2026, 12, 24, 17, 45)):
        reference = Twilio(app)
        voicemail_call(reference, new_sid("RE"))
        down = Twilio(app, caller="+33612345670")  # another caller: a ticket of its own
        recording_sid = new_sid("RE")
        with database_down(app):
            heard = voicemail_call(down, recording_sid)
    # No ticket number can be given without the database; the callback slot can.
    assert "Votre demande est enregistrée" not in heard[2].spoken
    assert "Nous vous rappellerons lundi 28 décembre à 9 h." in heard[3].says
    assert replay(app).replayed == 8  # 4 steps, the message, the callback, 2 callbacks of Twilio
    assert replay(app).replayed == 0

    got, want = book(app, down.call_sid), book(app, reference.call_sid)
    assert got["row"][:-1] == want["row"][:-1] and got["motives"] == want["motives"]

    # Same events but the caller, the recording and the ticket number (said to
    # the reference caller only).
    def same(events: list[Any]) -> list[Any]:
        other = {"sid": "RE", "caller": "+33"}
        return [(k, at, data | {x: other[x] for x in other if x in data}) for k, at, data in events]

    assert same([e for e in want["events"] if e[0] != "ticket"]) == same(got["events"])
    with session_scope(app) as session:
        ticket = session.scalars(select(Ticket).where(Ticket.call_sid == down.call_sid)).one()
        message = session.scalars(
            select(TicketMessage).where(TicketMessage.recording_sid == recording_sid)
        ).one()
        callback = session.scalars(select(Callback).where(Callback.call_sid == down.call_sid)).one()
        assert message.ticket_id == ticket.id and message.duration == 14
        assert (callback.ticket_id, callback.due_at) == (ticket.id, paris(2026, 12, 28, 9, 0))
        assert ticket.created_at == paris(2026, 12, 24, 17, 45)


def test_locked_sqlite_is_spooled_then_replayed_by_the_next_webhook(
    app: Flask, ticks: FakeMonotonic, monkeypatch: pytest.MonkeyPatch
) -> None:
    with clock.frozen_at(paris(2026, 12, 15, 10, 0)):
        reference = Twilio(app)
        hotline_call(reference)
        locked = Twilio(app)
        with database_locked(app, monkeypatch):
            locked.step("/voice/incoming")
            assert locked.step("/voice/menu", {"Digits": "1"}).dialed == HOTLINE
            ticks.value += RETRY_SECONDS + 1  # the database is tried again, still locked
            locked.step(
                "/voice/dial-result", {"DialCallStatus": "completed", "DialCallDuration": "42"}
            )
        assert len(spool_of(app).pending()) == 3
        # The lock is gone; within the cool-down the call stays on the spool ...
        locked.post("/voice/status", {"CallStatus": "completed", "CallDuration": "90"})
        assert count(app, Call, call_sid=locked.call_sid) == 0
        # ... after it, the next webhook (of any call) replays first.
        ticks.value += RETRY_SECONDS + 1
        Twilio(app).step("/voice/incoming")
    assert spool_of(app).pending() == []
    assert book(app, locked.call_sid) == book(app, reference.call_sid)


def test_replay_is_a_scheduler_job(app: Flask, ticks: FakeMonotonic) -> None:
    phone = Twilio(app)
    with clock.frozen_at(paris(2026, 12, 15, 10, 0)):
        phone.step("/voice/incoming")  # the worker knows the configuration
        with database_down(app):
            phone.step("/voice/menu", {"Digits": "1"})
            assert jobs(app)["replay"]().error  # type: ignore[attr-defined]
    status = app.test_client().get("/healthz/voice").get_json()
    assert status["spool"] == {"pending": 1, "rejected": 0, "database": "down"}
    with app.app_context():
        report = jobs(app)["replay"]()
    assert report.replayed == 1  # type: ignore[attr-defined]
    assert [e[0] for e in book(app, phone.call_sid)["events"]][:3] == [
        "call.started",
        "menu.choice",
        "route",
    ]
    assert app.test_client().get("/healthz/voice").get_json()["spool"]["pending"] == 0


def test_unusable_spool_entry_is_set_aside(
    app: Flask, ticks: FakeMonotonic, caplog: pytest.LogCaptureFixture
) -> None:
    phone = Twilio(app)
    with clock.frozen_at(paris(2026, 12, 15, 10, 0)):
        phone.step("/voice/incoming")
        with database_down(app):
            phone.step("/voice/menu", {"Digits": "1"})
    spool = spool_of(app)
    (spool.directory / "00000000000000000001-1-000000-step-x.json").write_text("{truncated")
    with caplog.at_level(logging.ERROR, logger="ivr.voice.spool"):
        report = replay(app)
    assert (report.replayed, report.rejected) == (1, 1)
    assert [p.name for p in (spool.directory / REJECTED).iterdir()] == [
        "00000000000000000001-1-000000-step-x.json"
    ]
    assert any("set aside" in r.message for r in caplog.records)
    assert "menu.choice" in [e[0] for e in book(app, phone.call_sid)["events"]]


def test_spool_files_are_whole_entries(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool")
    sid = new_sid()
    first = spool.write("status", sid, datetime(2026, 12, 15, 9, tzinfo=UTC), {"form": {}})
    second = spool.write("status", sid, datetime(2026, 12, 15, 9, tzinfo=UTC), {"form": {}})
    assert [p.stem for p in spool.pending()] == [first, second]  # oldest first
    assert not list(spool.directory.glob(".*.tmp"))
    assert spool.holds(sid) and not spool.holds(new_sid())


TWILIO_FORM: dict[str, Any] = {
    "CallSid": "", "From": "", "To": "", "Direction": "inbound", "ParentCallSid": "",
    "Digits": "", "SpeechResult": "", "CallStatus": "", "CallDuration": 0,
    "DialCallStatus": "", "DialCallDuration": 0, "RecordingSid": "", "RecordingUrl": "",
    "RecordingDuration": 0, "RecordingStatus": "", "TranscriptionText": "",
    "TranscriptionStatus": "",
}  # fmt: skip
"""Twilio's form as the previous version of the spool kept it, whole (its format 1)."""


def as_format_1(path: Path, posted: dict[str, Any]) -> None:
    """Write a step or callback entry back as the previous version spooled it."""
    entry = json.loads(path.read_text(encoding="utf-8"))
    entry = {k: v for k, v in entry.items() if k not in ("call", "report")}
    entry |= {"format": 1, "form": TWILIO_FORM | posted}
    path.write_text(json.dumps(entry, ensure_ascii=False), encoding="utf-8")


def test_a_call_spooled_across_an_upgrade_is_replayed_whole(
    app: Flask, ticks: FakeMonotonic
) -> None:
    """Entries that wait in the spool at upgrade time, in the previous format (Twilio's
    whole form), replay as before, along with the same call's entries spooled after."""
    with clock.frozen_at(paris(2026, 12, 24, 17, 45)):
        reference = Twilio(app)
        voicemail_call(reference, new_sid("RE"))
        down = Twilio(app, caller="+33612345670", to="+33199001001")
        recording_sid = new_sid("RE")
        transcription = {"RecordingSid": recording_sid, "TranscriptionText": "serveur bloqué",
                         "TranscriptionStatus": "completed"}  # fmt: skip
        with database_down(app):
            voicemail_call(down, recording_sid)
            assert down.post("/voice/transcription", transcription).status_code == 204
    entries = {p.name.split("-")[3]: p for p in spool_of(app).pending()}
    steps = sorted(p for p in spool_of(app).pending() if "-step-" in p.name)
    call = {"CallSid": down.call_sid, "From": down.caller, "To": down.to}
    # Spooled before the upgrade: the call's first two steps, its status and transcription.
    as_format_1(steps[0], call)
    as_format_1(steps[1], call | {"SpeechResult": "j'ai une panne"})
    as_format_1(entries["status"], call | {"CallStatus": "completed"})
    as_format_1(entries["transcription"], call | transcription)
    assert replay(app).replayed == 9
    assert spool_of(app).pending() == [] and not (spool_of(app).directory / REJECTED).exists()

    got, want = book(app, down.call_sid), book(app, reference.call_sid)
    assert got["row"][:-1] == want["row"][:-1] and got["motives"] == want["motives"]
    assert [e[0] for e in got["events"]] == [e[0] for e in want["events"] if e[0] != "ticket"] + [
        "transcription"
    ]
    assert got["events"][-1][2] == {
        "sid": recording_sid, "status": "completed", "text": "serveur bloqué"
    }  # fmt: skip
    with session_scope(app) as session:
        row = session.scalars(select(Call).where(Call.call_sid == down.call_sid)).one()
        assert (row.from_number, row.to_number, row.direction, row.status) == (
            "+33612345670", "+33199001001", "inbound", "completed"
        )  # fmt: skip
        message = session.scalars(
            select(TicketMessage).where(TicketMessage.recording_sid == recording_sid)
        ).one()
        assert (message.duration, message.transcription) == (14, "serveur bloqué")


def test_the_spool_keeps_what_the_call_book_takes_not_the_form(
    app: Flask, ticks: FakeMonotonic
) -> None:
    phone = Twilio(app)
    with clock.frozen_at(paris(2026, 12, 15, 10, 0)):
        phone.step("/voice/incoming")
        with database_down(app):
            phone.step("/voice/menu", {"Digits": "1"})
            ended = {"CallStatus": "completed", "CallDuration": "90", "Digits": "1"}
            assert phone.post("/voice/status", ended).status_code == 204
    step, status = (json.loads(p.read_text()) for p in spool_of(app).pending())
    call = {"call_sid": phone.call_sid, "direction": "inbound",
            "from_number": phone.caller, "to_number": phone.to}  # fmt: skip
    assert "form" not in step and "form" not in status
    assert step["call"] == call and step["record"]["events"][0]["kind"] == "menu.choice"
    assert status["report"] == {"call": call, "status": "completed", "duration": 90}
    assert replay(app).replayed == 2
    row = book(app, phone.call_sid)["row"]
    assert (row[1], row[4]) == ("completed", 90)


# -- the fallback URL ------------------------------------------------------------------


def test_fallback_with_the_database_down_never_raises(app: Flask, tmp_path: Path) -> None:
    fresh = Twilio(app)
    with database_down(app):
        # Nothing loaded yet and no snapshot: the static apology, still TwiML.
        apology = fresh.step("/voice/fallback")
        assert apology.hangs_up and "incident technique" in apology.spoken
        for form in ({"CallSid": "x" * 5000, "From": "\x00é"}, {}):
            response = app.test_client().post("/voice/fallback", data=form)
            assert response.status_code == 403  # unsigned: refused, not raised
    with clock.frozen_at(paris(2026, 12, 15, 10, 0)):
        fresh.step("/voice/incoming")  # loads the configuration, and its snapshot
    # Another worker, started while the database is down, answers from the snapshot.
    settings = deployment_settings(
        instance_dir=Path(app.instance_path), database_url=app.config["DATABASE_URL"]
    )
    worker = create_app(settings)
    try:
        with database_down(worker):
            phone = Twilio(worker)
            with clock.frozen_at(paris(2026, 12, 15, 10, 0)):
                assert phone.step("/voice/fallback").dialed == HOTLINE
                odd = {"CallSid": "not-a-sid", "From": "é" * 300, "Digits": "\x00"}
                assert phone.step("/voice/fallback", odd).dialed == HOTLINE
            with clock.frozen_at(paris(2026, 12, 15, 20, 0)):
                assert "Record" in phone.step("/voice/fallback").verbs
                # The primary handler too: a whole step, spooled.
                assert "Gather" in phone.step("/voice/incoming").verbs
    finally:
        database(worker).engine.dispose()


def test_outbound_webhooks_with_the_database_down(app: Flask) -> None:
    phone = Twilio(app)
    with clock.frozen_at(paris(2026, 12, 15, 10, 0)):
        phone.step("/voice/incoming")
        with database_down(app):
            for path in ("/voice/outbound/agent?cb=1", "/voice/outbound/bridged?cb=1"):
                assert phone.step(path).hangs_up


# -- a configuration revision that cannot be loaded ------------------------------------


def _activate_broken(app: Flask, how: str) -> int:
    with session_scope(app) as session:
        document = to_data(active_config(app).get()[1])
        document["calendars"] = {}  # every calendar reference now dangles
        rev = ConfigRevision(document=document, author="x", comment="", created_at=clock.now())
        session.add(rev)
        session.flush()
        if how == "corrupt row":  # what a torn write or a hand edit could leave
            session.execute(
                text("UPDATE config_revisions SET document = '{\"service\": ' WHERE id = :id"),
                {"id": rev.id},
            )
        # Bypasses activate_revision's check, as a hand-edited database would.
        session.execute(update(ConfigState).values(active_revision_id=rev.id))
        return rev.id


@pytest.mark.parametrize("how", ["invalid document", "corrupt row"])
def test_revision_that_cannot_be_loaded_keeps_the_previous_one(
    app: Flask, how: str, caplog: pytest.LogCaptureFixture
) -> None:
    if how == "corrupt row" and make_url(app.config["DATABASE_URL"]).get_backend_name() != "sqlite":
        pytest.skip("PostgreSQL refuses to store malformed JSON")
    ticks = FakeMonotonic()
    app.extensions[CONFIG_EXTENSION] = ActiveConfig(database(app).sessions, monotonic=ticks)
    phone = Twilio(app)
    with clock.frozen_at(paris(2026, 12, 15, 10, 0)):
        phone.step("/voice/incoming")
        broken = _activate_broken(app, how)
        ticks.value += 2
        with caplog.at_level(logging.WARNING, logger="ivr.runtime"):
            later = Twilio(app)
            assert later.step("/voice/incoming").verbs == ["Say", "Gather", "Redirect"]
            ticks.value += 2
            assert later.step("/voice/menu", {"Digits": "1"}).dialed == HOTLINE
    with session_scope(app) as session:
        revision = session.scalar(select(Call.revision).where(Call.call_sid == later.call_sid))
    assert revision == 1
    said = [r.message for r in caplog.records if "keeping configuration revision 1" in r.message]
    assert len(said) == 1 and f"revision {broken} is invalid" in said[0]
    status = app.test_client().get("/healthz/voice").get_json()
    assert status["config"] == {"revision": 1, "refused": {"revision": broken},
                                "database_failing": False}  # fmt: skip


def break_server_connections(app: Flask) -> int:
    """Have PostgreSQL end every session on the test database but the one asking
    (a server restart, as the service's pooled connections see it); how many."""
    if database(app).engine.dialect.name != "postgresql":
        pytest.skip("server connections to break: PostgreSQL")
    outside = create_engine(app.config["DATABASE_URL"], poolclass=NullPool)
    with outside.connect() as admin:
        ended = admin.execute(
            text(
                "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        ).scalar_one()
    outside.dispose()
    return int(ended)


@pytest.mark.parametrize("ping_after_idle_s", [3600.0, 0.0])
def test_server_connections_lost_between_two_calls(
    app: Flask,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    ping_after_idle_s: float,
) -> None:
    """A database restart under the pool: the next call is answered and booked all the
    same, without the spool. A connection idle for `PING_AFTER_IDLE_S` is pinged
    and replaced before use; one used recently fails its first statement, and the
    step runs once more on a new connection."""
    monkeypatch.setattr(callbook.db, "PING_AFTER_IDLE_S", ping_after_idle_s)
    with clock.frozen_at(paris(2026, 12, 15, 10, 0)):
        hotline_call(Twilio(app))  # the pool holds working connections
        assert break_server_connections(app) >= 1
        phone = Twilio(app)
        with caplog.at_level(logging.WARNING, logger="ivr.voice.steps"):
            heard = phone.step("/voice/incoming")
        assert heard.find("Gather") is not None  # the motive menu, not a degraded answer
        assert phone.step("/voice/menu", {"Digits": "1"}).dialed == HOTLINE
        assert break_server_connections(app) >= 1  # and again before the status callback
        with caplog.at_level(logging.WARNING, logger="ivr.voice.steps"):
            ended = phone.post("/voice/status", {"CallStatus": "completed", "CallDuration": "9"})
        assert ended.status_code == 204
    retried = [r for r in caplog.records if "connection lost" in r.getMessage()]
    assert len(retried) == (2 if ping_after_idle_s else 0)
    assert book(app, phone.call_sid)["row"][1] == "completed"
    kinds = [kind for kind, _at, _data in book(app, phone.call_sid)["events"]]
    assert kinds[:2] == ["call.started", "menu.choice"]
    assert kinds.count("call.started") == 1
    assert book(app, phone.call_sid)["motives"] == ["incident"]
    assert spool_of(app).pending() == []
