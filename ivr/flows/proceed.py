"""Between qualification and routing: ask the structure if needed, then route."""

from __future__ import annotations

from collections.abc import Container
from datetime import datetime

from twilio.twiml.voice_response import VoiceResponse

from ivr.config import ConfigDocument
from ivr.flows import dialing, voicemail
from ivr.flows.routing import needs_structure, plan_route, route_event
from ivr.flows.speech import say
from ivr.flows.state import CallState, Event, Step


def after_motive(
    state: CallState,
    doc: ConfigDocument,
    now: datetime,
    busy: Container[str],
    response: VoiceResponse,
    events: list[Event],
) -> Step:
    motive = doc.motive(state.motive)
    if needs_structure(motive) and not state.structure:
        from ivr.flows import structure  # the department step leads back here

        return structure.ask(state, doc, response, events)
    return route(state, doc, now, busy, response, events)


def route(
    state: CallState,
    doc: ConfigDocument,
    now: datetime,
    busy: Container[str],
    response: VoiceResponse,
    events: list[Event],
) -> Step:
    plan = plan_route(state, doc, now)
    state = state.model_copy(
        update={
            "route": plan.route,
            "legs": plan.legs,
            "leg_index": -1,
            "urgent": plan.urgent,
            "callback_at": plan.callback_at,
        }
    )
    events.append(route_event(plan))
    for sentence in plan.sentences:
        say(response, doc, sentence)
    if plan.legs:
        return dialing.dial_next(state, doc, now, busy, response, events)
    return voicemail.offer(state, doc, now, response, events)
