"""SMS through Twilio's REST API (`ivr.twilio_adapter`): payload {"body": "..."}.

Sent from the service's outgoing number (the active configuration), to the
row's recipient (an E.164 number). Off while Twilio is not configured: the
messages wait in the outbox.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask
from sqlalchemy.orm import Session

from callbook.outbox import OutboxMessage
from ivr.call_status import GATEWAY, GatewayFactory
from ivr.notify.transports import DeliveryError, Outgoing, register, snapshot
from ivr.runtime import active_config
from ivr.settings import Settings
from ivr.twilio_adapter import TwilioGateway, TwilioUnavailable


class SmsChannel:
    def __init__(self, gateway: TwilioGateway, sender: str) -> None:
        self.gateway = gateway
        self.sender = sender

    def send(self, message: Outgoing) -> None:
        body = str(message.payload.get("body", "")).strip()
        if not body:
            raise DeliveryError("SMS sans texte", permanent=True)
        try:
            self.gateway.sms(to=message.recipient, from_=self.sender, body=body[:1600])
        except TwilioUnavailable as exc:
            raise DeliveryError(str(exc), permanent=exc.permanent) from exc


class SmsTransport:
    kind = "sms"

    def __init__(self, app: Flask) -> None:
        self.app = app

    def prepare(self, session: Session, row: OutboxMessage) -> Outgoing:
        return snapshot(row)

    @contextmanager
    def open(self) -> Iterator[SmsChannel]:
        settings: Settings = self.app.config["IVR_SETTINGS"]
        factory: GatewayFactory = self.app.extensions.get(GATEWAY, TwilioGateway)
        try:
            # One try per message: the outbox retries with its own backoff.
            gateway = factory(settings, outbound=False, tries=1)
        except TwilioUnavailable as exc:
            raise DeliveryError(str(exc)) from exc
        _, doc = active_config(self.app).get()
        yield SmsChannel(gateway, doc.service.outgoing_caller_id)


def sms_transport(app: Flask) -> SmsTransport | None:
    settings: Settings = app.config["IVR_SETTINGS"]
    return SmsTransport(app) if settings.twilio_configured else None


register("sms", sms_transport)
