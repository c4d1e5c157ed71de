"""The spool: what the call book could not take, kept on local disk until it can.

When the database is down or locked, a webhook still answers (from the
configuration this worker holds) and what it would have written is kept as
one JSON file per entry under `<instance>/spool/`: the data of the call
book's own records (a step's call and record, a callback's report), never
Twilio's form. Each file is written atomically (temporary file, fsync,
rename, fsync of the folder): a crash leaves the whole entry or nothing.
File names start with the wall-clock time in nanoseconds, so sorting them
gives the order in which they were spooled, across the workers of one
machine.

`ivr.voice.replay` writes the entries into the call book and deletes them.
While a call has entries here, its next steps are spooled too, so its
events reach the book in the order they happened.
"""

from __future__ import annotations

import contextlib
import fcntl
import itertools
import json
import logging
import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any

from flask import Flask, current_app

from callbook.calls import CallFacts
from callbook.calls.statuses import Report
from callbook.calls.steps import StepRecord
from callbook.tickets.transcripts import TranscriptReport
from ivr.config import ConfigDocument
from ivr.flows.state import CallState
from ivr.flows.voicemail import CallbackSink, Recording, VoicemailSink
from ivr.voice import aftercall
from ivr.voice.forms import CALL_SID

log = logging.getLogger(__name__)

EXTENSION = "ivr.spool"
FOLDER = "spool"
REJECTED = "rejected"
RETRY_SECONDS = 5.0
"""After a database failure, webhooks skip the database (and replay waits) this long."""

FORMAT = 2
_counter = itertools.count()


