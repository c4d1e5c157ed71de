"""The first step of every call: greet, recognise the caller, honour the manual switch."""

from __future__ import annotations

from datetime import datetime

from twilio.twiml.voice_response import VoiceResponse

from ivr.config import ConfigDocument
from ivr.config.fields import try_e164
from ivr.flows import menu, voicemail
from ivr.flows.speech import say, spoken_when
from ivr.flows.state import CallState, Event, Step


def incoming(state: CallState, doc: ConfigDocument, now: datetime) -> Step:
    response = VoiceResponse()
    caller = try_e164(state.caller) if state.caller else None
    contact = doc.contact(caller) if caller else None
    update: dict[str, object] = {"caller": caller or state.caller}
    if contact is not None:
        update["contact"] = contact.name
        if contact.structure:
            update |= {"structure": contact.structure, "structure_source": "contact"}
    state = state.model_copy(update=update)
    events = [
        Event(
            "call.started",
            {
                "caller": state.caller,
                "contact": state.contact,
                "structure": state.structure,
                "revision": state.revision,
            },
        )
    ]
    say(response, doc, doc.prompts.say("welcome", service=doc.service.name))
    if doc.closure.in_force(now):
        say(response, doc, doc.closure.message or doc.prompts.manual_closure)
        # The first real opening once the closure is over (None: it has no end).
        reopen = doc.calendar(doc.hotline.calendar).next_opening(now)
        if reopen is not None:
            say(response, doc, doc.prompts.say("reopens", when=spoken_when(reopen, now)))
        state = state.model_copy(update={"route": "closed", "callback_at": reopen})
        at = reopen.isoformat() if reopen else None
        events.append(
            Event("route", {"route": "closed", "reason": "manual closure", "callback_at": at})
        )
        return voicemail.offer(state, doc, now, response, events)
    return menu.ask(state, doc, response, events)
