"""Pydantic models of the JSON API's bodies, query strings and answers.

They validate what comes in (field paths in errors) and shape what goes out;
the OpenAPI document is built from their JSON schemas.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from callbook.accounts.users import STRUCTURE_LENGTH
from callbook.tickets import ESCALATION_NOTE_MAX

TicketStatus = Literal["new", "assigned", "in_progress", "waiting", "resolved", "closed"]
Priority = Literal["urgent", "high", "normal", "low"]
Role = Literal["admin", "technician", "viewer", "referent"]
Level = Literal["local", "national"]
MAX_ID = 2**31 - 1


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Answer(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class ErrorDetail(BaseModel):
    """One refused input: its path, pydantic's error type, and the words for people."""

    field: str
    code: str
    message: str


class Error(BaseModel):
    """Every error: what went wrong, the paths of the inputs at fault, and `message`
    for people in the token user's language (French for the shared token)."""

    error: str
    fields: list[str]
    message: str
    details: list[ErrorDetail] | None = None


# -- calls ---------------------------------------------------------------------------


class Payload(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    author: str | None = Field(default=None, min_length=1, max_length=64)


class MotivesPayload(Payload):
    motives: list[str] = Field(max_length=20, description="Motive keys of the configuration.")
    replace_caller: bool = Field(
        default=False, description="Also drop the caller's own choices that are not listed."
    )


class NotePayload(Payload):
    note: str = Field(max_length=10_000)

    @field_validator("note", mode="before")
    @classmethod
    def _text(cls, value: Any) -> Any:
        return "" if value is None else value


# -- configuration ---------------------------------------------------------------------


class PublishBody(Body):
    comment: str = Field(min_length=1, max_length=500, description="What changes and why.")


class DiffQuery(Body):
    against: int | None = Field(
        default=None, ge=0, le=MAX_ID, description="Revision to compare with (default: N - 1)."
    )


class RevisionOut(Answer):
    number: int
    author: str
    comment: str
    created_at: datetime
    active: bool


class ActiveConfigOut(BaseModel):
    revision: RevisionOut
    document: dict[str, Any]


class DraftOut(BaseModel):
    is_draft: bool = Field(description="False: there is no draft, `document` is the active one.")
    base_revision: int | None
    active_revision: int | None
    stale: bool = Field(description="The draft started from a revision no longer active.")
    updated_by: str | None
    updated_at: datetime | None
    document: dict[str, Any]


class ChangeOut(BaseModel):
    path: str
    kind: Literal["added", "removed", "changed"]
    old: Any
    new: Any


class DiffOut(BaseModel):
    before: int | None = Field(description="The older revision; null: the empty document.")
    after: int
    changes: list[ChangeOut]
    diff: str = Field(description="Unified diff of the canonical YAML.")


class ActivationOut(BaseModel):
    active_revision: int
    previous_revision: int | None


# -- tickets and callbacks -----------------------------------------------------------


class TicketQuery(Body):
    status: Literal[
        "open", "all", "new", "assigned", "in_progress", "waiting", "resolved", "closed"
    ] = Field(default="open", description="'open' (every open status), 'all', or one status.")
    priority: Priority | None = None
    structure: str = Field(default="", max_length=64)
    assignee: str = Field(default="", max_length=64)
    overdue: bool = False
    q: str = Field(
        default="",
        max_length=64,
        description="Ticket number, part of a caller's number or contact, or words of a message's"
        " transcription.",
    )
    level: Level | None = Field(default=None, description="Local or escalated to national.")
    page: int = Field(default=1, ge=1, le=10_000)


class TicketPatch(Body):
    status: TicketStatus | None = None
    assignee: str | None = Field(
        default=None, max_length=64, description="An active technician or admin; '' unassigns."
    )

    @model_validator(mode="after")
    def _something(self) -> TicketPatch:
        if self.status is None and self.assignee is None:
            raise ValueError("give status, assignee or both")
        return self


class EscalateBody(Body):
    note: str = Field(
        min_length=1,
        max_length=ESCALATION_NOTE_MAX,
        description="The request reformulated for the national team, after a first analysis.",
    )


class MergeBody(Body):
    into: str = Field(min_length=1, max_length=20, description="Number of the ticket kept.")


class CallbackOut(Answer):
    id: int
    kind: str
    ticket_id: int | None
    caller_number: str
    status: str
    due_at: datetime
    attempts: int
    last_error: str


class MessageOut(Answer):
    id: int
    duration: int
    transcription: str
    call_sid: str
    created_at: datetime


class HistoryOut(Answer):
    at: datetime
    actor: str
    action: str
    detail: dict[str, Any]


class TicketOut(Answer):
    number: str
    caller_number: str
    contact: str
    structure: str
    motive: str
    family: str
    priority: str
    status: str
    assignee: str
    call_sid: str
    urgent: bool
    flagged: bool
    created_at: datetime
    updated_at: datetime
    deadline_at: datetime | None
    level: str = Field(description="'local', or 'national' once a referent escalated it.")
    escalated_by: str
    escalated_at: datetime | None
    escalation_note: str


class TicketList(BaseModel):
    tickets: list[TicketOut]
    page: int
    more: bool


class TicketDetail(TicketOut):
    messages: list[MessageOut]
    history: list[HistoryOut]
    callbacks: list[CallbackOut]


class MergeOut(BaseModel):
    ticket: TicketOut
    messages_moved: int


class CallbackQuery(Body):
    view: Literal["active", "pending", "failed", "done", "canceled", "all"] = "active"


class RescheduleBody(Body):
    due_at: datetime = Field(
        description="The new moment; without an offset it is read in IVR_DEFAULT_TIMEZONE."
    )


# -- users ---------------------------------------------------------------------------


class UserOut(Answer):
    username: str
    display_name: str
    role: str
    active: bool
    structure: str | None = Field(description="A referent's structure; null for other roles.")


class UserCreate(Body):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=200)
    role: Role
    display_name: str = Field(default="", max_length=200)
    structure: str | None = Field(
        default=None,
        max_length=STRUCTURE_LENGTH,
        description="Required for a referent: a structure key of the active configuration.",
    )
