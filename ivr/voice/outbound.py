"""Webhooks of the calls the dispatcher places: whisper to the agent, bridge the caller.

The agent (hotline, referent or on-call technician) answers first, hears the
ticket, the caller and the motive, presses 1, and only then is the caller
dialled. Every outcome is written on the callback row and the ticket.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from flask import Blueprint, Response, current_app, request
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from twilio.twiml.voice_response import Dial, Gather, VoiceResponse

from callbook import calls
from callbook.calls import statuses as call_callbacks
from callbook.db import session_scope
from callbook.tickets import Callback, Ticket, dispatch
from callbook.tickets.opening import add_history
from ivr.config import ConfigDocument
from ivr.flows.retry import max_attempts, next_attempt
from ivr.flows.speech import say, spoken_digits
from ivr.notify import events
from ivr.runtime import current_config, last_known_config
from ivr.twilio_adapter import twiml
from ivr.voice.forms import VoiceForm, status_report
from ivr.voice.routes import verify_signature
from schedules import clock

log = logging.getLogger(__name__)

bp = Blueprint("outbound", __name__, url_prefix="/voice/outbound")
bp.before_request(verify_signature)


@bp.errorhandler(SQLAlchemyError)
@bp.errorhandler(LookupError)
def unavailable(exc: Exception) -> Response:
    """Database down (or no configuration): the agent hears that the callback did not
    start and the row stays as it is; the dispatcher's retry rules take it from there."""
    log.warning("outbound webhook %s failed: %s", request.path, exc)
    doc = last_known_config()
    return _hangup(doc, doc.prompts.callback_not_started if doc is not None else "")


FINAL = frozenset({"completed", "busy", "failed", "no-answer", "canceled"})


def _callback(session: Session) -> Callback | None:
    raw = request.args.get("cb", "")
    return dispatch.get(session, int(raw)) if raw.isdigit() and len(raw) < 12 else None


def _hangup(doc: ConfigDocument | None, text: str = "") -> Response:
    response = VoiceResponse()
    if doc is not None and text:
        say(response, doc, text)
    response.hangup()
    return twiml(response)


def _retry(session: Session, doc: ConfigDocument, callback: Callback, reason: str) -> None:
    now = clock.now()
    gap = timedelta(minutes=current_app.config["IVR_SETTINGS"].oncall_escalation_gap_minutes)
    dispatch.attempt_failed(
        session, callback, reason, next_due=next_attempt(doc, callback, now, oncall_gap=gap),
        max_attempts=max_attempts(doc, callback), now=now,
    )  # fmt: skip


@bp.post("/agent")
def agent() -> Response:
    """The agent picked up: say who to call back; '1' starts the callback."""
    _, doc = current_config()
    with session_scope() as session:
        callback = _callback(session)
        if callback is None or callback.status != "dialing":
            return _hangup(doc, doc.prompts.callback_not_started)
        ticket = session.get(Ticket, callback.ticket_id) if callback.ticket_id else None
        motive = doc.motive(ticket.motive) if ticket and ticket.motive else None
        structure = doc.structure(ticket.structure) if ticket and ticket.structure else None
        text = doc.prompts.say(
            "alert_whisper" if callback.kind == "alert" else "callback_whisper",
            ticket=" ".join(ticket.number) if ticket else "sans numéro",
            caller=(ticket.contact if ticket and ticket.contact else "")
            or spoken_digits(callback.caller_number),
            structure=structure.name if structure else "une structure inconnue",
            motive=motive.label if motive else "un motif non précisé",
        )
        response = VoiceResponse()
        gather = Gather(
            input="dtmf", num_digits=1, timeout=8, method="POST",
            action=f"/voice/outbound/agent-answer?cb={callback.id}",
        )  # fmt: skip
        say(gather, doc, text)
        say(gather, doc, text)
        response.append(gather)
        say(response, doc, doc.prompts.callback_not_started)
        response.hangup()
        return twiml(response)


@bp.post("/agent-answer")
def agent_answer() -> Response:
    _, doc = current_config()
    digits = request.form.get("Digits", "")[:8].strip()
    with session_scope() as session:
        callback = _callback(session)
        if callback is None or callback.status != "dialing":
            return _hangup(doc, doc.prompts.callback_not_started)
        if digits != "1":
            _retry(session, doc, callback, "declined by the agent")
            return _hangup(doc, doc.prompts.callback_not_started)
        ticket = session.get(Ticket, callback.ticket_id) if callback.ticket_id else None
        if ticket is not None:
            add_history(session, ticket, "agent", "callback.accepted", {"callback": callback.id},
                        clock.now())  # fmt: skip
        response = VoiceResponse()
        say(response, doc, doc.prompts.callback_connecting)
        dial = Dial(
            action=f"/voice/outbound/bridged?cb={callback.id}", method="POST", timeout=30,
            caller_id=doc.service.outgoing_caller_id, answer_on_bridge=True,
        )  # fmt: skip
        dial.number(callback.caller_number)
        response.append(dial)
        return twiml(response)


@bp.post("/bridged")
def bridged() -> Response:
    _, doc = current_config()
    status = request.form.get("DialCallStatus", "")[:32]
    with session_scope() as session:
        callback = _callback(session)
        if callback is None or callback.status != "dialing":
            return _hangup(doc, doc.prompts.goodbye)
        if status in ("completed", "answered"):
            dispatch.mark_done(session, callback, clock.now(), "caller reached")
            return _hangup(doc, doc.prompts.goodbye)
        _retry(session, doc, callback, f"caller: {status or 'no answer'}")
        return _hangup(doc, doc.prompts.callback_caller_absent)


def _is_current_attempt(callback: Callback, call_sid: str) -> bool:
    """Whether `call_sid` is the call of the callback's attempt now dialling.

    A dispatcher that died between Twilio's answer and writing the CallSid left
    the row without one: the status webhook of that attempt (`n` in its URL)
    then brings the CallSid itself.
    """
    if callback.outbound_sid:
        return callback.outbound_sid == call_sid
    raw = request.args.get("n", "")
    if not (raw.isdigit() and len(raw) < 6 and int(raw) == callback.attempts and call_sid):
        return False
    callback.outbound_sid = call_sid
    return True


@bp.post("/status")
def status() -> Response:
    """The agent leg ended: in the call book; a callback still dialling failed."""
    try:
        form = VoiceForm.model_validate(request.form.to_dict(flat=True))
    except ValueError:
        return Response("invalid webhook parameters\n", 400, mimetype="text/plain")
    try:
        _, doc = current_config()
        with session_scope() as session:
            call_id = call_callbacks.record_status(session, status_report(form), clock.now())
            events.on_status(session, form.call_status, call_id, clock.now())
            callback = _callback(session)
            if callback is None:
                return Response(status=204)
            attempt = {"callback": callback.id, "status": form.call_status}
            calls.append_event(session, call_id, "callback.attempt", attempt, clock.now())
            if (
                form.call_status in FINAL
                and callback.status == "dialing"
                and _is_current_attempt(callback, form.call_sid)
            ):
                reason = "not accepted" if form.call_status == "completed" else form.call_status
                _retry(session, doc, callback, f"agent: {reason}")
    except (SQLAlchemyError, LookupError):
        log.exception("could not record outbound status %s", form.call_sid)
    return Response(status=204)
