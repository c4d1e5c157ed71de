"""The /voice/queue/* webhooks: a caller's wait in the team's Twilio queue, a member's leg.

- `wait` (the Enqueue waitUrl, asked again and again): the place and the wait
  said, or <Leave> at closing time or past the longest wait. The queue entry
  is written on its first request.
- `hold` (the wait's <Gather> action): virtual hold, a callback keeping the place.
- `done` (the Enqueue action): the outcome of the wait, then what follows
  (voicemail with a callback offer; a missed call's SMS and callback).
- `connected` (the Queue url, on the caller's leg as a member dequeues it).
- `agent`, `agent-status`: the member's leg placed by `ivr.voice.members`.
`hold` and `done` are steps of the caller's call (`ivr.voice.steps.run`); the
others touch only the queue's rows, so the wait URL stays cheap.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Container
from datetime import datetime

from flask import Blueprint, Response, current_app, g, request
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from twilio.twiml.voice_response import Dial, VoiceResponse

from callbook import calls
from callbook.calls import FINAL_STATUSES
from callbook.db import read_connection, session_scope
from callbook.queue import waiting as waits
from callbook.queue.claims import release
from ivr.config import ConfigDocument
from ivr.flows import queue
from ivr.flows.speech import say, spoken_digits
from ivr.flows.state import QUEUE_CONNECTED, CallState, Event, Step, twiml_text
from ivr.runtime import current_config, last_known_config
from ivr.voice import members, queue_book, steps
from ivr.voice.forms import CALL_SID, VoiceForm, call_facts
from ivr.voice.routes import parse_form, verify_signature
from schedules import clock

log = logging.getLogger(__name__)

bp = Blueprint("queue", __name__, url_prefix="/voice/queue")
bp.before_request(verify_signature)


def _team() -> Response | None:
    if request.args.get("team", queue.TEAM) != queue.TEAM:
        return Response("unknown team\n", 400, mimetype="text/plain")
    return None


def _twiml(text: str) -> Response:
    return Response(text, 200, mimetype="text/xml")


def _config() -> ConfigDocument | None:
    try:
        return current_config()[1]
    except (LookupError, SQLAlchemyError):
        return last_known_config()


@bp.post("/wait")
def wait() -> Response:
    form = parse_form()
    if isinstance(form, Response):
        return form
    if (refused := _team()) is not None:
        return refused
    now = clock.now()
    doc = _config()
    if doc is None:
        return _twiml(twiml_text(VoiceResponse()))  # Twilio plays the wait again
    waiting = queue.Waiting(form.queue_position, form.queue_time, form.avg_queue_time)
    leave = queue.leaving(doc, now, waiting)
    try:
        # Asked again and again while the caller waits: a read, and a write only to
        # begin the row (the first request) or to end it (<Leave>).
        with read_connection() as reader:
            known = waits.is_known(reader, form.call_sid)
        if not known or leave is not None:
            with session_scope() as session:
                row = queue_book.waited_row(session, form, now)
                if leave is not None:
                    waits.end(session, row, leave, now, form.queue_time)
    except SQLAlchemyError:
        # The caller still hears the place; the action URL writes the row.
        log.exception("queue wait of %s not recorded", form.call_sid)
    return _twiml(queue.wait_twiml(doc, now, waiting, leave))


@bp.post("/hold")
def hold() -> Response:
    if (refused := _team()) is not None:
        return refused

    def handler(
        state: CallState, doc: ConfigDocument, now: datetime, busy: Container[str], form: VoiceForm
    ) -> Step:
        session: Session | None = g.get("voice_session")
        if session is None:  # the database is down: no callback can keep the place
            return Step(VoiceResponse(), state, [])
        sink = queue_book.hold_sink(session, doc, now, form)
        return queue.hold(state, doc, now, form.digits, sink)

    return _step(handler)


@bp.post("/done")
def done() -> Response:
    def handler(
        state: CallState, doc: ConfigDocument, now: datetime, busy: Container[str], form: VoiceForm
    ) -> Step:
        session: Session | None = g.get("voice_session")
        if session is None:
            outcome = "abandoned" if form.queue_result == queue.GONE else "max_wait"
            return queue.done(state, doc, now, form.queue_result, outcome, form.queue_time)
        row = queue_book.settle(session, doc, form, now)
        step = queue.done(state, doc, now, form.queue_result, row.outcome, form.queue_time)
        if row.outcome == "abandoned":
            recovered = queue_book.missed_call(session, doc, state, now, row.enqueued_at)
            step.events.append(Event("call.missed", {"waited": row.wait_seconds or 0,
                                                     "recovery": recovered}))  # fmt: skip
        return step

    return _step(handler)


def _step(handler: steps.StepHandler) -> Response:
    form = parse_form()
    if isinstance(form, Response):
        return form
    return steps.run(form, call_facts(form), handler, writes=True)


@bp.post("/connected")
def connected() -> Response:
    """On the caller's leg, as a member's leg dequeues it: the wait ends, bridged."""
    form = parse_form()
    if isinstance(form, Response):
        return form
    doc = _config()
    agent = form.dequeuing_call_sid if re.match(CALL_SID, form.dequeuing_call_sid) else ""
    try:
        with session_scope() as session:
            waits.bridged(session, form.call_sid, agent, form.queue_time, clock.now())
    except SQLAlchemyError:
        log.exception("bridging of %s not recorded", form.call_sid)
    response = VoiceResponse()
    if doc is not None:
        say(response, doc, doc.prompts.queue_connecting)
    return _twiml(twiml_text(response))


def _entry_id() -> int:
    raw = request.args.get("e", "")
    return int(raw) if raw.isdigit() and len(raw) < 12 else 0


@bp.post("/agent")
def agent() -> Response:
    """The member picked up: who waits, then <Dial><Queue> (the head of the line)."""
    form = parse_form()
    if isinstance(form, Response):
        return form
    doc = _config()
    response = VoiceResponse()
    if doc is None:
        response.hangup()
        return _twiml(twiml_text(response))
    now = clock.now()
    try:
        whisper = _whisper(doc, now)
    except SQLAlchemyError:
        log.exception("the line was not read for the whisper of %s", form.call_sid)
        whisper = ""
    if whisper is None:
        say(response, doc, doc.prompts.queue_nobody)
        response.hangup()
        return _twiml(twiml_text(response))
    if whisper:
        say(response, doc, whisper)
    dial = Dial(timeout=15, caller_id=doc.service.outgoing_caller_id)
    dial.queue(queue.TEAM, url=QUEUE_CONNECTED, method="POST")
    response.append(dial)
    response.hangup()
    return _twiml(twiml_text(response))


def _whisper(doc: ConfigDocument, now: datetime) -> str | None:
    """What the member hears of the caller first in line (the one Twilio hands them,
    whoever they were claimed for); None when nobody waits."""
    with session_scope() as session:
        row = waits.first_waiting(session, queue.TEAM)
        if row is None:
            return None
        found = calls.find_call(session, row.call_sid)
        state = CallState.model_validate(found.state) if found and found.state else None
        motive = doc.motive(state.motive) if state and state.motive else None
        contact = state.contact if state else ""
        minutes = max(int((now - row.enqueued_at).total_seconds() // 60), 0)
        return doc.prompts.say(
            "queue_whisper",
            caller=contact or (spoken_digits(row.caller_number) if row.caller_number else
                               "numéro masqué"),
            motive=motive.label if motive else "non précisé",
            waited=queue.spoken_minutes(max(minutes, 1)),
        )  # fmt: skip


@bp.post("/agent-status")
def agent_status() -> Response:
    """The member's leg ended: the member is free again, the next caller is connected."""
    form = parse_form()
    if isinstance(form, Response):
        return form
    if form.call_status not in FINAL_STATUSES:
        return Response(status=204)
    member = request.args.get("n", "")[:64]
    skip: set[str] = set()
    try:
        with session_scope() as session:
            row = release(
                session, agent_call_sid=form.call_sid, entry_id=_entry_id(), member=member,
                now=clock.now(),
            )  # fmt: skip
            if row is not None and row.outcome == "waiting":
                skip.add(member)  # it did not answer: the next member is tried
    except SQLAlchemyError:
        log.exception("member's leg %s not released", form.call_sid)
        return Response(status=204)
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    members.connect_waiting(app, skip=skip, quick=True)
    return Response(status=204)
