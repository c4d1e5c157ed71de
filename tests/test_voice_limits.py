"""Over-long webhook values: cut or refused at the edge, the same on SQLite and PostgreSQL.

PostgreSQL refuses a value longer than its column where SQLite stores it
whole; the service must behave the same on both, and a value the database
would refuse must never pass for a database outage (the spool and the next
calls would pay for it). Run on PostgreSQL with IVR_TEST_DATABASE_URL.
"""

from __future__ import annotations

from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import String, select

from callbook.calls.models import Call
from callbook.db import session_scope
from ivr.voice.spool import spool_of
from schedules import clock
from tests.conftest import paris
from tests.voice_client import Twilio, new_sid

TUESDAY_10H = paris(2026, 12, 1, 10, 0)
STEPS = ["/voice/menu", "/voice/department", "/voice/dial-result", "/voice/voicemail",
         "/voice/callback-choice", "/voice/status", "/voice/recording-status",
         "/voice/transcription"]  # fmt: skip
FIELDS = ["From", "To", "Direction", "CallStatus", "DialCallStatus", "RecordingSid",
          "RecordingUrl", "RecordingStatus", "TranscriptionStatus", "Digits", "SpeechResult",
          "CallDuration", "RecordingDuration"]  # fmt: skip
LIMITS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

long_text = st.text(st.characters(exclude_categories=("Cs",)), min_size=15, max_size=600)
values = st.one_of(
    long_text,
    st.sampled_from(["in-progress", "completed"]).map(lambda s: s + "x" * 30),
    st.just("RE" + "0" * 40),
)


def stored_call(app: Flask, sid: str) -> Call | None:
    with session_scope(app) as session:
        call = session.scalars(select(Call).where(Call.call_sid == sid)).one_or_none()
        if call is not None:
            session.expunge(call)
        return call


@LIMITS
@given(
    path=st.sampled_from(STEPS),
    form=st.dictionaries(st.sampled_from(FIELDS), values, min_size=1, max_size=5),
)
def test_over_long_values_are_answered_the_same_and_never_mark_the_database_down(
    app: Flask, path: str, form: dict[str, str]
) -> None:
    phone = Twilio(app)
    spool = spool_of(app)
    with clock.frozen_at(TUESDAY_10H):
        assert phone.post("/voice/incoming").status_code == 200
        response = phone.post(path, form)
    assert response.status_code in (200, 204, 400), (response.status_code, response.data[:300])
    if "RecordingSid" in form:  # never a Twilio SID: refused before anything is written
        assert response.status_code == 400
    assert not spool.database_down()
    assert not spool.has_pending()
    call = stored_call(app, phone.call_sid)
    assert call is not None
    for column in Call.__table__.columns:
        if isinstance(column.type, String) and column.type.length:
            assert len(getattr(call, column.key) or "") <= column.type.length, column.key


def test_an_unknown_call_status_is_dropped_and_the_next_call_is_in_the_book(app: Flask) -> None:
    phone = Twilio(app)
    with clock.frozen_at(TUESDAY_10H):
        phone.post("/voice/incoming")
        response = phone.post("/voice/status", {"CallStatus": "completed" + "!" * 20})
        assert response.status_code == 204
        following = Twilio(app)
        assert following.post("/voice/incoming").status_code == 200
    call = stored_call(app, phone.call_sid)
    assert call is not None and call.status == "in-progress" and call.ended_at is None
    assert stored_call(app, following.call_sid) is not None  # written, not spooled
    assert not spool_of(app).has_pending()


def test_a_recording_sid_that_is_no_twilio_sid_is_refused(app: Flask) -> None:
    phone = Twilio(app)
    with clock.frozen_at(TUESDAY_10H):
        phone.post("/voice/incoming")
        for path in ("/voice/recording-status", "/voice/transcription", "/voice/voicemail"):
            response = phone.post(path, {"RecordingSid": "RE" + "a" * 40})
            assert response.status_code == 400, path
            assert b"RecordingSid" in response.data
        good = phone.post("/voice/recording-status", {"RecordingSid": new_sid("RE")})
    assert good.status_code == 204