class Spool:
    """The spool folder of one instance, and what this worker knows of the database.

    `mark_down` starts a cool-down of `retry_seconds` during which webhooks
    go straight to the spool instead of waiting for a dead or locked
    database on every request; `monotonic` is injectable for tests.
    """

    def __init__(
        self,
        directory: Path,
        *,
        retry_seconds: float = RETRY_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.directory = directory
        self.retry_seconds = retry_seconds
        self.monotonic = monotonic
        self._down_until: float | None = None
        self._lock = threading.Lock()

    # -- the database as this worker last saw it -------------------------------

    def mark_down(self) -> None:
        with self._lock:
            self._down_until = self.monotonic() + self.retry_seconds

    def mark_up(self) -> None:
        with self._lock:
            self._down_until = None

    def database_down(self) -> bool:
        """True during the cool-down that follows a database failure."""
        until = self._down_until
        return until is not None and self.monotonic() < until

    def bypass(self, call_sid: str) -> bool:
        """Spool this request: the database is down, or the call already has entries here."""
        return self.database_down() or self.holds(call_sid)

    # -- writing -----------------------------------------------------------------

    def write(self, kind: str, call_sid: str, at: datetime, payload: dict[str, Any]) -> str:
        """Store one entry durably; returns its id (the file name without `.json`)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        sid = call_sid if re.match(CALL_SID, call_sid) else "unknown"
        spool_id = f"{time.time_ns():020d}-{os.getpid()}-{next(_counter):06d}-{kind}-{sid}"
        entry = {
            "format": FORMAT,
            "id": spool_id,
            "kind": kind,
            "call_sid": call_sid,
            "at": at.isoformat(),
            **payload,
        }
        data = json.dumps(entry, ensure_ascii=False).encode("utf-8")
        temporary = self.directory / f".{spool_id}.tmp"
        with temporary.open("xb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, self.directory / f"{spool_id}.json")
        self.sync_folder()
        log.info("%s of %s spooled as %s", kind, call_sid, spool_id)
        return spool_id

    def sync_folder(self) -> None:
        """fsync the folder itself, so a created, renamed or deleted name survives a crash."""
        fd = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def write_step(self, call: CallFacts, record: StepRecord, at: datetime, key: str) -> str:
        payload = {"call": asdict(call), "record": _record_data(record), "request_key": key}
        return self.write("step", call.call_sid, at, payload)

    def write_report(self, report: Report | TranscriptReport, at: datetime) -> str:
        """A status, recording-status or transcription callback, or a transcript's piece."""
        return self.write(report.kind, report.call.call_sid, at, {"report": asdict(report)})

    # -- reading -------------------------------------------------------------------

    def pending(self) -> list[Path]:
        """The entries waiting for the database, oldest first."""
        if not self.directory.is_dir():
            return []
        return sorted(self.directory.glob("*.json"))

    def has_pending(self) -> bool:
        if not self.directory.is_dir():
            return False
        with os.scandir(self.directory) as entries:
            return any(e.name.endswith(".json") for e in entries)

    def holds(self, call_sid: str) -> bool:
        """True while entries of this call wait here."""
        if not re.match(CALL_SID, call_sid) or not self.directory.is_dir():
            return False
        return any(self.directory.glob(f"*-{call_sid}.json"))

    def latest_step(self, call_sid: str) -> dict[str, Any] | None:
        """The last step spooled for this call (its state, answer and request key)."""
        if not re.match(CALL_SID, call_sid) or not self.directory.is_dir():
            return None
        for path in sorted(self.directory.glob(f"*-step-{call_sid}.json"), reverse=True):
            with contextlib.suppress(OSError, ValueError):  # replayed meanwhile, or unreadable
                entry: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
                return entry
        return None

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[bool]:
        """Hold the replay lock of this folder if free: one replayer per machine."""
        self.directory.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.directory / ".replay.lock", os.O_CREAT | os.O_RDWR, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            yield True
        finally:
            os.close(fd)  # closing releases the lock

    def reject(self, path: Path, reason: str) -> None:
        """Set an entry that cannot be replayed aside (kept, never deleted), and say so."""
        folder = self.directory / REJECTED
        folder.mkdir(exist_ok=True)
        os.replace(path, folder / path.name)
        self.sync_folder()
        log.error("spool entry %s set aside in %s: %s", path.name, folder, reason)

    def status(self) -> dict[str, Any]:
        rejected = self.directory / REJECTED
        return {
            "pending": len(self.pending()),
            "rejected": len(list(rejected.glob("*.json"))) if rejected.is_dir() else 0,
            "database": "down" if self.database_down() else "up",
        }

    # -- the sinks of a spooled step ---------------------------------------------------

    def voicemail_sink(self, now: datetime) -> VoicemailSink:
        """Keep the recording; its ticket is opened at replay (no number to say now)."""

        def sink(state: CallState, recording: Recording) -> str | None:
            payload = {
                "state": state.model_dump(mode="json"),
                "recording": {"sid": recording.sid, "url": recording.url,
                              "duration": recording.duration},
            }  # fmt: skip
            self.write("voicemail", state.call_sid, now, payload)
            return None

        return sink

    def callback_sink(self, doc: ConfigDocument, now: datetime) -> CallbackSink:
        """Say when the callback will be (pure calendar rules); schedule it at replay."""

        def sink(state: CallState) -> datetime | None:
            if not state.caller.startswith("+"):
                return None  # a withheld number cannot be called back
            _, calendar, _ = aftercall.answering_side(doc, state)
            due = calendar.next_opening(now)
            if due is None:
                return None
            payload = {"state": state.model_dump(mode="json"), "due_at": due.isoformat()}
            self.write("callback", state.call_sid, now, payload)
            return due

        return sink


def _record_data(record: StepRecord) -> dict[str, Any]:
    """A step's record as the JSON data of its entry (`ivr.voice.replay` reads it back)."""
    return {
        "state": record.state,
        "events": [{"kind": e.kind, "data": e.data} for e in record.events],
        "twiml": record.twiml,
        "caller": record.caller,
        "contact": record.contact,
        "structure": record.structure,
        "revision": record.revision,
        "urgent": record.urgent,
        "callback_at": record.callback_at.isoformat() if record.callback_at else None,
    }


def init_app(app: Flask) -> Spool:
    spool = Spool(Path(app.instance_path) / FOLDER)
    app.extensions[EXTENSION] = spool
    return spool


def spool_of(app: Flask | None = None) -> Spool:
    return (app or current_app).extensions[EXTENSION]  # type: ignore[no-any-return]
