"""The scheduler's `recordings` job: delete at Twilio the recordings the purge or an erasure queued.

Each due row (`callbook.privacy.recordings`) is claimed by a conditional
UPDATE, then deleted through `TwilioGateway.delete_recording` outside any
transaction (the adapter retries 429 and 5xx answers with backoff), then
marked deleted; a recording Twilio no longer has (404) counts as deleted.
A failure keeps the error on the row and its next attempt waits longer; a
Twilio that cannot be reached ends the run (the next rows would wait as
long for nothing). Without Twilio credentials the rows wait, and the job
says why.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from flask import Flask

from callbook.db import session_scope
from callbook.privacy import recordings
from ivr.call_status import GATEWAY, GatewayFactory
from ivr.settings import Settings
from ivr.twilio_adapter import TwilioGateway, TwilioUnavailable
from schedules import clock

log = logging.getLogger(__name__)


@dataclass
class DeletionReport:
    due: int = 0
    deleted: int = 0
    already_gone: int = 0
    failed: int = 0
    waiting: int = 0
    """Recordings still to delete after this run."""
    off: str = ""
    """Why nothing was attempted (no Twilio credentials), if so."""

    def __bool__(self) -> bool:  # the scheduler logs a run only when there was work
        return self.due > 0

    def __str__(self) -> str:
        text = (
            f"{self.deleted} recordings deleted at Twilio, {self.already_gone} already gone, "
            f"{self.failed} failed; {self.waiting} waiting"
        )
        return f"{text} ({self.off})" if self.off else text


def gateway_or_reason(app: Flask) -> tuple[TwilioGateway | None, str]:
    """A gateway for REST requests that need no public URL, or why there is none."""
    factory: GatewayFactory = app.extensions.get(GATEWAY, TwilioGateway)
    settings: Settings = app.config["IVR_SETTINGS"]
    if not settings.twilio_configured:
        return None, "recordings wait: set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN"
    try:
        return factory(settings, outbound=False), ""
    except TwilioUnavailable as exc:
        return None, f"recordings wait: {exc}"


def delete_recordings(app: Flask, limit: int = 200) -> DeletionReport:
    """Delete the due recordings at Twilio, one claimed row at a time."""
    report = DeletionReport()
    with session_scope(app) as session:
        ids = recordings.due_ids(session, clock.now(), limit)
    report.due = len(ids)
    if ids:
        gateway, report.off = gateway_or_reason(app)
        if gateway is not None:
            _delete(app, gateway, ids, report)
    with session_scope(app) as session:
        report.waiting = recordings.waiting_count(session)
    return report


def _delete(app: Flask, gateway: TwilioGateway, ids: list[int], report: DeletionReport) -> None:
    for row_id in ids:
        with session_scope(app) as session:
            sid = recordings.claim(session, row_id, clock.now())
        if sid is None:
            continue  # another scheduler has it, or it is done
        try:
            existed = gateway.delete_recording(sid)
        except TwilioUnavailable as exc:
            with session_scope(app) as session:
                retry_at = recordings.mark_failed(session, row_id, str(exc), clock.now())
            report.failed += 1
            log.warning("recording %s not deleted (retried at %s): %s", sid, retry_at, exc)
            if not exc.permanent:
                return
            continue
        with session_scope(app) as session:
            recordings.mark_deleted(session, row_id, clock.now())
        if existed:
            report.deleted += 1
        else:
            report.already_gone += 1
