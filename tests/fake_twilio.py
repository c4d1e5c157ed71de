"""The network edge to Twilio's REST API, replaced: requests are recorded, answers scripted."""

from __future__ import annotations

import secrets
from typing import Any

from flask import Flask
from twilio.http import HttpClient
from twilio.http.response import Response

from ivr.call_status import GATEWAY
from ivr.settings import Settings
from ivr.twilio_adapter import TwilioGateway


class FakeTwilioHttp(HttpClient):  # type: ignore[misc]
    """Answers like Twilio: 201 with a new sid, or the scripted failures first.

    A GET of a call (`calls(sid).fetch()`) answers its status from `call_status`,
    "completed" unless a test set another one. A DELETE of a recording answers
    204, or 404 for the SIDs in `gone` (Twilio no longer has them).
    """

    def __init__(self, failures: list[int] | None = None) -> None:
        self.requests: list[dict[str, Any]] = []
        self.failures = list(failures or [])
        self.call_status: dict[str, str] = {}
        self.gone: set[str] = set()

    def request(
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> Response:
        entry: dict[str, Any] = {"method": method, "url": url, "data": dict(data or {})}
        self.requests.append(entry)
        if method.upper() == "DELETE":
            entry["sid"] = url.rsplit("/", 1)[1].removesuffix(".json")
        if self.failures:
            status = self.failures.pop(0)
            return Response(status, '{"code": 20500, "message": "Service unavailable"}')
        if method.upper() == "DELETE":
            sid = entry["sid"]
            if sid in self.gone:
                return Response(404, '{"code": 20404, "message": "not found", "status": 404}')
            self.gone.add(sid)
            return Response(204, "")
        if method.upper() == "GET" and "/Calls/" in url:
            sid = url.rsplit("/", 1)[1].removesuffix(".json")
            status = self.call_status.get(sid, "completed")
            return Response(200, f'{{"sid": "{sid}", "status": "{status}"}}')
        prefix = "SM" if url.endswith("/Messages.json") else "CA"
        sid = entry["sid"] = prefix + secrets.token_hex(16)
        return Response(201, f'{{"sid": "{sid}", "status": "queued"}}')

    @property
    def calls(self) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["url"].endswith("/Calls.json")]

    @property
    def deletes(self) -> list[dict[str, Any]]:
        """The DELETE requests, each with the "sid" it named."""
        return [r for r in self.requests if r["method"].upper() == "DELETE"]

    @property
    def messages(self) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["url"].endswith("/Messages.json")]


def fake_twilio(app: Flask, http: FakeTwilioHttp) -> list[float]:
    """Twilio's REST API of `app` answered by `http`; returns the backoff sleeps asked for."""
    sleeps: list[float] = []

    def gateway(settings: Settings, **options: Any) -> TwilioGateway:
        return TwilioGateway(settings, http_client=http, sleep=sleeps.append, **options)

    app.extensions[GATEWAY] = gateway
    return sleeps
