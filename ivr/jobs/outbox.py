"""The outbox's delivery: claim due messages, hand them to their transport, settle them.

Each batch is claimed (one conditional UPDATE, committed), sent over one
connection of its kind's transport outside any transaction, and settled
every `SETTLE_EVERY` messages in one short transaction: a scheduler stopped
mid-batch sends at most those again, once (see `callbook.outbox.store` for
the at-least-once contract). One transaction per message cost 3 to 30 ms
each on a busy machine (bench/bench_outbox.py).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import Flask

from callbook.db import session_scope
from callbook.outbox import store
from ivr.notify.transports import DeliveryError, Outgoing, Transport, registered
from ivr.settings import Settings
from schedules import clock

log = logging.getLogger("ivr.outbox")  # a stable name for log filters

BATCH = 100
"""Messages claimed (and sent over one connection) at a time."""
PURGE_EVERY = timedelta(hours=1)
"""How often settled messages past IVR_RETENTION_DAYS are deleted."""
CONNECTIONS = 4
"""Batches sent at the same time, each over its own connection."""
SETTLE_EVERY = 20
"""Outcomes written together: a scheduler killed mid-batch sends at most these again."""

_Outcome = tuple[int, str, DeliveryError | None]
"""(message id, claim token, why it did not leave; None: sent)."""


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
    purged: int = 0
    off: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:  # the scheduler logs a run only when there was work
        return bool(self.sent or self.retried or self.failed or self.released or self.purged)

    def __str__(self) -> str:
        text = f"{self.sent} sent, {self.retried} to retry, {self.failed} failed"
        if self.released:
            text += f", {self.released} released from a stopped scheduler"
        if self.purged:
            text += f", {self.purged} past IVR_RETENTION_DAYS deleted"
        return text


class Deliverer:
    def __init__(
        self,
        app: Flask,
        *,
        worker: str | None = None,
        batch: int = BATCH,
        connections: int = CONNECTIONS,
    ) -> None:
        self.app = app
        self.settings: Settings = app.config["IVR_SETTINGS"]
        self.worker = worker or f"{socket.gethostname()}:{os.getpid()}"
        self.batch = batch
        self.connections = max(1, connections)
        self._lock = threading.Lock()
        self._purged_at: datetime | None = None

    def run_once(self, limit: int = 5000) -> DeliveryReport:
        """Deliver up to `limit` due messages of every kind whose transport is on."""
        report = DeliveryReport()
        now = clock.now()
        with session_scope(self.app) as session:
            report.released = store.release_stale(session, now)
            if self._purged_at is None or now - self._purged_at >= PURGE_EVERY:
                cutoff = now - timedelta(days=self.settings.retention_days)
                report.purged = store.purge_settled(session, cutoff)
                self._purged_at = now
        if report.released:
            log.warning("%s message(s) left by a stopped scheduler re-queued", report.released)
        for kind, factory in sorted(registered().items()):
            transport = factory(self.app)
            if transport is None:
                report.off.append(kind)
                continue
            done = 0
            while done < limit:
                batches = []
                for _ in range(self.connections):
                    claimed = self._claim(transport)
                    if not claimed:
                        break
                    batches.append(claimed)
                    done += len(claimed)
                if not batches:
                    break
                self._deliver_all(transport, batches, report)
        return report

    def _deliver_all(
        self, transport: Transport, batches: list[list[_Claimed]], report: DeliveryReport
    ) -> None:
        """Each batch over its own connection, side by side: a mail server answers each
        command after a round trip, so one connection mostly waits."""
        if len(batches) == 1:
            self._deliver(transport, batches[0], report)
            return
        with ThreadPoolExecutor(max_workers=len(batches)) as pool:
            for future in [pool.submit(self._deliver, transport, b, report) for b in batches]:
                future.result()  # no timeout: a timed wait never ends under libfaketime

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
        outcomes: list[_Outcome] = []
        left: list[tuple[str, Outgoing]] = []
        for item in claimed:
            if item.message is None:
                outcomes.append(
                    (item.message_id, item.token, DeliveryError(item.error, permanent=True))
                )
            else:
                left.append((item.token, item.message))
        try:
            if left:
                self._send(transport, left, outcomes, report)
        finally:
            self._settle(outcomes, report)

    def _send(
        self,
        transport: Transport,
        left: list[tuple[str, Outgoing]],
        outcomes: list[_Outcome],
        report: DeliveryReport,
    ) -> None:
        try:
            with transport.open() as channel:
                while left:
                    token, message = left[0]
                    try:
                        channel.send(message)
                    except DeliveryError as exc:
                        outcomes.append((message.id, token, exc))
                    else:
                        outcomes.append((message.id, token, None))
                    left.pop(0)
                    if len(outcomes) >= SETTLE_EVERY:
                        self._settle(outcomes, report)
        except DeliveryError as exc:  # no connection: every message left waits
            log.warning("%s transport unavailable: %s", transport.kind, exc)
            outcomes.extend((message.id, token, exc) for token, message in left)

    def _settle(self, outcomes: list[_Outcome], report: DeliveryReport) -> None:
        """Write the outcomes in one transaction, then forget them."""
        if not outcomes:
            return
        failed: list[tuple[int, DeliveryError]] = []
        with self._lock, session_scope(self.app) as session:
            now = clock.now()
            sent: dict[str, list[int]] = {}
            for message_id, token, error in outcomes:
                if error is None:
                    sent.setdefault(token, []).append(message_id)
                    continue
                status = store.attempt_failed(
                    session, message_id, token, str(error), now,
                    max_attempts=self.settings.outbox_max_attempts, permanent=error.permanent,
                )  # fmt: skip
                if status == "failed":
                    failed.append((message_id, error))
                else:
                    report.retried += 1
            for token, ids in sent.items():
                report.sent += store.mark_sent(session, ids, token, now)
        report.failed += len(failed)
        for message_id, error in failed:
            log.warning("outbox message %s failed: %s", message_id, error)
        outcomes.clear()
