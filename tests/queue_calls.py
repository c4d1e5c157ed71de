"""Waiting callers in tests: the hotline configured, callers put in its line, its rows read."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Flask
from sqlalchemy import select

from callbook.db import session_scope
from callbook.outbox import OutboxMessage
from callbook.queue import QueueEntry
from callbook.tickets import Callback
from ivr.config import load_yaml_text
from ivr.config.loader import demo_yaml_text, to_data, validate_document
from ivr.config.revisions import save_revision
from tests.conftest import paris
from tests.fake_twilio import FakeTwilioHttp, fake_twilio
from tests.twiml import TwiML
from tests.voice_client import Twilio

MEMBER = "+33199002000"
SECOND = "+33199002001"
TUESDAY_10 = paris(2026, 12, 1, 10, 0)  # the hotline is open


def twilio_rest(app: Flask) -> FakeTwilioHttp:
    """Twilio's REST API of `app`, answered by a fake at the network edge."""
    http = FakeTwilioHttp()
    fake_twilio(app, http)
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


def recoveries(app: Flask) -> tuple[list[OutboxMessage], list[Callback]]:
    with session_scope(app) as session:
        sms = list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
        callbacks = list(session.scalars(select(Callback).order_by(Callback.id)))
        session.expunge_all()
    return sms, callbacks
