"""Running one voice step: on the call book, or on the spool when the database fails.

`run` reads the call, runs the flow's step handler, writes what it records
and answers its TwiML. The flow runs before the write transaction opens (on
SQLite that is the database's one write lock), unless the step writes more
than its own record (voicemail tickets, callbacks). A connection lost since
its last use is retried once on a new one (`once_more_if_lost`). With the
database down or locked, the step runs on the last known configuration and
its record goes to the spool (`ivr.voice.spool`); when even that fails, the
caller still gets useful TwiML (`fallback.degraded_twiml`).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
from collections.abc import Callable, Container
from contextlib import AbstractContextManager
from datetime import datetime
from typing import TypeVar

from flask import Response, current_app, g, request
from sqlalchemy.engine import Connection
from sqlalchemy.exc import (
    DBAPIError,
    InterfaceError,
    OperationalError,
    SQLAlchemyError,
    StatementError,
)
from sqlalchemy.orm import Session

from callbook import calls
from callbook.calls import steps as call_steps
from callbook.db import time_budget
from ivr.config import ConfigDocument
from ivr.flows.state import CallState, Step
from ivr.flows.voicemail import CallbackSink, VoicemailSink
from ivr.runtime import NoActiveConfig, current_config, last_known, last_known_config
from ivr.voice import aftercall, store
from ivr.voice.busy import numbers_in_use
from ivr.voice.fallback import degraded_twiml
from ivr.voice.forms import VoiceForm
from ivr.voice.replay import replay_if_due
from ivr.voice.spool import spool_of
from schedules import clock

log = logging.getLogger(__name__)

T = TypeVar("T")
StepHandler = Callable[[CallState, ConfigDocument, datetime, Container[str], VoiceForm], Step]


def _request_key(form: VoiceForm) -> str:
    """Same URL and parameters = a retry of the same webhook by Twilio.

    The URL's query carries the turn of the step whose TwiML linked to it
    (`ivr.flows.state.action`): the same answer to a later question is a new
    request, not a retry.
    """
    items = sorted(request.form.items(multi=True))
    url = (request.path, request.query_string)
    digest = hashlib.sha256(repr((url, items)).encode("utf-8", "replace"))
    return digest.hexdigest()[:32]


def _decide(
    handler: StepHandler,
    state: CallState,
    doc: ConfigDocument,
    now: datetime,
    busy: Container[str],
    form: VoiceForm,
) -> Step:
    """The flow's step on the call's next turn."""
    return handler(state.model_copy(update={"turn": state.turn + 1}), doc, now, busy, form)


class BusyNumbers(Container[str]):
    """Numbers on another of our calls, asked of the call book only when a step dials."""

    def __init__(self, reader: Connection | Session, call_sid: str, now: datetime) -> None:
        self._reader, self._call_sid, self._now = reader, call_sid, now
        self._numbers: Container[str] | None = None

    def __contains__(self, number: object) -> bool:
        if self._numbers is None:
            self._numbers = numbers_in_use(self._reader, exclude=self._call_sid, now=self._now)
        return number in self._numbers


def run(
    form: VoiceForm,
    handler: StepHandler,
    call_sid: str | None = None,
    *,
    writes: bool = False,
    first: bool = False,
) -> Response:
    """One step: read the call, run the flow, write what it records, answer.

    The flow runs before the write transaction opens (on SQLite that is the
    database's one write lock, shared by every worker), unless the step
    `writes` more than its own record (voicemail tickets, callbacks): then
    the whole step is one unit of work. The `first` step of a call (the
    incoming webhook) is written without reading the call first, and run
    again on the book's row in the rare case one is there already.
    """
    sid = call_sid or form.call_sid
    now = clock.now()
    spool = spool_of()
    with database_budget():
        replay_if_due(current_app._get_current_object())  # type: ignore[attr-defined]
        if not spool.bypass(sid):
            try:
                answer = _in_book(form, handler, sid, now, writes=writes, first=first)
                return Response(answer, 200, mimetype="text/xml")
            except (SQLAlchemyError, OSError, LookupError) as exc:
                if not database_outage(exc):
                    log.exception("voice step failed on %s for %s; answering degraded TwiML",
                                  request.path, sid)  # fmt: skip
                    return _degraded(sid, form.from_, now)
                log.warning("database unavailable on %s for %s: %s", request.path, sid, exc)
                spool.mark_down()
            finally:
                g.pop("voice_session", None)
    return _run_spooled(form, handler, sid, now, g.pop("voice_state", None))


def database_budget() -> AbstractContextManager[None]:
    """The voice webhook's time budget for the database (`IVR_VOICE_DB_BUDGET_SECONDS`)."""
    return time_budget(current_app.config["IVR_SETTINGS"].voice_db_budget_seconds)


def _in_book(
    form: VoiceForm, handler: StepHandler, sid: str, now: datetime, *, writes: bool, first: bool
) -> str:
    """The step on the call book; the TwiML answered (see `run`)."""
    return once_more_if_lost(
        sid, lambda: _in_book_once(form, handler, sid, now, writes=writes, first=first)
    )


def once_more_if_lost(sid: str, write: Callable[[], T]) -> T:
    """`write()`, run once more when its pooled connection broke since its last use.

    The database restarted: the statement fails with `connection_invalidated`,
    the pool has dropped that connection and every older one, and the second
    run gets a new one. Whatever the first run may have committed is found
    again (request keys, idempotent callbacks), so nothing is written twice.
    """
    try:
        return write()
    except DBAPIError as exc:
        if not exc.connection_invalidated:
            raise
        log.warning("connection lost on %s for %s; trying again", request.path, sid)
        return write()


def _in_book_once(
    form: VoiceForm, handler: StepHandler, sid: str, now: datetime, *, writes: bool, first: bool
) -> str:
    revision, doc = current_config()
    key = _request_key(form)
    if writes:
        with calls.session() as session:
            g.voice_session = session
            write = contextlib.nullcontext(session)
            return _step_on(session, write, form, handler, sid, now, key, revision, doc)
    with calls.reading() as reader:
        if first:
            # A call's first webhook: no row to read yet, so none is read.
            state = g.voice_state = store.start(form, sid, revision, now)
            record = store.record(
                _decide(handler, state, doc, now, BusyNumbers(reader, sid, now), form)
            )
            answer = call_steps.save_first_step(reader, form, sid, record, now, key)
            if answer is not None:
                return answer
            # The call was in the book already: run the step on what it holds.
        write = calls.write_on(reader)
        return _step_on(reader, write, form, handler, sid, now, key, revision, doc)


def _step_on(
    reader: Connection | Session,
    write: AbstractContextManager[Connection | Session],
    form: VoiceForm,
    handler: StepHandler,
    sid: str,
    now: datetime,
    key: str,
    revision: int,
    doc: ConfigDocument,
) -> str:
    """Read the call on `reader`, run the step, write it in `write`."""
    call = calls.find_call(reader, sid)
    if call is not None and (answer := call.answer_to(key)):
        return answer  # Twilio retried this very request: the same answer again
    state = g.voice_state = store.state_of(call, form, sid, revision, now)
    record = store.record(_decide(handler, state, doc, now, BusyNumbers(reader, sid, now), form))
    with write as writer:
        return call_steps.save_step(writer, form, sid, record, now, key, seen=call)


def database_outage(exc: BaseException) -> bool:
    """True when `exc` says the database is unreachable or locked, not that a value was bad.

    A value the database refuses (too long, a constraint) is a defect of this
    request alone: the next calls must not go to the spool because of it.
    """
    if isinstance(exc, NoActiveConfig):  # the first load of this worker failed
        return database_outage(exc.__cause__) if exc.__cause__ is not None else False
    if isinstance(exc, DBAPIError):
        return exc.connection_invalidated or isinstance(exc, OperationalError | InterfaceError)
    return isinstance(exc, SQLAlchemyError) and not isinstance(exc, StatementError)


def _run_spooled(
    form: VoiceForm, handler: StepHandler, sid: str, now: datetime, state: CallState | None
) -> Response:
    """The step without the database: the last known configuration, the state of the
    call's last spooled step (or the one loaded before the database failed), and
    whatever it records written to the spool for replay."""
    known = last_known()
    if known is None:
        return _degraded(sid, form.from_, now)
    revision, doc = known
    spool = spool_of()
    key = _request_key(form)
    try:
        previous = spool.latest_step(sid)
        if previous is not None and previous.get("request_key") == key:
            return Response(str(previous["record"]["twiml"]), 200, mimetype="text/xml")
        if state is None and previous is not None:
            state = CallState.model_validate(previous["record"]["state"])
        state = state or store.start(form, sid, revision, now)
        # Who is busy on other calls is unknown: nobody is skipped.
        step = _decide(handler, state, doc, now, frozenset(), form)
        spool.write_step(sid, form, store.record_data(step), now, key)
        return Response(step.twiml, 200, mimetype="text/xml")
    except (OSError, LookupError, ValueError):
        log.exception("spooled step failed on %s for %s; answering degraded TwiML",
                      request.path, sid)  # fmt: skip
        return _degraded(sid, form.from_, now)


def _degraded(sid: str, caller: str, now: datetime) -> Response:
    return Response(degraded_twiml(last_known_config(), sid, caller, now), 200, mimetype="text/xml")


def voicemail_sink(doc: ConfigDocument, now: datetime) -> VoicemailSink:
    session: Session | None = g.get("voice_session")
    if session is None:  # a spooled step
        return spool_of().voicemail_sink(now)
    return aftercall.voicemail_sink(session, doc, now)


def callback_sink(doc: ConfigDocument, now: datetime) -> CallbackSink:
    session: Session | None = g.get("voice_session")
    if session is None:
        return spool_of().callback_sink(doc, now)
    return aftercall.callback_sink(session, doc, now)
