"""What a step knows about the call, what it returns, and the paths it links to.

The state lives server-side, keyed by CallSid; the TwiML only carries our own
action paths, never state a caller could forge.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field
from twilio.twiml import TwiML
from twilio.twiml.voice_response import VoiceResponse

# Action paths of the TwiML (relative: Twilio resolves them against the URL it called).
INCOMING = "/voice/incoming"
MENU = "/voice/menu"
MENU_CHECK = "/voice/menu-check"
DEPARTMENT = "/voice/department"
DIAL_RESULT = "/voice/dial-result"
WHISPER = "/voice/whisper"
WHISPER_ANSWER = "/voice/whisper-answer"
VOICEMAIL = "/voice/voicemail"
RECORDING_STATUS = "/voice/recording-status"
TRANSCRIPTION = "/voice/transcription"
TRANSCRIPTION_EVENTS = "/voice/transcription-events"
CALLBACK_CHOICE = "/voice/callback-choice"
QUEUE_WAIT = "/voice/queue/wait"
QUEUE_DONE = "/voice/queue/done"
QUEUE_HOLD = "/voice/queue/hold"
QUEUE_CONNECTED = "/voice/queue/connected"

Route = Literal["referent", "hotline", "oncall", "voicemail", "no_phone", "closed", "menu"]


class Leg(BaseModel):
    """One <Dial>: several numbers rung together, or one number of a hunt."""

    kind: Literal["referent", "hotline", "oncall"]
    target: str = Field(description="Referent or technician id, or 'hotline'.")
    label: str
    numbers: list[str]
    timeout: int
    whisper: bool = False


class CallState(BaseModel):
    call_sid: str
    caller: str = Field(default="", description="Caller number, E.164 when it parses.")
    called: str = ""
    revision: int = 0
    started_at: datetime | None = None
    contact: str = ""
    structure: str = ""
    structure_source: Literal["", "contact", "keypad"] = ""
    motive: str = ""
    motive_channel: Literal["", "keypad", "speech"] = ""
    menu_attempts: int = 0
    pending_motive: str = Field(
        default="", description="The motive a spoken answer may mean, asked back to the caller."
    )
    department_attempts: int = 0
    route: Route | None = None
    legs: list[Leg] = Field(default_factory=list)
    leg_index: int = -1
    accepted_leg: int | None = None
    urgent: bool = False
    callback_at: datetime | None = None
    ticket: str = ""
    callback_requested: bool = False
    queued: bool = Field(default=False, description="Put in the team's waiting line once.")
    finished: bool = False
    turn: int = Field(
        default=0,
        description="Steps run on this call so far: the action URLs of a step's TwiML carry it.",
    )
    transcription_url: str = Field(
        default="",
        description="Absolute URL of TRANSCRIPTION_EVENTS when voicemails are transcribed "
        "(IVR_TRANSCRIPTION), set when the call starts; empty: no transcription.",
    )

    @property
    def current_leg(self) -> Leg | None:
        if 0 <= self.leg_index < len(self.legs):
            return self.legs[self.leg_index]
        return None


def action(path: str, state: CallState) -> str:
    """`path` for the answer to the step that runs at `state.turn`.

    Twilio requests the same URL with the same form again only when it retries
    a webhook; a caller who gives the same answer to the next question (the
    same wrong key, the same unknown department) reaches a URL of another
    turn, so the answer is a new one and is never replayed.
    """
    return f"{path}?step={state.turn}"


@dataclass(frozen=True, slots=True)
class Event:
    """Something to record in the call book."""

    kind: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class Step:
    """What a flow step answers: TwiML, the new state, the events to record."""

    response: VoiceResponse
    state: CallState
    events: list[Event] = field(default_factory=list)

    @functools.cached_property
    def twiml(self) -> str:
        """The TwiML document, serialised once (stored with the call and answered)."""
        return twiml_text(self.response)


XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>'


def twiml_text(response: TwiML) -> str:
    """`str(response)`, the same text, written straight from the SDK's TwiML objects.

    Kept with `callbook.db.direct`: BENCHMARKS.md, "Layers".

    The SDK's `str()` builds an ElementTree of the document, serialises it to
    UTF-8 bytes and decodes them back; every webhook answers a document, and
    this costs it a third of that. The rules are ElementTree's, as the SDK
    uses them: attributes sorted by name, booleans as "true"/"false", a dict
    value as JSON, a string appended to a verb as its text (before any child)
    or as the tail of the child before it (the last such string wins), empty
    elements as `<Name />`, and what UTF-8 cannot carry (a lone surrogate) as
    a character reference. Names are written as given: TwiML has no XML
    namespaces, so ElementTree's "{uri}name" form is not handled.
    """
    out = [XML_DECLARATION]
    _write(response, out)
    text = "".join(out)
    if not text.isascii():
        text = text.encode("utf-8", "xmlcharrefreplace").decode("utf-8")
    return text


def _write(node: TwiML, out: list[str]) -> None:
    out.append("<" + node.name)
    attrs = node.attrs
    for name in sorted(attrs):
        value = attrs[name]
        text = str(value).lower() if isinstance(value, bool) else str(value)
        out.append(f' {name}="{_escape(text, _ATTRIBUTE_ESCAPES)}"')
    value = node.value
    text = (json.dumps(value) if isinstance(value, dict) else value) if value else None
    children: list[tuple[TwiML, str | None]] = []
    for verb in node.verbs:
        if isinstance(verb, str):
            if children:
                children[-1] = (children[-1][0], verb)
            else:
                text = verb
        else:
            children.append((verb, None))
    if not text and not children:
        out.append(" />")
        return
    out.append(">")
    if text:
        out.append(_escape(text, _TEXT_ESCAPES))
    for child, tail in children:
        _write(child, out)
        if tail:
            out.append(_escape(tail, _TEXT_ESCAPES))
    out.append(f"</{node.name}>")


_TEXT_ESCAPES = (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"))
_ATTRIBUTE_ESCAPES = (
    *_TEXT_ESCAPES,
    ('"', "&quot;"),
    ("\r", "&#13;"),
    ("\n", "&#10;"),
    ("\t", "&#09;"),
)


def _escape(text: str, escapes: tuple[tuple[str, str], ...]) -> str:
    for plain, escaped in escapes:
        if plain in text:
            text = text.replace(plain, escaped)
    return text
