"""Between the flow's types and the call book's records."""

from __future__ import annotations

from datetime import datetime

from callbook import calls
from callbook.calls import steps as call_steps
from ivr.flows.state import CallState, Step


def state_of(
    row: calls.CallRow | None, call: calls.CallFacts, revision: int, now: datetime
) -> CallState:
    """The flow state saved on the call's row, or a new call's state."""
    if row is not None and row.state:
        return CallState.model_validate(row.state)
    return start(call, revision, now)


def start(call: calls.CallFacts, revision: int, now: datetime) -> CallState:
    """The state of a call the book knows nothing about yet."""
    return CallState(
        call_sid=call.call_sid,
        caller=call.from_number,
        called=call.to_number,
        revision=revision,
        started_at=now,
    )


def record(step: Step) -> call_steps.StepRecord:
    """What the step leaves in the call book (or, the database down, in the spool)."""
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
