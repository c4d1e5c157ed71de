"""Twilio's word on calls the book cannot settle: legs in doubt, calls never closed.

The call book only knows a call ended when Twilio's final status callback
comes. When it was lost, Twilio's REST API still knows: a step that dials
asks it whether a doubtful call still goes on (`ivr.voice.busy`), and the
sweep closes stale calls with the status it reports (`ivr.jobs.sweep`).
Without Twilio credentials (the demo) nothing is asked and the bounded rules
of the book apply alone.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from flask import Flask

from callbook.calls import FINAL_STATUSES
from ivr.settings import Settings
from ivr.twilio_adapter import TwilioGateway, TwilioUnavailable

log = logging.getLogger(__name__)

GATEWAY = "ivr.status_gateway"
"""`app.extensions` key of the gateway factory (`TwilioGateway`; tests give it their
network edge)."""
WEBHOOK_STATUSES = "ivr.webhook_statuses"
WEBHOOK_TIMEOUT = 1.0
"""Seconds a webhook waits for Twilio to connect, then to answer: a caller is on the line."""
QUIET_AFTER_FAILURE = 30.0
"""Seconds nothing is asked after Twilio failed: every dialling webhook would wait again."""
REMEMBERED = 1000
"""Final statuses kept per process (a final status never changes)."""

GatewayFactory = Callable[..., TwilioGateway]


class CallStatuses:
    """Twilio's status of calls, asked one at a time; final ones remembered.

    `status` answers None when Twilio cannot tell: not configured, failed, or
    failed less than `quiet` seconds ago. Safe to share between threads.
    """

    def __init__(
        self,
        gateway: TwilioGateway | None,
        *,
        quiet: float = QUIET_AFTER_FAILURE,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._gateway = gateway
        self._quiet = quiet
        self._monotonic = monotonic
        self._final: dict[str, str] = {}
        self._failed_at: float | None = None
        self._lock = threading.Lock()

    def status(self, call_sid: str) -> str | None:
        known = self._final.get(call_sid)
        if known is not None:
            return known
        if self._gateway is None or self._quiet_now():
            return None
        try:
            status = self._gateway.call_status(call_sid)
        except TwilioUnavailable as exc:
            log.warning("status of call %s not known from Twilio: %s", call_sid, exc)
            self._failed_at = self._monotonic()
            return None
        if status in FINAL_STATUSES:
            with self._lock:
                if len(self._final) >= REMEMBERED:
                    self._final.clear()
                self._final[call_sid] = status
        return status

    def _quiet_now(self) -> bool:
        failed_at = self._failed_at
        return failed_at is not None and self._monotonic() - failed_at < self._quiet


def status_gateway(app: Flask, **options: object) -> TwilioGateway | None:
    """A gateway that only reads statuses; None without Twilio credentials."""
    factory: GatewayFactory = app.extensions.get(GATEWAY, TwilioGateway)
    settings: Settings = app.config["IVR_SETTINGS"]
    try:
        return factory(settings, outbound=False, **options)
    except TwilioUnavailable:
        return None


def webhook_statuses(app: Flask) -> CallStatuses:
    """The app's statuses for webhooks: one short try, no backoff, built once."""
    statuses: CallStatuses | None = app.extensions.get(WEBHOOK_STATUSES)
    if statuses is None:
        gateway = status_gateway(app, timeout=WEBHOOK_TIMEOUT, tries=1)
        statuses = app.extensions[WEBHOOK_STATUSES] = CallStatuses(gateway)
    return statuses
