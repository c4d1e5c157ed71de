"""Waiting in the team's line: <Enqueue>, the place and the wait said, virtual hold, the end.

When no member of the hotline is free during its opening hours (all on a
call, the team's simultaneous calls reached, or the ring group did not
answer), the caller waits in a Twilio queue named after the team instead of
going to voicemail. The wait URL says the place and an estimate, then music
or silence, again and again; at closing time or past the longest wait it
answers <Leave> and the Enqueue action sends the caller to voicemail with a
callback offer. Pressing 1 while waiting (virtual hold) leaves the line with
a callback that keeps the caller's place.
"""

from __future__ import annotations

import math
from collections.abc import Container
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from twilio.twiml.voice_response import Gather, VoiceResponse

from ivr.config import ConfigDocument
from ivr.flows import voicemail
from ivr.flows.speech import say, spoken_when
from ivr.flows.state import (
    QUEUE_DONE,
    QUEUE_HOLD,
    QUEUE_WAIT,
    CallState,
    Event,
    Step,
    action,
    twiml_text,
)

TEAM = "hotline"
"""The answering team that has a line (its name is the Twilio queue's name too)."""
LINE_WAITING = "line:hotline"
"""Asked of the busy numbers: whether callers already wait in the team's line (a new
caller then waits behind them rather than ring a member who just became free)."""
ANSWERED = "bridged"
GONE = "hangup"
LEFT = "leave"


def may_queue(state: CallState, doc: ConfigDocument, now: datetime) -> bool:
    """Whether a caller no member answered waits in the line rather than leave a message."""
    return (
        doc.hotline.queue.enabled
        and not state.queued
        and not state.urgent
        and any(leg.kind == "hotline" for leg in state.legs)
        and doc.calendar(doc.hotline.calendar).is_open(now)
    )


def hotline_taken(
    state: CallState, doc: ConfigDocument, now: datetime, busy: Container[str]
) -> bool:
    """The hotline takes no new caller now: as many calls as it takes at once, or
    callers waiting in its line before this one."""
    if not doc.hotline.queue.enabled:
        return False
    return team_full(doc, busy) or (LINE_WAITING in busy and may_queue(state, doc, now))


def team_full(doc: ConfigDocument, busy: Container[str]) -> bool:
    """The team takes no more calls at once: as many members on a call as it allows."""
    on_line = sum(1 for number in doc.hotline.numbers if number in busy)
    return on_line >= doc.hotline.max_calls


def enqueue(
    state: CallState, doc: ConfigDocument, response: VoiceResponse, events: list[Event]
) -> Step:
    """Into the team's Twilio queue; the action URL says how the wait ended."""
    state = state.model_copy(update={"queued": True, "leg_index": len(state.legs)})
    say(response, doc, doc.prompts.queue_intro)
    response.enqueue(
        TEAM,
        action=action(QUEUE_DONE, state),
        method="POST",
        wait_url=f"{QUEUE_WAIT}?team={TEAM}",
        wait_url_method="POST",
    )
    events.append(Event("queue.entered", {"team": TEAM}))
    return Step(response, state, events)


@dataclass(frozen=True, slots=True)
class Waiting:
    """What Twilio's wait URL request says of the caller's wait."""

    position: int
    waited: int
    average: int
    """AvgQueueTime: seconds the callers in the line have waited on average."""


def leaving(doc: ConfigDocument, now: datetime, wait: Waiting) -> str | None:
    """`closing` or `max_wait` when the caller must leave the line now, else None."""
    if not doc.calendar(doc.hotline.calendar).is_open(now):
        return "closing"
    if wait.waited >= doc.hotline.queue.max_wait_minutes * 60:
        return "max_wait"
    return None


def place(position: int) -> str:
    """1 -> 'premier', 3 -> '3e' (said 'troisième')."""
    return "premier" if position <= 1 else f"{position}e"


