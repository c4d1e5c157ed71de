"""Running a voice webhook: a step of the call's flow, or a status-type callback.

A step (`run`): the call's row is read (`callbook.calls.find_call`), the
flow's step handler decides on the form (`_decide`), the call book writes
the typed record of the step (`callbook.calls.steps.save_step`), and the
step's TwiML is the answer. A status-type callback (`record`): the call book
writes its report (`callbook.calls.statuses`), and 204 is the answer.

Both write through `ivr.voice.outage.on_book` (the retry, the spool). With
the database down or locked, a callback's report goes to the spool
(`ivr.voice.spool`), and a step runs on the last known configuration with
its record spooled (`_in_spool`); when even that fails, the caller still
gets useful TwiML (`fallback.degraded_twiml`).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
from collections.abc import Callable, Container
from contextlib import AbstractContextManager
from datetime import datetime

from flask import Response, current_app, g, request
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from callbook import calls
from callbook.calls import CallFacts, CallRow
from callbook.calls import statuses as call_callbacks
from callbook.calls import steps as call_steps
from callbook.calls.steps import StepRecord
from callbook.tickets import transcripts
from callbook.tickets.transcripts import TranscriptReport
from ivr.config import ConfigDocument
from ivr.flows.state import TRANSCRIPTION_EVENTS, CallState, Step
from ivr.flows.voicemail import CallbackSink, VoicemailSink
from ivr.notify import events
from ivr.runtime import current_config, last_known, last_known_config
from ivr.twilio_adapter import webhook_url
from ivr.voice import aftercall
from ivr.voice.busy import numbers_in_use
from ivr.voice.fallback import degraded_twiml
from ivr.voice.forms import VoiceForm
from ivr.voice.outage import on_book
from ivr.voice.spool import spool_of
from schedules import clock

log = logging.getLogger(__name__)

StepHandler = Callable[[CallState, ConfigDocument, datetime, Container[str], VoiceForm], Step]


def run(
    form: VoiceForm,
    call: CallFacts,
    handler: StepHandler,
    *,
    writes: bool = False,
    first: bool = False,
) -> Response:
    """One step of `call`: read it, run the flow on `form`, write what it records, answer.

    The flow runs before the write transaction opens (on SQLite that is the
    database's one write lock, shared by every worker), unless the step
    `writes` more than its own record (voicemail tickets, callbacks): then
    the whole step is one unit of work. The `first` step of a call (the
    incoming webhook) is written without reading the call first, and run
    again on the book's row in the rare case one is there already.
    """
    now = clock.now()

    def in_book() -> Response:
        return _twiml(_in_book(form, call, handler, now, writes=writes, first=first))

    def refused() -> Response:
        log.exception("voice step failed on %s for %s; answering degraded TwiML",
                      request.path, call.call_sid)  # fmt: skip
        return _degraded(call, now)

    answer = on_book(call.call_sid, in_book, refused, (SQLAlchemyError, OSError, LookupError))
    if answer is not None:
        return answer
    return _in_spool(form, call, handler, now, g.pop("voice_state", None))


def record(report: call_callbacks.Report | TranscriptReport) -> Response:
    """A status-type callback: its report written (or spooled); 204, unknown CallSids too."""
    now = clock.now()
    sid = report.call.call_sid

    def in_book() -> Response:
        _write_report(report, now)
        return Response(status=204)

    def refused() -> Response:
        log.exception("%s callback of %s refused by the database", report.kind, sid)
        return Response(f"{report.kind} callback not recorded\n", 400, mimetype="text/plain")

    answer = on_book(sid, in_book, refused, (SQLAlchemyError,))
    if answer is not None:
        return answer
    try:
        spool_of().write_report(report, now)
    except OSError:
        log.exception("%s callback of %s lost: the spool cannot be written", report.kind, sid)
    return Response(status=204)


# -- on the call book -------------------------------------------------------------------


def _in_book(
    form: VoiceForm,
    call: CallFacts,
    handler: StepHandler,
    now: datetime,
    *,
    writes: bool,
    first: bool,
) -> str:
    """The step on the call book; the TwiML answered (see `run`)."""
    revision, doc = current_config()
    key = _request_key()
    if writes:
        with calls.session() as session:
            g.voice_session = session  # the step's sinks write on it
            try:
                write = contextlib.nullcontext(session)
                return _step_on(session, write, form, call, handler, now, key, revision, doc)
            finally:
                g.pop("voice_session", None)
    with calls.reading() as reader:
        if first:
            # A call's first webhook: no row to read yet, so none is read.
            state = g.voice_state = _start(call, revision, now)
            busy = BusyNumbers(reader, call.call_sid, now)
            step = _decide(handler, state, doc, now, busy, form)
            answer = call_steps.save_first_step(reader, call, step, now, key)
            if answer is not None:
                return answer
            # The call was in the book already: run the step on what it holds.
        write = calls.write_on(reader)
        return _step_on(reader, write, form, call, handler, now, key, revision, doc)


def _step_on(
    reader: Connection | Session,
    write: AbstractContextManager[Connection | Session],
    form: VoiceForm,
    call: CallFacts,
    handler: StepHandler,
    now: datetime,
    key: str,
    revision: int,
    doc: ConfigDocument,
) -> str:
    """Read the call on `reader`, run the step, write it in `write`."""
    row = calls.find_call(reader, call.call_sid)
    if row is not None and (answer := row.answer_to(key)):
        return answer  # Twilio retried this very request: the same answer again
    state = g.voice_state = _state_of(row, call, revision, now)
    step = _decide(handler, state, doc, now, BusyNumbers(reader, call.call_sid, now), form)
    with write as writer:
        return call_steps.save_step(writer, call, step, now, key, seen=row)


def _write_report(report: call_callbacks.Report | TranscriptReport, now: datetime) -> None:
    if isinstance(report, TranscriptReport):
        with calls.session() as session:
            transcripts.record_piece(session, report, now)
    elif isinstance(report, call_callbacks.StatusReport):
        with calls.writing() as writer:
            call_id = call_callbacks.record_status(writer, report, now)
            events.on_status(writer, report.status, call_id, now)
    else:
        with calls.session() as session:
            call_callbacks.record_callback(session, report, now)
            aftercall.complete_message(session, report, now)


# -- on the spool -----------------------------------------------------------------------


def _in_spool(
    form: VoiceForm, call: CallFacts, handler: StepHandler, now: datetime, state: CallState | None
) -> Response:
    """The step without the database: the last known configuration, the state of the
    call's last spooled step (or the one loaded before the database failed), and
    the step's record written to the spool for replay."""
    known = last_known()
    if known is None:
        return _degraded(call, now)
    revision, doc = known
    spool = spool_of()
    key = _request_key()
    try:
        previous = spool.latest_step(call.call_sid)
        if previous is not None and previous.get("request_key") == key:
            return _twiml(str(previous["record"]["twiml"]))
        if state is None and previous is not None:
            state = CallState.model_validate(previous["record"]["state"])
        state = state or _start(call, revision, now)
        # Who is busy on other calls is unknown: nobody is skipped.
        step = _decide(handler, state, doc, now, frozenset(), form)
        spool.write_step(call, step, now, key)
        return _twiml(step.twiml)
    except (OSError, LookupError, ValueError):
        log.exception("spooled step failed on %s for %s; answering degraded TwiML",
                      request.path, call.call_sid)  # fmt: skip
        return _degraded(call, now)


# -- the step: from the call book's records to the flow's, and back -----------------------


def _request_key() -> str:
    """Same URL and parameters = a retry of the same webhook by Twilio.

    The URL's query carries the turn of the step whose TwiML linked to it
    (`ivr.flows.state.action`): the same answer to a later question is a new
    request, not a retry.
    """
    items = sorted(request.form.items(multi=True))
    url = (request.path, request.query_string)
    digest = hashlib.sha256(repr((url, items)).encode("utf-8", "replace"))
    return digest.hexdigest()[:32]


def _state_of(row: CallRow | None, call: CallFacts, revision: int, now: datetime) -> CallState:
    """The flow state saved on the call's row, or a new call's state."""
    if row is not None and row.state:
        return CallState.model_validate(row.state)
    return _start(call, revision, now)


def _start(call: CallFacts, revision: int, now: datetime) -> CallState:
    """The state of a call the book knows nothing about yet.

    With IVR_TRANSCRIPTION on, it carries the absolute URL of the transcription
    events, which the voicemail offer gives Twilio (`ivr.flows.voicemail`).
    """
    settings = current_app.config["IVR_SETTINGS"]
    url = webhook_url(request, settings, TRANSCRIPTION_EVENTS) if settings.transcription else ""
    return CallState(
        call_sid=call.call_sid,
        caller=call.from_number,
        called=call.to_number,
        revision=revision,
        started_at=now,
        transcription_url=url,
    )


def _decide(
    handler: StepHandler,
    state: CallState,
    doc: ConfigDocument,
    now: datetime,
    busy: Container[str],
    form: VoiceForm,
) -> StepRecord:
    """The flow's step on the call's next turn, as the record the call book keeps of it."""
    step = handler(state.model_copy(update={"turn": state.turn + 1}), doc, now, busy, form)
    state = step.state
    return StepRecord(
        state=state.model_dump(mode="json"),
        events=[calls.Event(e.kind, dict(e.data)) for e in step.events],
        twiml=step.twiml,
        caller=state.caller,
        contact=state.contact,
        structure=state.structure,
        revision=state.revision or None,
        urgent=state.urgent,
        callback_at=state.callback_at,
    )


class BusyNumbers(Container[str]):
    """Numbers on another of our calls, asked of the call book only when a step dials."""

    def __init__(self, reader: Connection | Session, call_sid: str, now: datetime) -> None:
        self._reader, self._call_sid, self._now = reader, call_sid, now
        self._numbers: Container[str] | None = None

    def __contains__(self, number: object) -> bool:
        if self._numbers is None:
            self._numbers = numbers_in_use(self._reader, exclude=self._call_sid, now=self._now)
        return number in self._numbers


def _twiml(answer: str) -> Response:
    return Response(answer, 200, mimetype="text/xml")


def _degraded(call: CallFacts, now: datetime) -> Response:
    doc = last_known_config()
    return _twiml(degraded_twiml(doc, call.call_sid, call.from_number, now))


def voicemail_sink(doc: ConfigDocument, now: datetime) -> VoicemailSink:
    session: Session | None = g.get("voice_session")
    if session is None:  # a spooled step
        return spool_of().voicemail_sink(now)
    return aftercall.voicemail_sink(session, doc, now, current_app.config["IVR_SETTINGS"])


def callback_sink(doc: ConfigDocument, now: datetime) -> CallbackSink:
    session: Session | None = g.get("voice_session")
    if session is None:
        return spool_of().callback_sink(doc, now)
    return aftercall.callback_sink(session, doc, now)
