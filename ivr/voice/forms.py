"""Twilio's webhook parameters, validated at the edge (pydantic).

Lenient where a caller is on the line (a huge `Digits` is an invalid choice,
not an error), strict where a value identifies something (`CallSid`,
`RecordingSid`). A value stored in a column is never longer than the column
(the limits are read from the call book's tables), so the same input does the
same on SQLite, which would store it whole, and PostgreSQL, which would refuse
it; a `CallStatus` outside Twilio's vocabulary is dropped.

The call book never reads the form: what it stores of a webhook is built
here, once, as its own typed records (`call_facts`, `status_report`,
`recording_report`, `transcription_report`).
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from sqlalchemy import String

from callbook.calls import CallFacts
from callbook.calls.models import Call
from callbook.calls.statuses import RecordingReport, StatusReport, TranscriptionReport
from callbook.tickets.transcripts import TEXT_MAX, TranscriptReport


def _text(limit: int) -> BeforeValidator:
    def cut(value: Any) -> str:
        text = value if isinstance(value, str) else str(value or "")
        # Control characters never belong in these fields.
        return "".join(c for c in text[:limit] if c.isprintable())

    return BeforeValidator(cut)


def _count(value: Any) -> int:
    try:
        number = int(str(value).strip() or 0)
    except ValueError:
        return 0
    return number if 0 <= number < 10**7 else 0


def _column_length(name: str) -> int:
    column_type = Call.__table__.c[name].type
    assert isinstance(column_type, String) and column_type.length
    return column_type.length


CALL_STATUSES = frozenset(
    {"queued", "initiated", "ringing", "in-progress", "answered"}
    | {"completed", "busy", "failed", "no-answer", "canceled"}
)


def _confidence(value: Any) -> float | None:
    """Twilio's `Confidence` of a speech result, 0 to 1; anything else is unknown."""
    try:
        number = float(str(value).strip())
    except ValueError:
        return None
    return number if 0.0 <= number <= 1.0 else None


def _call_status(value: Any) -> str:
    text = value.strip().lower() if isinstance(value, str) else ""
    return text if text in CALL_STATUSES else ""


Digits = Annotated[str, _text(32)]
Speech = Annotated[str, _text(500)]
Short = Annotated[str, _text(64)]
Url = Annotated[str, _text(500)]
Count = Annotated[int, BeforeValidator(_count)]
Confidence = Annotated[float | None, BeforeValidator(_confidence)]

Number = Annotated[str, _text(_column_length("from_number"))]
Direction = Annotated[str, _text(_column_length("direction"))]
CallStatus = Annotated[str, BeforeValidator(_call_status)]

CALL_SID = r"^CA[0-9a-fA-F]{32}$"
RECORDING_SID = r"^(RE[0-9a-fA-F]{32})?$"
TRANSCRIPTION_SID = r"^([A-Z]{2}[0-9a-fA-F]{32})?$"
"""A real-time transcription's sid (34 characters, as the column); its prefix is Twilio's."""
TRANSCRIPTION_DATA_MAX = 4 * TEXT_MAX
"""Twilio's JSON around one piece: longer is cut, so no longer JSON, so ignored."""


