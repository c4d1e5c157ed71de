"""The caller's structure: from the contact directory, or keyed as a department code."""

from __future__ import annotations

from collections.abc import Container
from datetime import datetime

from twilio.twiml.voice_response import Gather, VoiceResponse

from ivr.config import ConfigDocument
from ivr.flows import proceed
from ivr.flows.speech import say
from ivr.flows.state import DEPARTMENT, CallState, Event, Step, action

MAX_ATTEMPTS = 2
CORSICA = {"201": "2A", "202": "2B"}


def ask(
    state: CallState, doc: ConfigDocument, response: VoiceResponse, events: list[Event]
) -> Step:
    gather = Gather(
        input="dtmf",
        timeout=6,
        finish_on_key="#",
        action=action(DEPARTMENT, state),
        method="POST",
        action_on_empty_result=True,
    )
    say(gather, doc, doc.prompts.department_ask)
    response.append(gather)
    response.redirect(action(DEPARTMENT, state), method="POST")
    return Step(response, state, events)


def department_code(digits: str) -> str | None:
    """'63' -> '63', '974' -> '974', '201' -> '2A' (Corsica keyed as 20 + 1 or 2)."""
    digits = digits.strip().rstrip("#")
    if digits in CORSICA:
        return CORSICA[digits]
    if digits.isdigit() and len(digits) in (2, 3):
        return digits
    return None


def choose(
    state: CallState, doc: ConfigDocument, now: datetime, busy: Container[str], digits: str
) -> Step:
    response = VoiceResponse()
    code = department_code(digits)
    structure = doc.structure_for_department(code) if code else None
    if structure is not None:
        state = state.model_copy(update={"structure": structure.id, "structure_source": "keypad"})
        say(response, doc, doc.prompts.say("structure_confirm", structure=structure.name))
        events = [Event("structure", {"structure": structure.id, "source": "keypad"})]
        return proceed.route(state, doc, now, busy, response, events)
    attempts = state.department_attempts + 1
    state = state.model_copy(update={"department_attempts": attempts})
    events = [Event("structure.unknown", {"digits": digits[:8], "attempt": attempts})]
    say(response, doc, doc.prompts.department_unknown)
    if attempts < MAX_ATTEMPTS:
        return ask(state, doc, response, events)
    # Still unknown: the national hotline (or its closed branch) takes the call.
    return proceed.route(state, doc, now, busy, response, events)
