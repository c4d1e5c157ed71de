"""Retention leaves nothing behind: a call book aged 400 days holds no caller number,
recording URL, transcription or Twilio SID after the purge, and each recording is
deleted once at Twilio (the REST API replaced at the network edge only)."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

from flask import Flask
from sqlalchemy import select, update

from callbook.db import Base, database, session_scope
from callbook.privacy.recordings import RecordingDeletion
from callbook.tickets import Callback, Ticket, TicketMessage
from ivr import privacy
from ivr.jobs.scheduler import jobs
from ivr.settings import Settings
from schedules import clock
from tests.conftest import IvrRunner, paris
from tests.fake_twilio import FakeTwilioHttp, fake_twilio
from tests.voice_client import Twilio, new_sid

OLD = paris(2025, 10, 28, 18, 30)  # a Tuesday evening: the hotline is closed, voicemail
NOW = OLD + timedelta(days=400)
ALICE, BRUNO, CHLOE = "+33612345678", "+33698765432", "+33655555555"
DAVID = "+33644444444"  # called yesterday: nothing of his may go


def voicemail(
    app: Flask, caller: str, at: datetime, *, text: str = "", callback: bool = False,
    duration: int = 25,
) -> list[str]:  # fmt: skip
    """A caller leaves a message at `at` through the webhooks; what names it at Twilio:
    the CallSid, the RecordingSid and the recording's URL."""
    with clock.frozen_at(at):
        phone = Twilio(app, caller=caller)
        phone.step("/voice/incoming")
        assert "Record" in phone.step("/voice/menu", {"Digits": "1"}).verbs
        sid = new_sid("RE")
        url = f"https://api.twilio.com/2010-04-01/Accounts/AC{'0' * 32}/Recordings/{sid}"
        recording = {"RecordingSid": sid, "RecordingUrl": url, "RecordingDuration": duration}
        phone.step("/voice/voicemail", recording)
        assert phone.post("/voice/recording-status", recording | {"RecordingStatus": "completed"})
        if text:
            phone.post("/voice/transcription", {"RecordingSid": sid, "TranscriptionText": text,
                                                "TranscriptionStatus": "completed"})  # fmt: skip
        if callback:
            assert (
                "Nous vous rappellerons"
                in phone.step("/voice/callback-choice", {"Digits": "1"}).spoken
            )
        phone.post("/voice/status", {"CallStatus": "completed", "CallDuration": "70"})
    return [phone.call_sid, sid, url]


def hang_up_at_menu(app: Flask, caller: str, at: datetime) -> str:
    with clock.frozen_at(at):
        phone = Twilio(app, caller=caller)
        phone.step("/voice/incoming")
        phone.post("/voice/status", {"CallStatus": "completed", "CallDuration": "9"})
    return phone.call_sid


def aged_book(app: Flask) -> tuple[list[str], list[str], list[str]]:
    """Calls, voicemails, a callback asked and open tickets from 400 days ago, and one
    voicemail from yesterday. (old texts and SIDs, old RecordingSids, recent texts)."""
    alice = voicemail(app, ALICE, OLD, text="Bonjour, ici Mme Martin, le serveur est bloqué",
                      callback=True)  # fmt: skip
    bruno = voicemail(app, BRUNO, OLD + timedelta(minutes=5), text="Bruno Petit, la messagerie")
    short = voicemail(app, BRUNO, OLD + timedelta(minutes=9), duration=1)  # hung up at the beep
    chloe = hang_up_at_menu(app, CHLOE, OLD + timedelta(minutes=12))
    david = voicemail(app, DAVID, NOW - timedelta(days=1), text="David, rappelez-moi")
    old = [ALICE, BRUNO, CHLOE, chloe, *alice, *bruno, *short, "Mme Martin", "Bruno Petit"]
    return old, [alice[1], bruno[1], short[1]], [DAVID, *david, "David, rappelez-moi"]


def stored_text(app: Flask) -> str:
    """Every row of every table but the deletion log, as text."""
    parts = []
    with database(app).engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            if table.name != "recording_deletions":
                parts.append(f"{table.name}: {connection.execute(table.select()).all()!r}")
    return "\n".join(parts)


def deletions(app: Flask) -> list[RecordingDeletion]:
    with session_scope(app) as session:
        rows = list(session.scalars(select(RecordingDeletion).order_by(RecordingDeletion.id)))
        session.expunge_all()
        return rows


