"""Who should answer, decided from the motive family, the structure and the clock.

The hotline rules: usage questions go to the caller's local referents;
incidents and other requests go to the national hotline; a hosting-platform
emergency goes to the hotline when it is open and to the on-call technician
when it is closed and an on-call window is active. Outside the windows the
emergency caller is told when the on-call line is next staffed and leaves an
urgent message, passed to whoever is on duty when that window opens. A
structure that is closed while the hotline is open sends its callers to the
hotline.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from ivr.config import ConfigDocument, Family, Motive, Structure
from ivr.config.document import Referent, Ring
from ivr.flows.speech import closed_phrase, spoken_when, spoken_window
from ivr.flows.state import CallState, Event, Leg, Route
from schedules import Calendar


@dataclass(slots=True)
class Plan:
    route: Route
    legs: list[Leg] = field(default_factory=list)
    sentences: list[str] = field(default_factory=list)
    urgent: bool = False
    callback_at: datetime | None = None
    answering: str = "hotline"


def ring_legs(
    kind: str, target: str, label: str, numbers: list[str], ring: Ring, whisper: bool = False
) -> list[Leg]:
    """Simultaneous: one leg with every number; sequential: one leg per number."""
    groups = [numbers] if ring.strategy == "simultaneous" else [[n] for n in numbers]
    return [
        Leg(kind=kind, target=target, label=label, numbers=g, timeout=ring.timeout, whisper=whisper)  # type: ignore[arg-type]
        for g in groups
    ]


def hotline_legs(doc: ConfigDocument) -> list[Leg]:
    hotline = doc.hotline
    return ring_legs("hotline", "hotline", hotline.name, hotline.numbers, hotline.ring)


def _referent_available(doc: ConfigDocument, referent: Referent, now: datetime) -> bool:
    # A referent's own hours are read in the referent's own time zone.
    return referent.calendar is None or doc.calendar(referent.calendar).is_open(now)


def referent_legs(doc: ConfigDocument, structure: Structure, now: datetime) -> list[Leg]:
    legs: list[Leg] = []
    for key in structure.referents:
        referent = doc.referent(key)
        if referent is None or not _referent_available(doc, referent, now):
            continue
        legs += ring_legs("referent", referent.id, referent.name, referent.numbers, referent.ring)
    return legs


def oncall_legs(doc: ConfigDocument, now: datetime) -> list[Leg]:
    """The escalation list of the technician on duty, or [] outside the windows."""
    if doc.oncall is None:
        return []
    duty = doc.oncall.schedule.on_call(now)
    if duty is None:
        return []
    legs = []
    for key in duty.escalation:
        tech = doc.technician(key)
        if tech is None or not tech.active:
            continue
        legs.append(
            Leg(
                kind="oncall",
                target=tech.id,
                label=tech.name,
                numbers=list(tech.numbers),
                timeout=doc.oncall.ring_timeout,
                whisper=True,
            )
        )
    return legs


@dataclass(frozen=True, slots=True)
class OnCallAlert:
    """When an urgent message alerts the on-call line, in which window, and whom."""

    due: datetime
    window: tuple[datetime, datetime]
    legs: list[Leg]


ALERT_WINDOWS = 8
"""Windows searched for one with somebody active to alert."""


def oncall_alert(doc: ConfigDocument, now: datetime) -> OnCallAlert | None:
    """Now, during a window with somebody to ring; otherwise the start of the next
    window that has somebody, for the escalation list of that moment.

    The technicians are those on duty when the window opens, not now: the rota
    may hand over (or an override begin) in between. Never during the night.
    """
    if doc.oncall is None:
        return None
    schedule = doc.oncall.schedule
    window = schedule.window_at(now)
    if window is not None and (legs := oncall_legs(doc, now)):
        return OnCallAlert(now, window, legs)
    at = now
    for _ in range(ALERT_WINDOWS):
        window = schedule.next_window(at)
        if window is None:
            return None
        legs = oncall_legs(doc, window[0])
        if legs:
            return OnCallAlert(window[0], window, legs)
        at = window[0]
    return None


def needs_structure(motive: Motive | None) -> bool:
    """Only usage questions are answered locally, so only they need the structure."""
    return motive is not None and motive.family is Family.usage


def plan_route(state: CallState, doc: ConfigDocument, now: datetime) -> Plan:
    motive = doc.motive(state.motive) if state.motive else None
    structure = doc.structure(state.structure) if state.structure else None
    hotline = doc.calendar(doc.hotline.calendar)
    if needs_structure(motive) and structure is not None:
        if structure.support == "no_phone":
            return Plan("no_phone", sentences=[structure.redirect_message], answering=structure.id)
        if structure.support == "phone":
            own = doc.calendar(structure.calendar)
            if own.is_open(now):
                legs = referent_legs(doc, structure, now)
                if hotline.is_open(now):
                    legs += hotline_legs(doc)
                if legs:
                    return Plan("referent", legs=legs, answering=structure.id)
                if not hotline.is_open(now):
                    # Open, but none of its referents is available and the
                    # hotline is closed: a message, called back at the next
                    # opening of the structure.
                    return Plan(
                        "voicemail",
                        sentences=[doc.prompts.no_answer],
                        callback_at=own.next_business_morning(now),
                        answering=structure.id,
                    )
            if not hotline.is_open(now):
                return _closed(doc, motive, own, now, structure.id)
    if hotline.is_open(now):
        return Plan("hotline", legs=hotline_legs(doc))
    return _closed(doc, motive, hotline, now, "hotline")


def _closed(
    doc: ConfigDocument, motive: Motive | None, calendar: Calendar, now: datetime, answering: str
) -> Plan:
    reason = calendar.why_closed(now)
    sentences = []
    if reason is not None:
        sentences.append(doc.prompts.say("closed", reason=closed_phrase(reason)))
    if motive is not None and motive.oncall:
        legs = oncall_legs(doc, now)
        if legs:
            return Plan("oncall", legs=legs, sentences=sentences, urgent=True, answering=answering)
        alert = oncall_alert(doc, now)
        if alert is not None:
            # Outside the windows: an urgent message, no callback time (the
            # technician alerted at the window's start calls back).
            when = spoken_window(*alert.window, now)
            sentences.append(doc.prompts.say("oncall_next", when=when))
            return Plan("closed", sentences=sentences, urgent=True, answering=answering)
    reopen = calendar.next_opening(now)
    if reopen is not None:
        sentences.append(doc.prompts.say("reopens", when=spoken_when(reopen, now)))
    return Plan("closed", sentences=sentences, callback_at=reopen, answering=answering)


def route_event(plan: Plan) -> Event:
    return Event(
        "route",
        {
            "route": plan.route,
            "answering": plan.answering,
            "legs": [leg.target for leg in plan.legs],
            "urgent": plan.urgent,
            "callback_at": plan.callback_at.isoformat() if plan.callback_at else None,
        },
    )
