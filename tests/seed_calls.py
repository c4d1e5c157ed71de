"""A few rows of every kind for pages that show the call book: a call that ended
in voicemail, its ticket and its callback to place, through the webhooks."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import select

from callbook.db import session_scope
from callbook.tickets import Ticket
from schedules import clock
from tests.conftest import paris
from tests.voice_client import Twilio, new_sid

MOMENT = paris(2026, 12, 24, 17, 45)
"""Christmas Eve after hours: the caller leaves a message and asks to be called back."""


def seed_voicemail_call(app: Flask) -> tuple[str, str]:
    """(call sid, ticket number) of a voicemail with a callback, the call completed."""
    with clock.frozen_at(MOMENT):
        phone = Twilio(app, caller="+33612345678")
        phone.step("/voice/incoming")
        phone.step("/voice/menu", {"Digits": "1"})
        recording = {
            "RecordingSid": new_sid("RE"),
            "RecordingUrl": f"https://api.twilio.com/Recordings/{new_sid('RE')}",
            "RecordingDuration": "25",
        }
        phone.step("/voice/voicemail", recording)
        phone.step("/voice/callback-choice", {"Digits": "1"})
        done = phone.post("/voice/status", {"CallStatus": "completed", "CallDuration": "70"})
        assert done.status_code in (200, 204)
    with session_scope(app) as session:
        number = session.scalars(select(Ticket.number).order_by(Ticket.id)).first()
    assert number is not None
    return phone.call_sid, number
