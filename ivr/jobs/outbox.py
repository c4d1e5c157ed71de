"""The outbox's delivery: claim due messages, hand them to their transport, settle them.

Each batch is claimed (one conditional UPDATE, committed), sent over one
connection of its kind's transport outside any transaction, and each
message is settled in its own short transaction as soon as it left or
failed: a scheduler stopped mid-batch re-sends at most the one message it
was sending (see `callbook.outbox.store` for the at-least-once contract).
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from dataclasses import dataclass, field

from flask import Flask

from callbook.db import session_scope
from callbook.outbox import store
from ivr.notify.transports import DeliveryError, Outgoing, Transport, registered
from ivr.settings import Settings
from schedules import clock

log = logging.getLogger("ivr.outbox")  # a stable name for log filters

BATCH = 100
"""Messages claimed (and sent over one connection) at a time."""


@dataclass(frozen=True)
class _Claimed:
    token: str
    message_id: int
    message: Outgoing | None
    error: str = ""
    """Why the message could not be built (then `message` is None)."""


@dataclass
class DeliveryReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    released: int = 0
    off: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:  # the scheduler logs a run only when there was work
        return bool(self.sent or self.retried or self.failed or self.released)

    def __str__(self) -> str:
        text = f"{self.sent} sent, {self.retried} to retry, {self.failed} failed"
        return text + (f", {self.released} released from a stopped scheduler" * bool(self.released))


class Deliverer:
    def __init__(self, app: Flask, *, worker: str | None = None, batch: int = BATCH) -> None:
        self.app = app
        self.settings: Settings = app.config["IVR_SETTINGS"]
        self.worker = worker or f"{socket.gethostname()}:{os.getpid()}"
        self.batch = batch

    def run_once(self, limit: int = 5000) -> DeliveryReport:
        """Deliver up to `limit` due messages of every kind whose transport is on."""
        report = DeliveryReport()
        with session_scope(self.app) as session:
            report.released = store.release_stale(session, clock.now())
        if report.released:
            log.warning("%s message(s) left by a stopped scheduler re-queued", report.released)
        for kind, factory in sorted(registered().items()):
            transport = factory(self.app)
            if transport is None:
                report.off.append(kind)
                continue
            done = 0
            while done < limit:
                claimed = self._claim(transport)
                if not claimed:
                    break
                done += len(claimed)
                self._deliver(transport, claimed, report)
        return report

    def _claim(self, transport: Transport) -> list[_Claimed]:
        """One claimed batch, each message built (or why it cannot be)."""
        token = f"{self.worker}:{uuid.uuid4().hex[:12]}"[-64:]
        with session_scope(self.app) as session:
            rows = store.claim_due(
                session, token, clock.now(), kinds=[transport.kind], limit=self.batch
            )
            claimed: list[_Claimed] = []
            for row in rows:
                try:
                    claimed.append(_Claimed(token, row.id, transport.prepare(session, row)))
                except Exception as exc:  # a broken template fails its message, not the batch
                    log.exception("outbox message %s cannot be built", row.id)
                    error = f"message impossible à construire : {exc}"
                    claimed.append(_Claimed(token, row.id, None, error))
        return claimed

    def _deliver(
        self, transport: Transport, claimed: list[_Claimed], report: DeliveryReport
    ) -> None:
        pending: list[tuple[str, Outgoing]] = []
        for item in claimed:
            if item.message is None:
                error = DeliveryError(item.error, permanent=True)
                self._settle(item.message_id, item.token, error, report)
            else:
                pending.append((item.token, item.message))
        if not pending:
            return
        left = list(pending)
        try:
            with transport.open() as channel:
                while left:
                    token, message = left[0]
                    try:
                        channel.send(message)
                    except DeliveryError as exc:
                        self._settle(message.id, token, exc, report)
                    else:
                        self._settle(message.id, token, None, report)
                    left.pop(0)
        except DeliveryError as exc:  # no connection: every message left waits
            log.warning("%s transport unavailable: %s", transport.kind, exc)
            for token, message in left:
                self._settle(message.id, token, exc, report)

    def _settle(
        self, message_id: int, token: str, error: DeliveryError | None, report: DeliveryReport
    ) -> None:
        with session_scope(self.app) as session:
            now = clock.now()
            if error is None:
                store.mark_sent(session, message_id, token, now)
                report.sent += 1
                return
            status = store.attempt_failed(
                session, message_id, token, str(error), now,
                max_attempts=self.settings.outbox_max_attempts, permanent=error.permanent,
            )  # fmt: skip
        if status == "failed":
            report.failed += 1
            log.warning("outbox message %s failed: %s", message_id, error)
        else:
            report.retried += 1
