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

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from sqlalchemy import String

from callbook.calls import CallFacts
from callbook.calls.models import Call
from callbook.calls.statuses import RecordingReport, StatusReport, TranscriptionReport


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


def _call_status(value: Any) -> str:
    text = value.strip().lower() if isinstance(value, str) else ""
    return text if text in CALL_STATUSES else ""


Digits = Annotated[str, _text(32)]
Speech = Annotated[str, _text(500)]
Short = Annotated[str, _text(64)]
Url = Annotated[str, _text(500)]
Count = Annotated[int, BeforeValidator(_count)]

Number = Annotated[str, _text(_column_length("from_number"))]
Direction = Annotated[str, _text(_column_length("direction"))]
CallStatus = Annotated[str, BeforeValidator(_call_status)]

CALL_SID = r"^CA[0-9a-fA-F]{32}$"
RECORDING_SID = r"^(RE[0-9a-fA-F]{32})?$"


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
