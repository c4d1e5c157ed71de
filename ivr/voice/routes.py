"""The /voice/* webhooks: verify, load the call's state, run a step, record, answer.

Handlers stay thin: every decision is in `ivr.flows`; every write goes through
`callbook.calls`. Nothing a caller sends can produce a 5xx: a database or step
failure still answers useful TwiML (`fallback.degraded_twiml`).
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable
from datetime import datetime

from flask import Blueprint, Response, current_app, g, request
from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from twilio.twiml.voice_response import VoiceResponse

from callbook import calls, ticketing
from ivr import clock
from ivr.config import ConfigDocument
from ivr.flows import dialing, menu, proceed, structure, voicemail, welcome
from ivr.flows.state import CallState, Step
from ivr.runtime import current_config, last_known_config
from ivr.twilio_adapter import signature_valid, twiml
from ivr.voice import aftercall, store
from ivr.voice.fallback import degraded_twiml
from ivr.voice.forms import CALL_SID, VoiceForm

log = logging.getLogger(__name__)

bp = Blueprint("voice", __name__, url_prefix="/voice")

StepHandler = Callable[[CallState, ConfigDocument, datetime, frozenset[str], VoiceForm], Step]


@bp.before_request
def verify_signature() -> Response | None:
    settings = current_app.config["IVR_SETTINGS"]
    if not signature_valid(request, settings, current_app.extensions["twilio_token"]):
        return Response("invalid or missing X-Twilio-Signature\n", 403, mimetype="text/plain")
    return None


def _form() -> VoiceForm | Response:
    try:
        return VoiceForm.model_validate(request.form.to_dict(flat=True))
    except ValidationError as exc:
        fields = ", ".join(".".join(map(str, e["loc"])) for e in exc.errors())
        return Response(f"invalid webhook parameters: {fields}\n", 400, mimetype="text/plain")


def _request_key(form: VoiceForm) -> str:
    """Same path and parameters = a retry of the same webhook by Twilio."""
    items = sorted(request.form.items(multi=True))
    digest = hashlib.sha256(repr((request.path, items)).encode("utf-8", "replace"))
    return digest.hexdigest()[:32]


def _run(form: VoiceForm, handler: StepHandler, call_sid: str | None = None) -> Response:
    sid = call_sid or form.call_sid
    now = clock.now()
    try:
        revision, doc = current_config()
        with calls.session() as session:
            key = _request_key(form)
            replayed = calls.replayed(session, sid, key)
            if replayed is not None:
                return Response(replayed, 200, mimetype="text/xml")
            state = store.load_or_start(session, form, sid, revision, now)
            busy = calls.busy_numbers(session, exclude=sid, now=now)
            g.voice_session = session
            step = handler(state, doc, now, busy, form)
            calls.save_step(session, form, sid, store.record(step), now, key)
        return twiml(step.response)
    except (SQLAlchemyError, OSError, LookupError):
        log.exception("voice step failed on %s for %s; answering degraded TwiML", request.path, sid)
        return Response(
            degraded_twiml(last_known_config(), sid, form.from_, now), 200, mimetype="text/xml"
        )


def _step(handler: StepHandler) -> Response:
    form = _form()
    if isinstance(form, Response):
        return form
    return _run(form, handler)


@bp.post("/incoming")
def incoming() -> Response:
    return _step(lambda state, doc, now, busy, form: welcome.incoming(state, doc, now))


@bp.post("/menu")
def menu_choice() -> Response:
    return _step(
        lambda state, doc, now, busy, form: menu.choose(
            state, doc, now, busy, form.digits, form.speech
        )
    )


@bp.post("/department")
def department() -> Response:
    return _step(
        lambda state, doc, now, busy, form: structure.choose(state, doc, now, busy, form.digits)
    )


def _dial_result(
    state: CallState, doc: ConfigDocument, now: datetime, busy: frozenset[str], form: VoiceForm
) -> Step:
    if not state.legs:
        # No dialling known for this call (state lost or a stray request): the
        # caller may still be there, so route again rather than hang up.
        return proceed.route(state, doc, now, busy, VoiceResponse(), [])
    return dialing.dial_result(state, doc, now, busy, form.dial_status, form.dial_duration)


@bp.post("/dial-result")
def dial_result() -> Response:
    return _step(_dial_result)


def _parent_step(handler: StepHandler) -> Response:
    """Whisper requests come from the technician's leg; the state is the caller's."""
    form = _form()
    if isinstance(form, Response):
        return form
    if not re.match(CALL_SID, form.parent_call_sid):
        return Response("ParentCallSid is required on a whisper leg\n", 400, mimetype="text/plain")
    return _run(form, handler, call_sid=form.parent_call_sid)


@bp.post("/whisper")
def whisper() -> Response:
    return _parent_step(lambda state, doc, now, busy, form: dialing.whisper(state, doc))


@bp.post("/whisper-answer")
def whisper_answer() -> Response:
    return _parent_step(
        lambda state, doc, now, busy, form: dialing.whisper_answer(state, doc, form.digits)
    )


@bp.post("/voicemail")
def voicemail_recorded() -> Response:
    def handler(
        state: CallState, doc: ConfigDocument, now: datetime, busy: frozenset[str], form: VoiceForm
    ) -> Step:
        recording = voicemail.Recording(
            form.recording_sid, form.recording_url, form.recording_duration
        )
        sink = aftercall.voicemail_sink(g.voice_session, doc, now)
        return voicemail.recorded(state, doc, recording, sink)

    return _step(handler)


@bp.post("/callback-choice")
def callback_choice() -> Response:
    def handler(
        state: CallState, doc: ConfigDocument, now: datetime, busy: frozenset[str], form: VoiceForm
    ) -> Step:
        sink = aftercall.callback_sink(g.voice_session, doc, now)
        return voicemail.callback_choice(state, doc, now, form.digits, sink)

    return _step(handler)


def _callback(kind: str) -> Response:
    """Status-type callbacks: record, answer 204; unknown CallSids are accepted."""
    form = _form()
    if isinstance(form, Response):
        return form
    try:
        with calls.session() as session:
            now = clock.now()
            if kind == "status":
                calls.record_status(session, form, now)
            else:
                calls.record_callback(session, form, kind, now)
                _complete_message(session, form, kind, now)
    except SQLAlchemyError:
        log.exception("could not record %s callback for %s", kind, form.call_sid)
    return Response(status=204)


def _complete_message(session: Session, form: VoiceForm, kind: str, now: datetime) -> None:
    """Recording and transcription callbacks complete the ticket's message."""
    if not form.recording_sid:
        return
    if kind == "recording":
        ticketing.complete_recording(
            session, form.recording_sid, form.recording_url, form.recording_duration,
            form.call_sid, now,
        )  # fmt: skip
    else:
        ticketing.add_transcription(
            session, form.recording_sid, form.transcription_text, form.call_sid, now
        )


@bp.post("/status")
def status() -> Response:
    return _callback("status")


@bp.post("/recording-status")
def recording_status() -> Response:
    return _callback("recording")


@bp.post("/transcription")
def transcription() -> Response:
    return _callback("transcription")


@bp.post("/fallback")
def fallback() -> Response:
    """Twilio's fallback URL: useful TwiML with the database down; never raises."""
    now = clock.now()
    form = request.form
    sid = form.get("CallSid", "")[:34]
    caller = form.get("From", "")[:64]
    return Response(degraded_twiml(last_known_config(), sid, caller, now), 200, mimetype="text/xml")
