""" "What happens if…": play a call through the live flow code at a chosen moment.

The simulator calls the very steps the webhooks call (`ivr.flows.welcome`,
`menu`, `structure`, `dialing`, `voicemail`) with the chosen instant as
`now`, and reads what the caller hears from the TwiML they return, like the
console phone does. It differs from the console phone in two deliberate ways:

- it does not go through the webhooks, so it writes nothing: no call in the
  call book, no ticket, no callback. The voicemail and callback "sinks" are
  in memory (the ticket number heard is an example); the callback time is
  computed by the same rule as `ivr.voice.aftercall.callback_sink`.
- it does not freeze the process clock (`schedules.clock.frozen_at` is global to
  the process: a web worker answering real calls at the same time would see
  the frozen time). Every step takes `now` as an argument; that is enough.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from flask_babel import gettext

from ivr.config import ConfigDocument
from ivr.flows import dialing, menu, queue, structure, voicemail, welcome
from ivr.flows.state import (
    CALLBACK_CHOICE,
    DEPARTMENT,
    MENU,
    CallState,
    Event,
    Leg,
    Step,
)
from ivr.voice.aftercall import answering_side

SIMULATED_SID = "CA" + "0" * 32
EXAMPLE_TICKET = "123456"
EXAMPLE_RECORDING = voicemail.Recording("RE" + "0" * 32, "https://example.invalid/message", 20)
MAX_STEPS = 40

Answer = Literal["answer", "no-answer", "busy"]
"""Who rings: the first picks up, nobody answers, or everybody is already on a call."""
LineKind = Literal["say", "dial", "caller", "note"]


@dataclass(frozen=True, slots=True)
class Line:
    """One line of the transcript: what the caller hears, a transfer, a key pressed."""

    kind: LineKind
    text: str


@dataclass(slots=True)
class Simulation:
    moment: datetime
    route: str = ""
    answering: str = ""
    urgent: bool = False
    callback_at: datetime | None = None
    legs: list[Leg] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    answered_by: str = ""
    outcome: str = ""

    @property
    def heard(self) -> list[str]:
        return [line.text for line in self.lines if line.kind == "say"]


@dataclass(frozen=True, slots=True)
class Scenario:
    """The caller: who, why, and what happens on the other side."""

    moment: datetime
    motive: str
    caller: str = ""
    department: str = ""
    answer: Answer = "answer"
    wants_callback: bool = True


def _root(step: Step) -> ET.Element:
    return ET.fromstring(step.twiml)


def _hear(sim: Simulation, element: ET.Element) -> None:
    for say in element.iter("Say"):
        sim.lines.append(Line("say", (say.text or "").strip()))


def _record(sim: Simulation, step: Step) -> None:
    sim.events.extend(step.events)
    for event in step.events:
        if event.kind == "route":
            sim.route = str(event.data.get("route", ""))
            sim.answering = str(event.data.get("answering", sim.answering))
            sim.urgent = bool(event.data.get("urgent", False))
        elif event.kind == "answered":
            sim.answered_by = str(event.data.get("target", ""))
    if step.state.route and not sim.route:
        sim.route = step.state.route
    sim.legs = list(step.state.legs) or sim.legs


class _Player:
    def __init__(self, doc: ConfigDocument, scenario: Scenario) -> None:
        self.doc = doc
        self.scenario = scenario
        self.now = scenario.moment
        self.sim = Simulation(moment=scenario.moment)
        self.busy: frozenset[str] = frozenset()
        if scenario.answer == "busy":
            self.busy = frozenset(_every_number(doc))
        self.department_tries = 0

    def run(self) -> Simulation:
        state = CallState(
            call_sid=SIMULATED_SID,
            caller=self.scenario.caller,
            called=self.doc.service.numbers[0],
            started_at=self.now,
        )
        step = welcome.incoming(state, self.doc, self.now)
        for _ in range(MAX_STEPS):
            _record(self.sim, step)
            following = self._play(step)
            if following is None:
                break
            step = following
        else:
            self.sim.outcome = gettext("le scénario ne s'est pas terminé")
        return self.sim

    def _play(self, step: Step) -> Step | None:
        """Hear the step's TwiML and answer its first question; None when the call ends."""
        for verb in _root(step):
            if verb.tag == "Say":
                _hear(self.sim, verb)
            elif verb.tag == "Gather":
                _hear(self.sim, verb)
                # The action's path: its query only tells Twilio's retries apart.
                action = (verb.get("action") or "").partition("?")[0]
                return self._gather(step.state, action)
            elif verb.tag == "Dial":
                return self._dial(step.state)
            elif verb.tag == "Record":
                return self._message(step.state)
            elif verb.tag == "Enqueue":
                return self._wait()
            elif verb.tag == "Hangup":
                self.sim.outcome = self.sim.outcome or gettext("le service raccroche")
                return None
        self.sim.outcome = self.sim.outcome or gettext("fin de l'appel")
        return None

    def _press(self, keys: str) -> None:
        self.sim.lines.append(Line("caller", f"l'appelant tape {keys}" if keys else "silence"))

    def _gather(self, state: CallState, action: str) -> Step | None:
        doc, now = self.doc, self.now
        if action == MENU:
            motive = doc.motive(self.scenario.motive)
            digit = motive.digit if motive is not None else ""
            self._press(digit)
            return menu.choose(state, doc, now, self.busy, digit, "")
        if action == DEPARTMENT:
            self.department_tries += 1
            keys = f"{self.scenario.department}#" if self.scenario.department else ""
            self._press(keys)
            return structure.choose(state, doc, now, self.busy, keys)
        if action == CALLBACK_CHOICE:
            keys = "1" if self.scenario.wants_callback else "2"
            self._press(keys)
            return voicemail.callback_choice(state, doc, now, keys, self._callback_sink)
        self.sim.outcome = f"question inattendue ({action})"
        return None

    def _dial(self, state: CallState) -> Step:
        leg = state.current_leg
        assert leg is not None  # a <Dial> is only answered with a current leg
        numbers = ", ".join(leg.numbers)
        self.sim.lines.append(Line("dial", f"sonne {leg.label} ({numbers}, {leg.timeout} s)"))
        if self.scenario.answer != "answer":
            self.sim.lines.append(Line("note", gettext("pas de réponse")))
            return dialing.dial_result(state, self.doc, self.now, self.busy, "no-answer", 0)
        if leg.whisper:
            whisper = dialing.whisper(state, self.doc)
            for say in _root(whisper).iter("Say"):
                self.sim.lines.append(Line("note", f"au technicien : {say.text}"))
                break
            state = dialing.whisper_answer(whisper.state, self.doc, "1").state
            self.sim.lines.append(Line("note", gettext("le technicien tape 1 et accepte")))
        self.sim.lines.append(Line("note", gettext("%(label)s répond", label=leg.label)))
        self.sim.outcome = f"conversation avec {leg.label}"
        return dialing.dial_result(state, self.doc, self.now, self.busy, "completed", 60)

    def _wait(self) -> None:
        """The first announcement of the line, as the wait URL says it to a first caller."""
        self.sim.lines.append(Line("note", f"mis en file d'attente : {self.doc.hotline.name}"))
        waiting = queue.Waiting(position=1, waited=0, average=0)
        leave = queue.leaving(self.doc, self.now, waiting)
        _hear(self.sim, ET.fromstring(queue.wait_twiml(self.doc, self.now, waiting, leave)))
        self.sim.outcome = "en file d'attente jusqu'à ce qu'un conseiller se libère"

    def _message(self, state: CallState) -> Step:
        self.sim.lines.append(Line("caller", gettext("(bip) l'appelant laisse un message de 20 s")))
        self.sim.outcome = gettext("message laissé")
        return voicemail.recorded(
            state, self.doc, self.now, EXAMPLE_RECORDING, self._voicemail_sink
        )

    def _voicemail_sink(self, state: CallState, recording: voicemail.Recording) -> str | None:
        self.sim.lines.append(
            Line(
                "note",
                gettext(
                    "numéro de ticket d'exemple : %(EXAMPLE_TICKET)s", EXAMPLE_TICKET=EXAMPLE_TICKET
                ),
            )
        )
        return EXAMPLE_TICKET

    def _callback_sink(self, state: CallState) -> datetime | None:
        """When `ivr.voice.aftercall.callback_sink` would schedule the callback."""
        if not state.caller.startswith("+"):
            return None
        _, calendar, _ = answering_side(self.doc, state)
        due = state.callback_at if state.callback_at and state.callback_at > self.now else None
        due = due or calendar.next_opening(self.now)
        self.sim.callback_at = due
        return due


def _every_number(doc: ConfigDocument) -> list[str]:
    people = [*doc.referents, *doc.technicians]
    return [*doc.hotline.numbers, *(n for person in people for n in person.numbers)]


def simulate(doc: ConfigDocument, scenario: Scenario) -> Simulation:
    """Play `scenario` against `doc`; writes nothing anywhere."""
    if scenario.moment.tzinfo is None:
        raise ValueError("a simulation needs an aware moment")
    return _Player(doc, scenario).run()
