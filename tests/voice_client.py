"""A Twilio look-alike for tests: signed webhook posts through Flask's test client."""

from __future__ import annotations

import secrets
from typing import Any

from flask import Flask
from werkzeug.test import TestResponse

from ivr.twilio_adapter import sign
from tests.twiml import TwiML

BASE = "http://localhost"


def new_sid(prefix: str = "CA") -> str:
    return prefix + secrets.token_hex(16)


class Twilio:
    def __init__(self, app: Flask, caller: str = "+33612345678", to: str = "+33199001000") -> None:
        self.app = app
        self.client = app.test_client()
        self.token: str = app.extensions["twilio_token"]
        self.base = (app.config["IVR_SETTINGS"].public_url or BASE).rstrip("/")
        self.caller = caller
        self.to = to
        self.call_sid = new_sid()

    def post(
        self,
        path: str,
        params: dict[str, Any] | None = None,
        *,
        signed: bool = True,
        token: str | None = None,
        call_sid: str | None = None,
    ) -> TestResponse:
        form = {"CallSid": call_sid or self.call_sid, "From": self.caller, "To": self.to}
        form |= {k: str(v) for k, v in (params or {}).items()}
        headers = {}
        if signed:
            headers["X-Twilio-Signature"] = sign(token or self.token, self.base + path, form)
        return self.client.post(path, data=form, headers=headers, base_url=self.base)

    def step(self, path: str, params: dict[str, Any] | None = None, **kw: Any) -> TwiML:
        response = self.post(path, params, **kw)
        assert response.status_code == 200, (response.status_code, response.data[:300])
        assert response.mimetype == "text/xml"
        return TwiML.parse(response.data)
