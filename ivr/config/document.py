"""The routing configuration: one validated document (pydantic v2).

Field-level rules live on the models (a number parses as E.164, a range is
not inverted); rules that relate several parts of the document (an unknown
calendar, a digit used twice, a routing loop) live in `ivr.config.checks`
so that all of them can be listed at once.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from callbook.i18n import N_
from ivr.config.fields import DepartmentCode, EmailAddress, Identifier, PhoneNumber
from ivr.config.prompts import Prompts
from schedules import Calendar, OnCallSchedule


class Family(StrEnum):
    """Motive families of the hotline rules; they decide who should answer."""

    incident = "incident"
    usage = "usage"
    evolution = "evolution"
    account = "account"
    directory = "directory"
    emergency = "emergency"


class Priority(StrEnum):
    urgent = "urgent"
    high = "high"
    normal = "normal"
    low = "low"


class Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Service(Strict):
    name: str = Field(min_length=1, description="Said in the welcome prompt.")
    numbers: list[PhoneNumber] = Field(
        min_length=1, description="The published number(s) Twilio routes to this service."
    )
    language: str = "fr-FR"
    voice: str = Field(
        default="", description="Twilio <Say> voice, e.g. Polly.Lea; empty: default."
    )
    caller_id: PhoneNumber | None = Field(
        default=None, description="Number shown on outgoing legs; default: the first number."
    )

    @property
    def outgoing_caller_id(self) -> str:
        return self.caller_id or self.numbers[0]


class Ring(Strict):
    strategy: Literal["sequential", "simultaneous"] = "sequential"
    timeout: int = Field(default=20, ge=5, le=120, description="Seconds per number (or in all).")


class Referent(Strict):
    id: Identifier
    name: str = Field(min_length=1)
    numbers: list[PhoneNumber] = Field(min_length=1)
    email: EmailAddress = Field(
        default="", description="Receives the notices of the structure's new tickets."
    )
    ring: Ring = Field(default_factory=Ring)
    calendar: str | None = Field(
        default=None, description="The referent's own availability; default: the structure's."
    )


class MissedCalls(Strict):
    """What a caller who hung up before anyone answered gets back (once a day at most)."""

    sms: bool = Field(default=False, description="An SMS saying we saw the call (outbox).")
    callback: bool = Field(
        default=False, description="An automatic callback at once (or at the next opening)."
    )
    ringing_seconds: int = Field(
        default=20, ge=0, le=600,
        description="A caller hanging up while ringing after this long is a missed call.",
    )  # fmt: skip
    any_number: bool = Field(
        default=False, description="Also landlines and foreign numbers, not only French mobiles."
    )


class Queue(Strict):
    """The hotline's waiting line (a Twilio queue) when every member is on the phone."""

    enabled: bool = False
    max_calls: int | None = Field(
        default=None, ge=1, le=100,
        description="Calls the team takes at once; default: one per number.",
    )  # fmt: skip
    announce_seconds: int = Field(
        default=30, ge=10, le=300, description="Seconds between two announcements of the place."
    )
    max_wait_minutes: int = Field(
        default=10, ge=1, le=120, description="Longest wait before voicemail is offered."
    )
    hold_music: str | None = Field(
        default=None, description="https URL of the music played while waiting; none: silence."
    )
    typical_call_minutes: int = Field(
        default=4, ge=1, le=60, description="Estimate per caller ahead until Twilio has averages."
    )
    virtual_hold: bool = Field(
        default=True, description="'1' to be called back, keeping one's place."
    )
    missed: MissedCalls = Field(default_factory=MissedCalls)

    @field_validator("hold_music")
    @classmethod
    def _music(cls, value: str | None) -> str | None:
        text = (value or "").strip()
        if not text:
            return None
        if not text.startswith(("https://", "http://")) or " " in text or len(text) > 500:
            raise ValueError(f"'{text}' is not an http(s) URL of an audio file")
        return text


class Hotline(Strict):
    name: str = "l'assistance nationale"
    numbers: list[PhoneNumber] = Field(min_length=1)
    calendar: str
    ring: Ring = Field(default_factory=lambda: Ring(strategy="simultaneous", timeout=30))
    queue: Queue = Field(default_factory=Queue)

    @property
    def max_calls(self) -> int:
        """Calls the hotline takes at once."""
        return self.queue.max_calls or len(self.numbers)


class Structure(Strict):
    id: Identifier
    name: str = Field(min_length=1)
    departments: list[DepartmentCode] = Field(default_factory=list)
    calendar: str
    support: Literal["phone", "no_phone", "hotline_only"] = "phone"
    redirect_message: str = ""
    referents: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _support(self) -> Self:
        if self.support == "no_phone" and not self.redirect_message.strip():
            raise ValueError(
                N_(
                    "une structure sans assistance téléphonique "
                    "a besoin d'un message de redirection"
                )
            )
        if self.support == "phone" and not self.referents:
            raise ValueError(
                N_("une structure avec assistance téléphonique a besoin d'au moins un référent")
            )
        return self


class Technician(Strict):
    id: Identifier
    name: str = Field(min_length=1)
    numbers: list[PhoneNumber] = Field(min_length=1)
    sms: PhoneNumber | None = None
    email: EmailAddress = Field(default="", description="Receives urgent alerts by e-mail.")
    active: bool = True


class OnCall(Strict):
    schedule: OnCallSchedule
    ring_timeout: int = Field(default=25, ge=5, le=120)


