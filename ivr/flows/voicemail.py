"""Voicemail: the offer and <Record>, the hand-over, then the callback choice.

What becomes of a recording (a ticket, an alert) is not the flow's business:
the webhook passes a `VoicemailSink`, and the caller hears the ticket number
when the sink returns one. An urgent message alerts the on-call technician
now during an on-call window, otherwise when the next window opens; the
caller is told which (`ivr.flows.routing.oncall_alert`, the sinks' rule
too). Callers choose whether they want to be called back (unrequested
callbacks are a common complaint).

Twilio's own <Record transcribe> is English-only, so it is never asked for.
When the call's state carries a transcription URL (IVR_TRANSCRIPTION), the
offer starts Twilio's real-time transcription in French on the caller's
track just before <Record>; its pieces reach /voice/transcription-events
and complete the ticket's message (`callbook.tickets.transcripts`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from twilio.twiml.voice_response import Gather, VoiceResponse

from ivr.config import ConfigDocument
from ivr.flows.routing import oncall_alert
from ivr.flows.speech import say, spoken_when
from ivr.flows.state import (
    CALLBACK_CHOICE,
    RECORDING_STATUS,
    VOICEMAIL,
    CallState,
    Event,
    Step,
    action,
)

TRANSCRIPTION_NAME = "voicemail"
"""The name the transcription is started with, and stopped by."""


@dataclass(frozen=True, slots=True)
class Recording:
    sid: str
    url: str
    duration: int


class VoicemailSink(Protocol):
    def __call__(self, state: CallState, recording: Recording) -> str | None:
        """Take the recording; return a ticket number to tell the caller, or None."""


class CallbackSink(Protocol):
    def __call__(self, state: CallState) -> datetime | None:
        """Schedule the callback the caller asked for; return when it is due."""


def offer(
    state: CallState,
    doc: ConfigDocument,
    now: datetime,
    response: VoiceResponse | None = None,
    events: list[Event] | None = None,
) -> Step:
    response = response or VoiceResponse()
    events = events if events is not None else []
    say(response, doc, _offer_prompt(state, doc))
    if state.transcription_url:
        _start_transcription(response, state.transcription_url)
    response.record(
        action=action(VOICEMAIL, state),
        method="POST",
        max_length=doc.tickets.voicemail_max_seconds,
        finish_on_key="#",
        play_beep=True,
        timeout=5,
        trim="trim-silence",
        recording_status_callback=RECORDING_STATUS,
        recording_status_callback_method="POST",
        recording_status_callback_event="completed",
    )
    # Reached only when nothing was recorded: Twilio then goes on to the next verb.
    say(response, doc, doc.prompts.goodbye)
    response.hangup()
    events.append(Event("voicemail.offered", {"urgent": state.urgent}))
    return Step(response, state, events)


def _start_transcription(response: VoiceResponse, url: str) -> None:
    """<Start><Transcription>: the caller's words, in French, from the beep on.

    Started after the prompt so that only the caller's message is
    transcribed (the inbound track: our own prompts are never sent).
    Final results only: partial ones would be dropped anyway.
    """
    start = response.start()
    start.transcription(
        name=TRANSCRIPTION_NAME,
        track="inbound_track",
        language_code="fr-FR",
        status_callback_url=url,
        status_callback_method="POST",
        partial_results=False,
        profanity_filter=False,
        enable_automatic_punctuation=True,
    )


def _offer_prompt(state: CallState, doc: ConfigDocument) -> str:
    if not state.urgent:
        return doc.prompts.voicemail_offer
    if state.route == "oncall":  # the technician on duty did not pick up
        return doc.prompts.voicemail_urgent
    return doc.prompts.voicemail_urgent_later  # outside the on-call windows


def _may_call_back(state: CallState) -> bool:
    # Urgent messages alert the on-call technician, who calls back; structures
    # without phone support do not call back; nor does a service closed with
    # no known reopening (a manual closure until further notice).
    if state.urgent or state.route == "no_phone":
        return False
    return not (state.route == "closed" and state.callback_at is None)


def _alert_sentence(doc: ConfigDocument, now: datetime) -> str:
    alert = oncall_alert(doc, now)
    if alert is None or alert.due <= now:
        return doc.prompts.oncall_alerted
    return doc.prompts.say("oncall_alert_later", when=spoken_when(alert.due, now))


def recorded(
    state: CallState,
    doc: ConfigDocument,
    now: datetime,
    recording: Recording,
    sink: VoicemailSink,
) -> Step:
    """The <Record> action: hand the recording over, then offer a callback."""
    response = VoiceResponse()
    if state.transcription_url:  # the message is over: nothing more to transcribe
        response.stop().transcription(name=TRANSCRIPTION_NAME)
    events = [
        Event(
            "voicemail.recorded",
            {"sid": recording.sid, "url": recording.url, "duration": recording.duration},
        )
    ]
    if recording.duration < doc.tickets.min_recording_seconds or not recording.url:
        # The caller hung up at the beep: the call book keeps the attempt only.
        events.append(Event("voicemail.too_short", {"duration": recording.duration}))
        say(response, doc, doc.prompts.goodbye)
        response.hangup()
        return Step(response, state.model_copy(update={"finished": True}), events)
    ticket = sink(state, recording)
    if ticket:
        say(response, doc, doc.prompts.say("ticket_number", ticket=" ".join(ticket)))
        events.append(Event("ticket", {"number": ticket}))
        state = state.model_copy(update={"ticket": ticket})
    if state.urgent:
        say(response, doc, _alert_sentence(doc, now))
    elif _may_call_back(state):
        gather = Gather(
            input="dtmf",
            num_digits=1,
            timeout=6,
            action=action(CALLBACK_CHOICE, state),
            method="POST",
        )
        say(gather, doc, doc.prompts.callback_offer)
        response.append(gather)
    say(response, doc, doc.prompts.goodbye)
    response.hangup()
    return Step(response, state.model_copy(update={"finished": True}), events)


def callback_choice(
    state: CallState, doc: ConfigDocument, now: datetime, digits: str, sink: CallbackSink
) -> Step:
    """'1' schedules a callback and says when; anything else: the message only."""
    response = VoiceResponse()
    events: list[Event] = []
    if digits.strip() == "1" and _may_call_back(state) and not state.callback_requested:
        due = sink(state)
        if due is not None:
            state = state.model_copy(update={"callback_requested": True, "callback_at": due})
            say(response, doc, doc.prompts.say("callback_announce", when=spoken_when(due, now)))
            events.append(Event("callback.requested", {"due_at": due.isoformat()}))
        else:  # no time can be promised (a withheld number, no known reopening)
            say(response, doc, doc.prompts.callback_none)
    elif not state.callback_requested:
        say(response, doc, doc.prompts.callback_none)
    say(response, doc, doc.prompts.goodbye)
    response.hangup()
    return Step(response, state, events)
