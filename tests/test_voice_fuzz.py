"""Bad input refused: every /voice/* endpoint, fuzzed (hypothesis).

The endpoints are read from the app's url_map, so a new webhook is covered
without touching this file. Whatever the form, its encoding or its size,
signed or not: a 2xx answer is TwiML (or empty), anything else is a 4xx,
never a 5xx; an unsigned or oversized request stores nothing.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import datetime
from typing import Any

from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from callbook.calls.models import Call, CallEvent, CallMotive
from callbook.db import session_scope
from callbook.tickets import Callback, Ticket, TicketMessage
from ivr.runtime import active_config
from ivr.twilio_adapter import sign
from ivr.voice.forms import CALL_SID
from ivr.voice.spool import spool_of
from schedules import clock
from tests.conftest import paris
from tests.test_faults import database_down
from tests.voice_client import BASE, new_sid

FUZZ = settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
MOMENTS = [paris(2026, 12, 15, 10, 0), paris(2026, 12, 24, 17, 45), paris(2026, 12, 25, 9, 30)]
FIELDS = [
    "CallSid", "ParentCallSid", "From", "To", "Direction", "Digits", "SpeechResult",
    "CallStatus", "CallDuration", "DialCallStatus", "DialCallDuration", "RecordingSid",
    "RecordingUrl", "RecordingDuration", "RecordingStatus", "TranscriptionText",
    "TranscriptionStatus", "Confidence",
]  # fmt: skip
TABLES = (Call, CallEvent, CallMotive, Ticket, TicketMessage, Callback)


def voice_paths(app: Flask) -> list[str]:
    return sorted(r.rule for r in app.url_map.iter_rules() if r.rule.startswith("/voice/"))


def stored(app: Flask) -> tuple[int, ...]:
    with session_scope(app) as session:
        return tuple(int(session.scalar(select(func.count()).select_from(t)) or 0) for t in TABLES)


text = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)
sids = st.one_of(st.just(new_sid()), st.from_regex(CALL_SID, fullmatch=True), text)
values = st.one_of(text, st.integers(-(10**12), 10**12).map(str), sids)
forms = st.dictionaries(st.one_of(st.sampled_from(FIELDS), text), values, max_size=8)
huge = st.sampled_from(["Digits", "SpeechResult", "TranscriptionText", "x"]).map(
    lambda key: {key: "9" * 70_000}
)
queries = st.one_of(st.just(""), st.just("cb=1"), text.map(lambda t: "cb=" + t))


def post(app: Flask, path: str, query: str, form: dict[str, str], signed: bool, how: str) -> Any:
    """POST `form` as Twilio would (`how` == "form"), as multipart, or as raw bytes."""
    client = app.test_client()
    url = path + (f"?{query}" if query else "")
    headers = {}
    if signed:
        headers["X-Twilio-Signature"] = sign(app.extensions["twilio_token"], BASE + url, form)
    if how == "form":
        return client.post(url, data=form, headers=headers, base_url=BASE)
    if how == "multipart":
        return client.post(
            url, data=form, headers=headers, base_url=BASE, content_type="multipart/form-data"
        )
    raw = "&".join(f"{k}={v}" for k, v in form.items()).encode("latin-1", "replace")
    return client.post(
        url, data=raw + b"\xff\xfe%%", headers=headers, base_url=BASE,
        content_type="application/x-www-form-urlencoded; charset=" + how,
    )  # fmt: skip


def check(response: Any) -> None:
    assert response.status_code < 500, (response.status_code, response.data[:300])
    assert 200 <= response.status_code < 300 or 400 <= response.status_code < 500
    if 200 <= response.status_code < 300 and response.data:
        assert response.mimetype == "text/xml"
        assert ET.fromstring(response.data).tag == "Response"


def test_every_voice_endpoint_is_fuzzed(app: Flask) -> None:
    paths = voice_paths(app)
    assert {"/voice/incoming", "/voice/fallback", "/voice/status"} <= set(paths)
    assert any(p.startswith("/voice/outbound/") for p in paths)


@FUZZ
@given(
    data=st.data(),
    form=forms,
    query=queries,
    moment=st.sampled_from(MOMENTS),
    how=st.sampled_from(["form", "form", "multipart", "utf-8", "latin-1", "bogus-charset"]),
)
def test_signed_requests_answer_twiml_or_4xx(
    app: Flask, data: st.DataObject, form: dict[str, str], query: str, moment: datetime, how: str
) -> None:
    path = data.draw(st.sampled_from(voice_paths(app)))
    with clock.frozen_at(moment):
        check(post(app, path, query, form, True, how))


@FUZZ
@given(
    data=st.data(),
    form=st.one_of(forms, huge),
    query=queries,
    how=st.sampled_from(["form", "utf-8"]),
)
def test_unsigned_requests_are_refused_and_store_nothing(
    app: Flask, data: st.DataObject, form: dict[str, str], query: str, how: str
) -> None:
    path = data.draw(st.sampled_from(voice_paths(app)))
    before = stored(app)
    response = post(app, path, query, form, False, how)
    assert response.status_code in (403, 413)
    assert stored(app) == before


@settings(FUZZ, max_examples=30)
@given(data=st.data(), key=st.sampled_from(["Digits", "SpeechResult", "TranscriptionText", "x"]))
def test_oversized_bodies_are_refused_before_any_write(
    app: Flask, data: st.DataObject, key: str
) -> None:
    path = data.draw(st.sampled_from(voice_paths(app)))
    form = {"CallSid": new_sid(), "From": "+33612345678", key: "9" * 70_000}
    before = stored(app)
    response = post(app, path, "", form, True, "form")
    assert response.status_code == 413
    assert stored(app) == before


@settings(FUZZ, max_examples=60)
@given(data=st.data(), form=forms, moment=st.sampled_from(MOMENTS))
def test_signed_requests_with_the_database_down(
    app: Flask, data: st.DataObject, form: dict[str, str], moment: datetime
) -> None:
    path = data.draw(st.sampled_from(voice_paths(app)))
    with app.app_context():
        active_config(app).get()  # this worker knows the configuration
    with clock.frozen_at(moment), database_down(app):
        check(post(app, path, "", form, True, "form"))
    spool_of(app).mark_up()