class VoiceForm(BaseModel):
    """The parameters our steps read; Twilio sends many more, ignored."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True, frozen=True)

    call_sid: str = Field(alias="CallSid", pattern=CALL_SID)
    from_: Number = Field(default="", alias="From")
    to: Number = Field(default="", alias="To")
    direction: Direction = Field(default="inbound", alias="Direction")
    parent_call_sid: Short = Field(default="", alias="ParentCallSid")
    digits: Digits = Field(default="", alias="Digits")
    speech: Speech = Field(default="", alias="SpeechResult")
    confidence: Confidence = Field(default=None, alias="Confidence")
    call_status: CallStatus = Field(default="", alias="CallStatus")
    call_duration: Count = Field(default=0, alias="CallDuration")
    dial_status: Short = Field(default="", alias="DialCallStatus")
    dial_duration: Count = Field(default=0, alias="DialCallDuration")
    recording_sid: str = Field(default="", alias="RecordingSid", pattern=RECORDING_SID)
    recording_url: Url = Field(default="", alias="RecordingUrl")
    recording_duration: Count = Field(default=0, alias="RecordingDuration")
    recording_status: Short = Field(default="", alias="RecordingStatus")
    transcription_text: Annotated[str, _text(5000)] = Field(default="", alias="TranscriptionText")
    transcription_status: Short = Field(default="", alias="TranscriptionStatus")
    # A caller waiting in a queue (the Enqueue wait and action URLs, the Queue url).
    queue_result: Short = Field(default="", alias="QueueResult")
    queue_time: Count = Field(default=0, alias="QueueTime")
    queue_position: Count = Field(default=0, alias="QueuePosition")
    avg_queue_time: Count = Field(default=0, alias="AvgQueueTime")
    queue_size: Count = Field(default=0, alias="CurrentQueueSize")
    dequeuing_call_sid: Short = Field(default="", alias="DequeingCallSid")


def _sequence(value: Any) -> int | None:
    """SequenceId: a count, or None when missing or odd (the piece cannot be placed)."""
    try:
        number = int(str(value).strip())
    except ValueError:
        return None
    return number if 0 <= number < 2**31 else None


def _flag(value: Any) -> bool:
    return isinstance(value, str) and value.strip().lower() == "true"


class TranscriptionEventForm(BaseModel):
    """A real-time transcription's status callback (`<Start><Transcription>`)."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True, frozen=True)

    call_sid: str = Field(alias="CallSid", pattern=CALL_SID)
    from_: Number = Field(default="", alias="From")
    to: Number = Field(default="", alias="To")
    event: Short = Field(default="", alias="TranscriptionEvent")
    transcription_sid: str = Field(default="", alias="TranscriptionSid", pattern=TRANSCRIPTION_SID)
    sequence_id: Annotated[int | None, BeforeValidator(_sequence)] = Field(
        default=None, alias="SequenceId"
    )
    data: Annotated[str, BeforeValidator(lambda v: str(v)[:TRANSCRIPTION_DATA_MAX])] = Field(
        default="", alias="TranscriptionData"
    )
    final: Annotated[bool, BeforeValidator(_flag)] = Field(default=False, alias="Final")
    track: Short = Field(default="", alias="Track")


def _transcript(data: str) -> str:
    """The text of a piece's TranscriptionData ('' when it is not the JSON Twilio sends)."""
    try:
        parsed = json.loads(data) if data else {}
    except ValueError:
        return ""
    text = parsed.get("transcript") if isinstance(parsed, dict) else None
    if not isinstance(text, str):
        return ""
    return " ".join("".join(c if c.isprintable() else " " for c in text[:TEXT_MAX]).split())


def transcript_report(form: TranscriptionEventForm) -> TranscriptReport | None:
    """The piece to keep: final content of the caller's track with its place; else None.

    Started and stopped events, partial results and pieces without a
    transcription sid or a sequence number say nothing the message keeps.
    """
    if form.event != "transcription-content" or not form.final:
        return None
    if not form.transcription_sid or form.sequence_id is None:
        return None
    if form.track and form.track != "inbound_track":
        return None
    text = _transcript(form.data)
    if not text:
        return None
    call = CallFacts(call_sid=form.call_sid, from_number=form.from_, to_number=form.to)
    return TranscriptReport(call, form.transcription_sid, form.sequence_id, text)


def call_facts(form: VoiceForm, call_sid: str = "") -> CallFacts:
    """The call a webhook is about: `call_sid` (a whisper leg's parent call) or its own."""
    return CallFacts(
        call_sid=call_sid or form.call_sid,
        direction=form.direction or "inbound",
        from_number=form.from_,
        to_number=form.to,
    )


def status_report(form: VoiceForm) -> StatusReport:
    return StatusReport(call_facts(form), form.call_status, form.call_duration)


def recording_report(form: VoiceForm) -> RecordingReport:
    return RecordingReport(
        call_facts(form),
        form.recording_sid,
        form.recording_url,
        form.recording_duration,
        form.recording_status,
    )


def transcription_report(form: VoiceForm) -> TranscriptionReport:
    return TranscriptionReport(
        call_facts(form), form.recording_sid, form.transcription_status, form.transcription_text
    )