def estimate_minutes(doc: ConfigDocument, wait: Waiting) -> int:
    """Whole minutes until a member is free for this caller, at least 1.

    Each caller ahead (and the caller) takes about the average time callers
    have waited so far, shared by the members; before Twilio has an average,
    the typical call length of the configuration.
    """
    per_caller = wait.average if wait.average > 0 else doc.hotline.queue.typical_call_minutes * 60
    seconds = max(wait.position, 1) * per_caller / max(doc.hotline.max_calls, 1)
    return max(1, math.ceil(seconds / 60))


def spoken_minutes(minutes: int) -> str:
    return "1 minute" if minutes == 1 else f"{minutes} minutes"


def wait_twiml(doc: ConfigDocument, now: datetime, wait: Waiting, leave: str | None) -> str:
    """The wait URL's answer: <Leave>, or the place, the estimate, the hold offer, music."""
    response = VoiceResponse()
    if leave is not None:
        response.leave()
        return twiml_text(response)
    queue = doc.hotline.queue
    target: VoiceResponse | Gather = response
    if queue.virtual_hold:
        target = Gather(
            input="dtmf", num_digits=1, timeout=1, method="POST",
            action=f"{QUEUE_HOLD}?team={TEAM}",
        )  # fmt: skip
    say(target, doc, doc.prompts.say("queue_place", place=place(wait.position)))
    minutes = spoken_minutes(estimate_minutes(doc, wait))
    say(target, doc, doc.prompts.say("queue_estimate", minutes=minutes))
    if queue.virtual_hold:
        say(target, doc, doc.prompts.queue_hold_offer)
    if queue.hold_music:
        target.play(queue.hold_music)
    else:
        target.pause(length=queue.announce_seconds)
    if target is not response:
        response.append(target)
    return twiml_text(response)


class HoldSink(Protocol):
    def __call__(self, state: CallState) -> datetime | None:
        """Leave the line for a callback keeping the place; when it is due, or None
        while the team is open (due as soon as a member is free)."""


def hold(state: CallState, doc: ConfigDocument, now: datetime, digits: str, sink: HoldSink) -> Step:
    """'1' while waiting: a callback keeps the place, said with its time, then <Leave>."""
    response = VoiceResponse()
    if digits.strip() != "1" or not doc.hotline.queue.virtual_hold or state.callback_requested:
        return Step(response, state, [])  # back to waiting: the wait URL is asked again
    if not state.caller.startswith("+"):
        say(response, doc, doc.prompts.queue_hold_withheld)
        return Step(response, state, [Event("queue.hold_refused", {"reason": "withheld"})])
    due = sink(state)
    if due is None:
        say(response, doc, doc.prompts.queue_hold_free)
    else:
        say(response, doc, doc.prompts.say("callback_announce", when=spoken_when(due, now)))
    response.leave()
    state = state.model_copy(update={"callback_requested": True, "callback_at": due})
    detail = {"due_at": due.isoformat() if due else None}
    return Step(response, state, [Event("queue.hold", detail)])


def done(
    state: CallState, doc: ConfigDocument, now: datetime, result: str, outcome: str, waited: int
) -> Step:
    """The Enqueue action: how the wait ended (`outcome` as recorded), what follows."""
    events = [Event("queue.left", {"result": result, "outcome": outcome, "waited": waited})]
    response = VoiceResponse()
    if outcome in ("bridged", "hold") or result == ANSWERED:
        if outcome == "bridged" or result == ANSWERED:
            events.append(Event("answered", {"kind": "hotline", "target": TEAM, "duration": 0}))
        say(response, doc, doc.prompts.goodbye)
        response.hangup()
        return Step(response, state.model_copy(update={"finished": True}), events)
    if outcome == "abandoned" or result == GONE:
        return Step(response, state.model_copy(update={"finished": True}), events)
    hotline = doc.calendar(doc.hotline.calendar)
    if outcome == "closing":
        say(response, doc, doc.prompts.queue_closing)
        reopen = hotline.next_opening(now)
        if reopen is not None:
            say(response, doc, doc.prompts.say("reopens", when=spoken_when(reopen, now)))
        state = state.model_copy(update={"callback_at": reopen})
    else:
        say(response, doc, doc.prompts.queue_too_long)
    return voicemail.offer(state, doc, now, response, events)
