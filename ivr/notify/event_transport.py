"""Delivery of the signed events: one HTTP POST per outbox row.

Signed per the Standard Webhooks convention with its reference library
(`standardwebhooks`): `webhook-id` (the event's id, the same on every
retry), `webhook-timestamp` (the attempt's Unix time) and `webhook-signature`
(`v1,` and the base64 HMAC-SHA256 of `id.timestamp.body` under the
receiver's secret). A 2xx answer delivers the event; anything else, or no
answer within the timeout, is retried by the outbox with its backoff. The
secret is read from the settings at delivery, never from the row.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

import requests
from flask import Flask
from sqlalchemy.orm import Session
from standardwebhooks.webhooks import Webhook

from callbook.outbox import OutboxMessage
from ivr.notify.transports import DeliveryError, Outgoing, register, snapshot
from ivr.receivers import Receiver
from ivr.settings import Settings
from schedules import clock

TIMEOUT_SECONDS = 5.0
PERMANENT_STATUSES = frozenset({400, 401, 403, 404, 405, 410, 413, 422})
"""Answers that a retry would not change; 401/403 mean a wrong secret: fixed by a resend."""


def body_of(message: Outgoing) -> bytes:
    """The exact bytes signed and sent (compact JSON, UTF-8)."""
    return json.dumps(message.payload["body"], ensure_ascii=False, separators=(",", ":")).encode()


def signed_headers(
    receiver: Receiver, webhook_id: str, body: bytes, at: datetime
) -> dict[str, str]:
    signature = Webhook(receiver.secret.get_secret_value()).sign(webhook_id, at, body)
    return {
        "content-type": "application/json",
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signature,
        "user-agent": "ivr-hotline-events/1",
    }


class EventChannel:
    def __init__(self, receivers: dict[str, Receiver], http: requests.Session) -> None:
        self.receivers = receivers
        self.http = http

    def send(self, message: Outgoing) -> None:
        receiver = self.receivers.get(message.recipient)
        if receiver is None:
            raise DeliveryError(
                f"destinataire « {message.recipient} » absent de IVR_WEBHOOK_RECEIVERS",
                permanent=True,
            )
        body = body_of(message)
        headers = signed_headers(receiver, str(message.payload["id"]), body, clock.now())
        try:
            answer = self.http.post(
                receiver.url, data=body, headers=headers, timeout=TIMEOUT_SECONDS,
                allow_redirects=False,
            )  # fmt: skip
        except requests.RequestException as exc:
            raise DeliveryError(f"{receiver.url} injoignable : {exc.__class__.__name__}") from exc
        if not 200 <= answer.status_code < 300:
            raise DeliveryError(
                f"{receiver.url} a répondu HTTP {answer.status_code}",
                permanent=answer.status_code in PERMANENT_STATUSES,
            )


class EventTransport:
    kind = "event"

    def __init__(self, settings: Settings) -> None:
        self.receivers = {r.name: r for r in settings.webhook_receivers}

    def prepare(self, session: Session, row: OutboxMessage) -> Outgoing:
        if "id" not in (row.payload or {}) or "body" not in (row.payload or {}):
            raise ValueError("événement sans identifiant ni contenu")
        return snapshot(row)

    @contextmanager
    def open(self) -> Iterator[EventChannel]:
        with requests.Session() as http:
            yield EventChannel(self.receivers, http)


def event_transport(app: Flask) -> EventTransport | None:
    settings: Settings = app.config["IVR_SETTINGS"]
    return EventTransport(settings) if settings.webhook_receivers else None


register("event", event_transport)
