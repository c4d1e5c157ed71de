"""Open or closed now and why, who is on call now and next: the "Aujourd'hui" page.

Everything is computed by the same time rules the voice flow uses
(`schedules.Calendar`, `schedules.OnCallSchedule`) for one instant `now`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext, lazy_gettext

from ivr.config import ConfigDocument
from schedules import Calendar
from schedules.calendar import ClosedKind, ClosedReason

SUPPORT_NOTES = {
    "phone": "",
    "no_phone": lazy_gettext("pas d'accueil téléphonique (message de redirection)"),
    "hotline_only": lazy_gettext("appels dirigés vers l'assistance nationale"),
}


@dataclass(frozen=True, slots=True)
class OpenState:
    """One side that answers calls (the hotline, a structure) at `now`."""

    key: str
    name: str
    calendar: str
    timezone: str
    is_open: bool
    reason: str
    """Why it is closed ('jour férié : Noël'); empty when open."""
    closes_at: datetime | None
    """End of the current opening range, when open."""
    next_opening: datetime | None
    """When it opens next, when closed (in the calendar's zone)."""
    note: str = ""


@dataclass(frozen=True, slots=True)
class Duty:
    """The on-call line: the window, the escalation list by name, next window."""

    configured: bool
    window: tuple[datetime, datetime] | None
    escalation: tuple[str, ...]
    rest_day: bool
    override: str
    next_window: tuple[datetime, datetime] | None
    next_escalation: tuple[str, ...]

    @property
    def primary(self) -> str:
        return self.escalation[0] if self.escalation else ""

    @property
    def next_primary(self) -> str:
        return self.next_escalation[0] if self.next_escalation else ""


@dataclass(frozen=True, slots=True)
class ClosureState:
    """The manual switch: in force now or not, its message and end."""

    active: bool
    in_force: bool
    message: str
    until: datetime | None


def closed_reason(reason: ClosedReason) -> str:
    """Why a calendar is closed, in the reader's language ('jour férié : Noël')."""
    if reason.kind is ClosedKind.holiday:
        return gettext("jour férié : %(name)s", name=reason.label)
    if reason.kind is ClosedKind.closure:
        return gettext("fermeture exceptionnelle : %(name)s", name=reason.label)
    if reason.kind is ClosedKind.lunch:
        return gettext("pause de midi")
    if reason.kind is ClosedKind.manual:
        return gettext("fermeture manuelle")
    return gettext("hors horaires")


def _state(key: str, name: str, calendar_key: str, calendar: Calendar, now: datetime,
           note: str = "") -> OpenState:  # fmt: skip
    current = calendar.current_range(now)
    reason = calendar.why_closed(now)
    return OpenState(
        key=key,
        name=name,
        calendar=calendar_key,
        timezone=calendar.timezone,
        is_open=current is not None,
        reason="" if reason is None else closed_reason(reason),
        closes_at=current[1] if current else None,
        next_opening=None if current else calendar.next_opening(now),
        note=note,
    )


def opening_states(doc: ConfigDocument, now: datetime) -> list[OpenState]:
    """The hotline first, then every structure in the document's order."""
    hotline = doc.hotline
    states = [
        _state("hotline", hotline.name, hotline.calendar, doc.calendar(hotline.calendar), now)
    ]
    for structure in doc.structures:
        states.append(
            _state(
                structure.id,
                structure.name,
                structure.calendar,
                doc.calendar(structure.calendar),
                now,
                SUPPORT_NOTES.get(structure.support, ""),
            )
        )
    return states


def technician_names(doc: ConfigDocument, keys: tuple[str, ...]) -> tuple[str, ...]:
    """Names for rota keys; an inactive technician is marked, an unknown key kept as is."""
    names = []
    for key in keys:
        tech = doc.technician(key)
        if tech is None:
            names.append(key)
        elif not tech.active:
            names.append(gettext("%(name)s (inactif)", name=tech.name))
        else:
            names.append(tech.name)
    return tuple(names)


def duty(doc: ConfigDocument, now: datetime) -> Duty:
    if doc.oncall is None:
        return Duty(False, None, (), False, "", None, ())
    schedule = doc.oncall.schedule
    current = schedule.on_call(now)
    upcoming = schedule.next_window(now)
    next_escalation: tuple[str, ...] = ()
    if upcoming is not None:
        next_escalation = technician_names(doc, schedule.escalation_at(upcoming[0])[0])
    if current is None:
        return Duty(True, None, (), False, "", upcoming, next_escalation)
    return Duty(
        configured=True,
        window=(current.window_start, current.window_end),
        escalation=technician_names(doc, current.escalation),
        rest_day=current.rest_day,
        override=current.override,
        next_window=upcoming,
        next_escalation=next_escalation,
    )


def closure_state(doc: ConfigDocument, now: datetime) -> ClosureState:
    closure = doc.closure
    return ClosureState(closure.active, closure.in_force(now), closure.message, closure.until)
