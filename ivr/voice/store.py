"""Between the flow's types and the call book's rows."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from callbook import calls
from callbook.calls import steps as call_steps
from ivr.flows.state import CallState, Step
from ivr.voice.forms import VoiceForm


def state_of(
    call: calls.CallRow | None, form: VoiceForm, call_sid: str, revision: int, now: datetime
) -> CallState:
    """The flow state saved on the call row, or a new call's state."""
    if call is not None and call.state:
        return CallState.model_validate(call.state)
    return start(form, call_sid, revision, now)


def start(form: VoiceForm, call_sid: str, revision: int, now: datetime) -> CallState:
    """The state of a call the book knows nothing about yet."""
    return CallState(
        call_sid=call_sid, caller=form.from_, called=form.to, revision=revision, started_at=now
    )


def record_data(step: Step) -> dict[str, Any]:
    """`record(step)` as JSON-able data, for the spool."""
    state = step.state
    return {
        "state": state.model_dump(mode="json"),
        "events": [{"kind": e.kind, "data": dict(e.data)} for e in step.events],
        "twiml": step.twiml,
        "caller": state.caller,
        "contact": state.contact,
        "structure": state.structure,
        "revision": state.revision or None,
        "urgent": state.urgent,
        "callback_at": state.callback_at.isoformat() if state.callback_at else None,
    }


def record(step: Step) -> call_steps.StepRecord:
    state = step.state
    return call_steps.StepRecord(
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