def test_the_purge_leaves_no_personal_data_and_each_recording_is_deleted_once(
    twilio_app: Flask,
) -> None:
    old, recordings, recent = aged_book(twilio_app)
    before = stored_text(twilio_app)
    assert all(value in before for value in old + recent)
    with session_scope(twilio_app) as session:
        tickets_before = session.scalar(select(Ticket.id).order_by(Ticket.id.desc()))
    with clock.frozen_at(NOW):
        result = jobs(twilio_app)["purge"]()
    assert (result.calls, result.closed, result.canceled) == (4, 2, 1)  # type: ignore[attr-defined]
    after = stored_text(twilio_app)
    assert [value for value in old if value in after] == []
    assert all(value in after for value in recent)
    with session_scope(twilio_app) as session:
        tickets = session.scalars(select(Ticket).order_by(Ticket.id)).all()
        assert tickets[-1].id == tickets_before  # the rows stay for the figures
        assert [(t.status, t.caller_number) for t in tickets[:2]] == [("closed", "")] * 2
        assert tickets[2].caller_number == DAVID and tickets[2].status == "new"
        [callback] = session.scalars(select(Callback)).all()
        assert (callback.status, callback.caller_number) == ("canceled", "")
        messages = session.scalars(select(TicketMessage).order_by(TicketMessage.id)).all()
        assert [m.recording_sid for m in messages[:3]] == [f"erased-{m.id}" for m in messages[:3]]
    queued = deletions(twilio_app)
    assert sorted(row.recording_sid for row in queued) == sorted(recordings)
    assert {(row.reason, row.deleted_at) for row in queued} == {("retention", None)}

    # The scheduler's job deletes them at Twilio; the first answer is a 500, retried.
    http = FakeTwilioHttp(failures=[500])
    sleeps = fake_twilio(twilio_app, http)
    with clock.frozen_at(NOW + timedelta(minutes=10)):
        report = jobs(twilio_app)["recordings"]()
    assert str(report) == "3 recordings deleted at Twilio, 0 already gone, 0 failed; 0 waiting"
    assert [r["method"] for r in http.requests] == ["DELETE"] * 4
    assert all(f"/Recordings/{r['sid']}.json" in r["url"] for r in http.deletes)
    # Oldest first: Alice's message, whose first DELETE met the 500 and was sent again.
    assert Counter(r["sid"] for r in http.deletes) == Counter(
        {recordings[0]: 2, recordings[1]: 1, recordings[2]: 1}
    )
    assert http.gone == set(recordings)  # exactly one successful DELETE each
    assert sleeps == [0.5]
    done = deletions(twilio_app)
    assert {(row.deleted_at, row.subject, row.last_error) for row in done} == {
        (NOW + timedelta(minutes=10), "", "")
    }
    with clock.frozen_at(NOW + timedelta(days=1)):
        assert not jobs(twilio_app)["recordings"]()  # nothing left to do
        assert not jobs(twilio_app)["purge"]().queued  # type: ignore[attr-defined]
    assert len(http.requests) == 4


def test_a_failing_twilio_keeps_the_row_and_tries_later(twilio_app: Flask) -> None:
    recording = voicemail(twilio_app, ALICE, OLD)[1]
    with clock.frozen_at(NOW):
        jobs(twilio_app)["purge"]()
    http = FakeTwilioHttp(failures=[503, 503, 503])
    fake_twilio(twilio_app, http)
    with clock.frozen_at(NOW):
        report = jobs(twilio_app)["recordings"]()
    assert (report.failed, report.waiting) == (1, 1)  # type: ignore[attr-defined]
    [row] = deletions(twilio_app)
    assert (row.attempts, row.deleted_at, row.next_attempt_at) == (
        1,
        None,
        NOW + timedelta(minutes=5),
    )
    assert "HTTP 503" in row.last_error
    with clock.frozen_at(NOW + timedelta(minutes=4)):
        jobs(twilio_app)["recordings"]()
    assert len(http.requests) == 3  # not yet
    http.gone.add(recording)  # meanwhile deleted in Twilio's console: 404 is success
    with clock.frozen_at(NOW + timedelta(minutes=5)):
        report = jobs(twilio_app)["recordings"]()
    assert (report.already_gone, report.waiting) == (1, 0)  # type: ignore[attr-defined]
    assert deletions(twilio_app)[0].deleted_at == NOW + timedelta(minutes=5)


def test_without_twilio_credentials_the_recordings_wait(app: Flask, runner: IvrRunner) -> None:
    voicemail(app, ALICE, OLD, text="Bonjour, ici Mme Martin")
    with clock.frozen_at(NOW):
        purged = runner.invoke("callbook", "purge")
        ran = runner.invoke("jobs", "run", "recordings")
    assert purged.exit_code == 0, purged.output
    assert "1 recordings queued for deletion at Twilio" in purged.output
    assert "1 recordings to delete at Twilio: they wait: set TWILIO_ACCOUNT_SID" in purged.output
    assert ran.exit_code == 0, ran.output
    assert "1 waiting (recordings wait: " in ran.output and "TWILIO_ACCOUNT_SID" in ran.output
    assert deletions(app)[0].deleted_at is None
    assert "Mme Martin" not in stored_text(app)


def test_an_open_ticket_in_use_keeps_its_caller_until_its_maximum_age(twilio_app: Flask) -> None:
    opened = NOW - timedelta(days=200)
    voicemail(twilio_app, ALICE, opened, text="Bonjour, ici Mme Martin")
    with session_scope(twilio_app) as session:  # a technician worked on it yesterday
        session.execute(update(Ticket).values(updated_at=NOW - timedelta(days=1)))
    settings: Settings = twilio_app.config["IVR_SETTINGS"]
    with session_scope(twilio_app) as session:
        kept = privacy.purge(session, settings, NOW)
    assert (kept.tickets, kept.recordings, kept.closed) == (0, 0, 0)
    assert "Mme Martin" in stored_text(twilio_app)
    shorter = settings.model_copy(update={"ticket_max_age_days": 180})
    with session_scope(twilio_app) as session:
        dry = privacy.purge(session, shorter, NOW, dry_run=True)
        assert (dry.tickets, dry.recordings, dry.closed, dry.queued) == (1, 1, 1, 1)
        assert "would close 1 open tickets" in str(dry)
    assert "Mme Martin" in stored_text(twilio_app)  # a dry run changes nothing
    with session_scope(twilio_app) as session:
        done = privacy.purge(session, shorter, NOW)
    assert (done.tickets, done.closed, done.queued) == (1, 1, 1)
    with session_scope(twilio_app) as session:
        [ticket] = session.scalars(select(Ticket)).all()
        [message] = session.scalars(select(TicketMessage)).all()
        assert (ticket.status, ticket.caller_number, message.transcription) == ("closed", "", "")
    # The call itself is 200 days old: the call book keeps it for IVR_RETENTION_DAYS.
    assert ALICE in stored_text(twilio_app)