class Contact(Strict):
    number: PhoneNumber
    name: str = Field(min_length=1)
    structure: str | None = None
    email: str = ""

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        if value and ("@" not in value or " " in value.strip()):
            raise ValueError(f"« {value} » n'est pas une adresse électronique")
        return value.strip()


MAX_PHRASES = 60
MAX_PHRASE_LENGTH = 100  # Twilio's limit for one speech hint


class Motive(Strict):
    key: Identifier
    label: str = Field(
        min_length=1, description="Spoken, with its article: 'Pour <label>, tapez <digit>.'"
    )
    digit: str = Field(pattern=r"^[0-9]$")
    keywords: list[str] = Field(default_factory=list, description="French speech keywords.")
    phrases: list[str] = Field(
        default_factory=list,
        description="What callers say for this motive, one phrase each (speech menu).",
    )
    family: Family
    priority: Priority = Priority.normal
    oncall: bool = Field(default=False, description="May reach the on-call technician.")

    @property
    def title(self) -> str:
        """The label as a heading, for pages and spreadsheets: 'Incident technique'."""
        text = self.label.strip()
        for article in ("un ", "une ", "des ", "le ", "la ", "les ", "l'", "l’"):
            if text.lower().startswith(article) and len(text) > len(article):
                text = text[len(article) :]
                break
        return text[:1].upper() + text[1:]

    @field_validator("keywords")
    @classmethod
    def _keywords(cls, words: list[str]) -> list[str]:
        cleaned = [w.strip().lower() for w in words]
        if any(not w for w in cleaned):
            raise ValueError(N_("un mot-clé est vide"))
        return cleaned

    @field_validator("phrases")
    @classmethod
    def _phrases(cls, phrases: list[str]) -> list[str]:
        cleaned = [" ".join(p.split()) for p in phrases]
        if any(not p for p in cleaned):
            raise ValueError("a phrase is empty")
        if len(cleaned) > MAX_PHRASES:
            raise ValueError(f"at most {MAX_PHRASES} phrases per motive ({len(cleaned)} given)")
        if too_long := [p for p in cleaned if len(p) > MAX_PHRASE_LENGTH]:
            raise ValueError(
                f"a phrase has at most {MAX_PHRASE_LENGTH} characters: '{too_long[0][:40]}…'"
            )
        unique = {p.casefold(): p for p in reversed(cleaned)}
        return [p for p in cleaned if unique.pop(p.casefold(), None) is not None]


class Closure(Strict):
    """The manual day/night switch."""

    active: bool = False
    message: str = ""
    until: datetime | None = None

    @field_validator("until")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError(
                "la fin a besoin d'un décalage horaire (par exemple 2026-12-24T14:00:00+01:00)"
            )
        return value

    def in_force(self, now: datetime) -> bool:
        return self.active and (self.until is None or now < self.until)


class Tickets(Strict):
    deadline_hours: dict[Priority, float] = Field(
        default_factory=lambda: {
            Priority.urgent: 4,
            Priority.high: 16,
            Priority.normal: 40,
            Priority.low: 64,
        }
    )
    merge_window_hours: float = Field(default=72, ge=0)
    min_recording_seconds: int = Field(default=3, ge=0)
    voicemail_max_seconds: int = Field(default=120, ge=10, le=3600)
    callback_attempts: int = Field(default=3, ge=1, le=10)
    callback_spacing_minutes: int = Field(default=30, ge=1, le=24 * 60)
    callback_ring_seconds: int = Field(default=25, ge=5, le=120)
    sms: bool = Field(default=False, description="Send SMS (urgent alerts, callback slots).")


class Menu(Strict):
    attempts: int = Field(default=3, ge=1, le=5)
    timeout: int = Field(default=6, ge=2, le=30, description="Seconds of silence before retry.")
    speech: bool = True


class ConfigDocument(Strict):
    """The whole routing configuration, as imported, stored and exported."""

    version: Literal[1] = 1
    service: Service
    calendars: dict[Identifier, Calendar] = Field(min_length=1)
    hotline: Hotline
    referents: list[Referent] = Field(default_factory=list)
    structures: list[Structure] = Field(default_factory=list)
    technicians: list[Technician] = Field(default_factory=list)
    oncall: OnCall | None = None
    contacts: list[Contact] = Field(default_factory=list)
    motives: list[Motive] = Field(min_length=1)
    menu: Menu = Field(default_factory=Menu)
    prompts: Prompts = Field(default_factory=Prompts)
    closure: Closure = Field(default_factory=Closure)
    tickets: Tickets = Field(default_factory=Tickets)

    # -- lookups used by the flows (small lists: linear scans are fine) ----

    def calendar(self, key: str) -> Calendar:
        """The calendar `key` as callers live it: held closed while the manual
        closure switch is on, so its next opening is the first after the closure."""
        calendar = self.calendars[key]
        if not self.closure.active:
            return calendar
        return calendar.closed_until(self.closure.until)

    def structure(self, key: str) -> Structure | None:
        return next((s for s in self.structures if s.id == key), None)

    def structure_for_department(self, code: str) -> Structure | None:
        return next((s for s in self.structures if code in s.departments), None)

    def referent(self, key: str) -> Referent | None:
        return next((r for r in self.referents if r.id == key), None)

    def technician(self, key: str) -> Technician | None:
        return next((t for t in self.technicians if t.id == key), None)

    def contact(self, number: str) -> Contact | None:
        return next((c for c in self.contacts if c.number == number), None)

    def motive_by_digit(self, digit: str) -> Motive | None:
        return next((m for m in self.motives if m.digit == digit), None)

    def motive(self, key: str) -> Motive | None:
        return next((m for m in self.motives if m.key == key), None)
