"""The /voice/* webhooks: verify the signature, validate the form, run a step, answer.

Handlers stay thin: the form is validated here (`ivr.voice.forms`), and what
the call book stores of it is built once as typed records (the call, a
callback's report); every decision is in `ivr.flows`; a step or a callback
runs on the call book, or on the spool when the database fails, in
`ivr.voice.steps`; every write goes through `callbook.calls.steps` and
`callbook.calls.statuses`. Nothing a caller sends can produce a 5xx: a step
failure still answers useful TwiML (`fallback.degraded_twiml`). Status-type
callbacks are recorded, or spooled when the database is down, and answer 204.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Container
from datetime import datetime

from flask import Blueprint, Response, current_app, request
from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError
from twilio.twiml.voice_response import VoiceResponse

from callbook.calls import FINAL_STATUSES
from callbook.calls.statuses import Report
from ivr.config import ConfigDocument
from ivr.flows import dialing, menu, proceed, structure, voicemail, welcome
from ivr.flows.state import CallState, Step
from ivr.runtime import last_known_config
from ivr.twilio_adapter import signature_valid
from ivr.voice import members, steps
from ivr.voice.fallback import degraded_twiml
from ivr.voice.forms import (
    CALL_SID,
    TranscriptionEventForm,
    VoiceForm,
    call_facts,
    recording_report,
    status_report,
    transcript_report,
    transcription_report,
)
from ivr.voice.steps import StepHandler
from schedules import clock

log = logging.getLogger(__name__)

bp = Blueprint("voice", __name__, url_prefix="/voice")


@bp.before_request
def verify_signature() -> Response | None:
    if request.mimetype == "multipart/form-data":
        # Twilio posts urlencoded forms; multipart ones can carry fields without a name.
        return Response("multipart bodies are not accepted\n", 415, mimetype="text/plain")
    settings = current_app.config["IVR_SETTINGS"]
    if not signature_valid(request, settings, current_app.extensions["twilio_token"]):
        return Response("invalid or missing X-Twilio-Signature\n", 403, mimetype="text/plain")
    return None


def parse_form() -> VoiceForm | Response:
    """The request's form validated once, or the 400 that refuses it."""
    try:
        return VoiceForm.model_validate(request.form.to_dict(flat=True))
    except ValidationError as exc:
        fields = ", ".join(".".join(map(str, e["loc"])) for e in exc.errors())
        return Response(f"invalid webhook parameters: {fields}\n", 400, mimetype="text/plain")


def _step(handler: StepHandler, *, writes: bool = False, first: bool = False) -> Response:
    form = parse_form()
    if isinstance(form, Response):
        return form
    return steps.run(form, call_facts(form), handler, writes=writes, first=first)


@bp.post("/incoming")
def incoming() -> Response:
    return _step(lambda state, doc, now, busy, form: welcome.incoming(state, doc, now), first=True)


@bp.post("/menu")
def menu_choice() -> Response:
    return _step(
        lambda state, doc, now, busy, form: menu.choose(
            state, doc, now, busy, form.digits, form.speech, form.confidence
        )
    )


@bp.post("/menu-check")
def menu_check() -> Response:
    return _step(
        lambda state, doc, now, busy, form: menu.check_answer(
            state, doc, now, busy, form.digits, form.speech, form.confidence
        )
    )


@bp.post("/department")
def department() -> Response:
    return _step(
        lambda state, doc, now, busy, form: structure.choose(state, doc, now, busy, form.digits)
    )


def _dial_result(
    state: CallState, doc: ConfigDocument, now: datetime, busy: Container[str], form: VoiceForm
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
    form = parse_form()
    if isinstance(form, Response):
        return form
    if not re.match(CALL_SID, form.parent_call_sid):
        return Response("ParentCallSid is required on a whisper leg\n", 400, mimetype="text/plain")
    return steps.run(form, call_facts(form, form.parent_call_sid), handler)


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
        state: CallState, doc: ConfigDocument, now: datetime, busy: Container[str], form: VoiceForm
    ) -> Step:
        recording = voicemail.Recording(
            form.recording_sid, form.recording_url, form.recording_duration
        )
        return voicemail.recorded(state, doc, now, recording, steps.voicemail_sink(doc, now))

    return _step(handler, writes=True)


@bp.post("/callback-choice")
def callback_choice() -> Response:
    def handler(
        state: CallState, doc: ConfigDocument, now: datetime, busy: Container[str], form: VoiceForm
    ) -> Step:
        sink = steps.callback_sink(doc, now)
        return voicemail.callback_choice(state, doc, now, form.digits, sink)

    return _step(handler, writes=True)


def _callback(report_of: Callable[[VoiceForm], Report]) -> Response:
    """Status-type callbacks: recorded (or spooled), answered 204; unknown CallSids accepted."""
    form = parse_form()
    if isinstance(form, Response):
        return form
    return steps.record(report_of(form))


@bp.post("/status")
def status() -> Response:
    answer = _callback(status_report)
    if answer.status_code == 204 and request.form.get("CallStatus") in FINAL_STATUSES:
        # A call ended: a missed call is recovered; a member may be free for
        # the first caller in line.
        app = current_app._get_current_object()  # type: ignore[attr-defined]
        try:
            members.call_ended(app, request.form["CallSid"])
        except (SQLAlchemyError, OSError, LookupError):
            log.exception("waiting callers not connected after %s ended", request.form["CallSid"])
    return answer


@bp.post("/recording-status")
def recording_status() -> Response:
    return _callback(recording_report)


@bp.post("/transcription")
def transcription() -> Response:
    return _callback(transcription_report)


@bp.post("/transcription-events")
def transcription_events() -> Response:
    """Real-time transcription events: a final piece completes the voicemail's message."""
    try:
        form = TranscriptionEventForm.model_validate(request.form.to_dict(flat=True))
    except ValidationError as exc:
        fields = ", ".join(".".join(map(str, e["loc"])) for e in exc.errors())
        return Response(f"invalid webhook parameters: {fields}\n", 400, mimetype="text/plain")
    report = transcript_report(form)
    if report is None:  # started, stopped, partial or empty: nothing to keep
        return Response(status=204)
    return steps.record(report)


@bp.post("/fallback")
def fallback() -> Response:
    """Twilio's fallback URL: useful TwiML with the database down; never raises."""
    now = clock.now()
    form = request.form
    sid = form.get("CallSid", "")[:34]
    caller = form.get("From", "")[:64]
    return Response(degraded_twiml(last_known_config(), sid, caller, now), 200, mimetype="text/xml")
