"""Replaying the spool into the call book once the database answers again.

Entries are written oldest first, one transaction each, and each file is
deleted once its transaction committed. Replaying an entry twice (a crash
between the commit and the deletion) records nothing twice: a step's events
carry its spool id and a step already in the book is skipped; status and
recording callbacks, tickets (by RecordingSid) and callbacks (one per call)
are idempotent. An entry that cannot be read or applied is set aside in
`spool/rejected/` with an error in the log, and replay goes on.

Replay runs at the start of a webhook when entries wait and the database is
not in its cool-down (`replay_if_due`), and as the scheduler's `replay` job.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from flask import Flask, current_app, has_app_context
from sqlalchemy import select
from sqlalchemy.exc import DataError, IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from callbook import calls
from callbook.calls import CallFacts, Event
from callbook.calls import statuses as call_callbacks
from callbook.calls import steps as call_steps
from callbook.calls.statuses import RecordingReport, Report, StatusReport, TranscriptionReport
from callbook.calls.steps import StepRecord
from callbook.db import budget_half_spent, session_scope
from callbook.tickets import Callback, Ticket, transcripts
from callbook.tickets.transcripts import TranscriptReport
from ivr.config import ConfigDocument
from ivr.flows.state import CallState
from ivr.flows.voicemail import Recording
from ivr.notify import events
from ivr.runtime import NoActiveConfig, active_config
from ivr.voice import aftercall
from ivr.voice.forms import (
    VoiceForm,
    call_facts,
    recording_report,
    status_report,
    transcription_report,
)
from ivr.voice.spool import Spool, spool_of

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ReplayReport:
    replayed: int = 0
    rejected: int = 0
    left: int = 0
    busy: bool = False
    error: str = ""

    def __bool__(self) -> bool:  # the scheduler logs only reports that say something
        return bool(self.replayed or self.rejected or self.left or self.error)


class _Unusable(ValueError):
    """The entry can never be applied (unreadable, unknown kind, invalid content)."""


def replay(app: Flask, spool: Spool | None = None) -> ReplayReport:
    """Write every pending entry into the call book; stops at the first database error."""
    spool = spool or spool_of(app)
    with spool.exclusive() as mine:
        if not mine:
            return ReplayReport(busy=True, left=len(spool.pending()))
        replayed = rejected = 0
        for path in spool.pending():
            if budget_half_spent():  # a webhook's replay: its own step goes first
                return ReplayReport(replayed, rejected, left=len(spool.pending()))
            try:
                entry = _read(path)
                doc = active_config(app).get()[1] if entry["kind"] in _NEEDS_CONFIG else None
                with session_scope(app) as session:
                    _APPLY[entry["kind"]](session, doc, entry)
            except (IntegrityError, DataError, _Unusable, ValueError, KeyError, TypeError) as exc:
                # This entry will never go in as it is; the next ones may.
                spool.reject(path, f"{type(exc).__name__}: {exc}")
                rejected += 1
                continue
            except (SQLAlchemyError, NoActiveConfig) as exc:
                # The database is unreachable, locked or behind: try again later.
                spool.mark_down()
                left = len(spool.pending())
                log.warning("spool replay stopped, %s entries left: %s", left, exc)
                return ReplayReport(replayed, rejected, left, error=str(exc).splitlines()[0])
            path.unlink()
            spool.sync_folder()
            replayed += 1
    spool.mark_up()
    if replayed:
        log.info("spool replayed: %s entries written to the call book", replayed)
    return ReplayReport(replayed, rejected)


def replay_if_due(app: Flask) -> ReplayReport | None:
    """At the start of a webhook: replay when entries wait and no failure is recent.

    Never raises; a failure starts the cool-down, so an unreachable database
    costs one attempt per `RETRY_SECONDS`, not one per request.
    """
    spool = spool_of(app)
    try:
        if spool.database_down() or not spool.has_pending():
            return None
        return replay(app, spool)
    except Exception:  # a webhook must answer whatever happens here
        log.exception("spool replay failed")
        spool.mark_down()
        return None


def _read(path: Path) -> dict[str, Any]:
    try:
        entry = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _Unusable(f"unreadable: {exc}") from exc
    if not isinstance(entry, dict) or entry.get("kind") not in _APPLY:
        raise _Unusable("not a spool entry")
    return entry


def _at(entry: dict[str, Any]) -> datetime:
    at = datetime.fromisoformat(str(entry["at"]))
    if at.tzinfo is None:
        raise _Unusable("naive time")
    return at


def _config(doc: ConfigDocument | None) -> ConfigDocument:
    if doc is None:  # pragma: no cover - replay passes one for these kinds
        raise _Unusable("no configuration")
    return doc


def _step(session: Session, _doc: ConfigDocument | None, entry: dict[str, Any]) -> None:
    sid = str(entry["call_sid"])
    key = str(entry["request_key"])
    if calls.spooled_step_saved(session, sid, entry["id"]) or calls.replayed(session, sid, key):
        return  # replayed already, or saved directly before its commit was reported failed
    call, record = _step_of(entry)
    call_steps.save_step(session, call, record, _at(entry), key, spool_id=str(entry["id"]))


def _report(session: Session, _doc: ConfigDocument | None, entry: dict[str, Any]) -> None:
    """A status, recording-status or transcription callback."""
    report, at = _report_of(entry), _at(entry)
    if isinstance(report, StatusReport):
        call_id = call_callbacks.record_status(session, report, at)
        events.on_status(session, report.status, call_id, at)
    else:
        call_callbacks.record_callback(session, report, at)
        aftercall.complete_message(session, report, at)


def _transcript(session: Session, _doc: ConfigDocument | None, entry: dict[str, Any]) -> None:
    """A piece of a real-time transcription (kept once: replaying it again is harmless)."""
    raw = entry["report"]
    report = TranscriptReport(
        _call_of(raw["call"]), str(raw["transcription_sid"]), int(raw["sequence_id"]),
        str(raw["text"]),
    )  # fmt: skip
    transcripts.record_piece(session, report, _at(entry))


def _voicemail(session: Session, doc: ConfigDocument | None, entry: dict[str, Any]) -> None:
    state = CallState.model_validate(entry["state"])
    raw = entry["recording"]
    recording = Recording(str(raw["sid"]), str(raw["url"]), int(raw["duration"]))
    # Replayed by a webhook or the scheduler's job, both in the app context.
    settings = current_app.config["IVR_SETTINGS"] if has_app_context() else None
    aftercall.voicemail_sink(session, _config(doc), _at(entry), settings)(state, recording)


def _callback(session: Session, doc: ConfigDocument | None, entry: dict[str, Any]) -> None:
    sid = str(entry["call_sid"])
    asked = select(Callback.id).where(Callback.call_sid == sid, Callback.kind == "callback")
    if session.scalar(asked) is not None:
        return  # one callback per call: already replayed
    state = CallState.model_validate(entry["state"])
    due = datetime.fromisoformat(str(entry["due_at"]))
    ticket = state.ticket or session.scalar(
        select(Ticket.number).where(Ticket.call_sid == sid).order_by(Ticket.id.desc()).limit(1)
    )
    state = state.model_copy(update={"callback_at": due, "ticket": ticket or ""})
    aftercall.callback_sink(session, _config(doc), _at(entry))(state)


_APPLY = {
    "step": _step,
    "status": _report,
    "recording": _report,
    "transcription": _report,
    "transcript": _transcript,
    "voicemail": _voicemail,
    "callback": _callback,
}
_NEEDS_CONFIG = frozenset({"voicemail", "callback"})


# -- the typed records rebuilt from an entry's data --------------------------------------
#
# Format 1 kept Twilio's whole form in "form"; entries of that format may still
# wait in a spool at upgrade time, and the same records are rebuilt from them.


def _call_of(data: dict[str, Any]) -> CallFacts:
    return CallFacts(
        str(data["call_sid"]),
        str(data["direction"]),
        str(data["from_number"]),
        str(data["to_number"]),
    )


def _step_of(entry: dict[str, Any]) -> tuple[CallFacts, StepRecord]:
    """The call and the record of a spooled step."""
    if "form" in entry:  # format 1
        call = call_facts(VoiceForm.model_validate(entry["form"]), str(entry["call_sid"]))
    else:
        call = _call_of(entry["call"])
    raw = entry["record"]
    callback_at = raw.get("callback_at")
    return call, StepRecord(
        state=raw["state"],
        events=[Event(str(e["kind"]), dict(e["data"])) for e in raw["events"]],
        twiml=str(raw["twiml"]),
        caller=str(raw.get("caller", "")),
        contact=str(raw.get("contact", "")),
        structure=str(raw.get("structure", "")),
        revision=raw.get("revision"),
        urgent=bool(raw.get("urgent", False)),
        callback_at=datetime.fromisoformat(callback_at) if callback_at else None,
    )


_REPORTS_OF_FORMS: dict[str, Callable[[VoiceForm], Report]] = {
    "status": status_report,
    "recording": recording_report,
    "transcription": transcription_report,
}


def _report_of(entry: dict[str, Any]) -> Report:
    """The report of a spooled status, recording-status or transcription callback."""
    kind = str(entry["kind"])
    if "form" in entry:  # format 1
        return _REPORTS_OF_FORMS[kind](VoiceForm.model_validate(entry["form"]))
    raw = entry["report"]
    call = _call_of(raw["call"])
    if kind == "status":
        return StatusReport(call, str(raw["status"]), int(raw["duration"]))
    if kind == "recording":
        sid, url, status = str(raw["sid"]), str(raw["url"]), str(raw["status"])
        return RecordingReport(call, sid, url, int(raw["duration"]), status)
    return TranscriptionReport(call, str(raw["recording_sid"]), str(raw["status"]),
                               str(raw["text"]))  # fmt: skip
