"""Ringing the people who answer: legs in order, busy ones skipped, on-call whisper."""

from __future__ import annotations

from collections.abc import Container
from datetime import datetime

from twilio.twiml.voice_response import Dial, Gather, VoiceResponse

from ivr.config import ConfigDocument
from ivr.flows import queue, voicemail
from ivr.flows.speech import say, spoken_digits
from ivr.flows.state import (
    DIAL_RESULT,
    WHISPER,
    WHISPER_ANSWER,
    CallState,
    Event,
    Leg,
    Step,
    action,
)

ANSWERED = frozenset({"completed", "answered"})


def _transfer_sentence(doc: ConfigDocument, state: CallState, leg: Leg) -> str:
    if leg.kind == "referent":
        structure = doc.structure(state.structure)
        return doc.prompts.say("transfer_referent", structure=structure.name if structure else "")
    if leg.kind == "oncall":
        return doc.prompts.transfer_oncall
    return doc.prompts.transfer_hotline


def _caller_id(doc: ConfigDocument, state: CallState) -> str:
    # Forwarding the caller's own number lets the answering person see who calls.
    return state.caller if state.caller.startswith("+") else doc.service.outgoing_caller_id


def dial_next(
    state: CallState,
    doc: ConfigDocument,
    now: datetime,
    busy: Container[str],
    response: VoiceResponse | None = None,
    events: list[Event] | None = None,
) -> Step:
    """Ring the next leg whose numbers are not already on a call through us.

    When every leg is used up, the caller waits in the hotline's line when
    it has one and is open (`ivr.flows.queue`), or is offered voicemail
    (urgent when the legs were on-call technicians). A hotline leg counts as
    busy once the team has as many calls as it takes at once, or while
    callers wait in its line.
    """
    response = response or VoiceResponse()
    events = events if events is not None else []
    previous = state.current_leg
    index = state.leg_index + 1
    while index < len(state.legs):
        leg = state.legs[index]
        free = [n for n in leg.numbers if n not in busy]
        if leg.kind == "hotline" and queue.hotline_taken(state, doc, now, busy):
            free = []
        if free:
            break
        events.append(Event("dial.skipped", {"target": leg.target, "reason": "busy"}))
        index += 1
    else:
        state = state.model_copy(update={"leg_index": len(state.legs)})
        if queue.may_queue(state, doc, now):
            return queue.enqueue(state, doc, response, events)
        if state.legs:
            say(response, doc, doc.prompts.no_answer)
        return voicemail.offer(state, doc, now, response, events)
    state = state.model_copy(update={"leg_index": index})
    if previous is None or previous.kind != leg.kind:
        say(response, doc, _transfer_sentence(doc, state, leg))
    dial = Dial(
        action=action(DIAL_RESULT, state),
        method="POST",
        timeout=leg.timeout,
        caller_id=_caller_id(doc, state),
        answer_on_bridge=True,
    )
    for number in free:
        if leg.whisper:
            dial.number(number, url=action(WHISPER, state), method="POST")
        else:
            dial.number(number)
    response.append(dial)
    dialled = {"kind": leg.kind, "target": leg.target, "numbers": free, "timeout": leg.timeout}
    events.append(Event("dial", dialled))
    return Step(response, state, events)


def dial_result(
    state: CallState,
    doc: ConfigDocument,
    now: datetime,
    busy: Container[str],
    status: str,
    duration: int,
) -> Step:
    """After a <Dial>: the conversation took place, or ring the next leg."""
    leg = state.current_leg
    events = [
        Event(
            "dial.result",
            {"target": leg.target if leg else "", "status": status, "duration": duration},
        )
    ]
    if leg is None:
        # A late or repeated result: nothing is being dialled any more.
        response = VoiceResponse()
        say(response, doc, doc.prompts.goodbye)
        response.hangup()
        return Step(response, state, events)
    declined = leg.whisper and state.accepted_leg != state.leg_index
    if status in ANSWERED and not declined:
        response = VoiceResponse()
        say(response, doc, doc.prompts.goodbye)
        response.hangup()
        events.append(
            Event("answered", {"kind": leg.kind, "target": leg.target, "duration": duration})
        )
        return Step(response, state.model_copy(update={"finished": True}), events)
    return dial_next(state, doc, now, busy, events=events)


def whisper(state: CallState, doc: ConfigDocument) -> Step:
    """Played to the technician who picks up, before the caller is connected."""
    response = VoiceResponse()
    motive = doc.motive(state.motive)
    structure = doc.structure(state.structure)
    caller = state.contact or (spoken_digits(state.caller) if state.caller else "un numéro masqué")
    text = doc.prompts.say(
        "whisper_oncall",
        caller=caller,
        structure=structure.name if structure else "une structure inconnue",
        motive=motive.label if motive else "un motif non précisé",
    )
    gather = Gather(
        input="dtmf", num_digits=1, timeout=8, action=action(WHISPER_ANSWER, state), method="POST"
    )
    say(gather, doc, text)
    say(gather, doc, text)
    response.append(gather)
    response.hangup()
    return Step(response, state, [Event("whisper", {"leg": state.leg_index})])


def whisper_answer(state: CallState, doc: ConfigDocument, digits: str) -> Step:
    """'1' connects the caller; anything else declines (the next person is rung)."""
    response = VoiceResponse()
    if digits.strip() == "1":
        state = state.model_copy(update={"accepted_leg": state.leg_index})
        return Step(response, state, [Event("whisper.accepted", {"leg": state.leg_index})])
    response.hangup()
    return Step(response, state, [Event("whisper.declined", {"leg": state.leg_index})])
