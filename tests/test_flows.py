"""The call-flow steps as pure functions, at real moments of the hotline rules."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from twilio.twiml import GenericNode
from twilio.twiml import TwiML as TwiMLNode
from twilio.twiml.voice_response import VoiceResponse

from ivr.config import ConfigDocument, demo_yaml_text, validate_document
from ivr.config.document import Closure
from ivr.flows import dialing, menu, structure, voicemail, welcome
from ivr.flows.speech import spoken_window
from ivr.flows.state import CallState, Step, twiml_text
from tests.conftest import paris
from tests.twiml import TwiML

NOBODY: frozenset[str] = frozenset()
STRANGER = "+33612345678"


@pytest.fixture(scope="module")
def doc() -> ConfigDocument:
    return validate_document(yaml.safe_load(demo_yaml_text()))


def start(doc: ConfigDocument, now: datetime, caller: str = STRANGER) -> Step:
    return welcome.incoming(CallState(call_sid="CA" + "1" * 32, caller=caller), doc, now)


def press(doc: ConfigDocument, step: Step, now: datetime, digit: str, busy: Any = NOBODY) -> Step:
    return menu.choose(step.state, doc, now, busy, digit, "")


def test_welcome_then_menu(doc: ConfigDocument) -> None:
    step = start(doc, paris(2026, 12, 1, 10, 0))
    twiml = TwiML.parse(step.twiml)
    assert twiml.verbs == ["Say", "Gather", "Redirect"]
    gather = twiml.first("Gather")
    assert gather.get("input") == "dtmf speech"
    assert gather.get("action") == "/voice/menu?step=0"
    assert gather.get("language") == "fr-FR"
    assert "Pour un incident technique, tapez 1." in twiml.says
    assert twiml.first("Say").get("language") == "fr-FR"


def test_known_contact_is_recognised(doc: ConfigDocument) -> None:
    step = start(doc, paris(2026, 12, 1, 10, 0), caller="04 65 71 99 01")
    assert step.state.caller == "+33465719901"
    assert step.state.contact == "Paul Morel"
    assert (step.state.structure, step.state.structure_source) == ("auvergne", "contact")
    # A usage question goes straight to the Auvergne referents, no department asked.
    routed = press(doc, step, paris(2026, 12, 1, 10, 0), "2")
    twiml = TwiML.parse(routed.twiml)
    assert twiml.says[0] == "Vous appelez pour une question sur l'utilisation du logiciel."
    assert twiml.dialed == ["+33465711020"]  # sequential: first number of the first referent
    dial = twiml.first("Dial")
    assert dial.get("callerId") == "+33465719901"
    assert dial.get("action") == "/voice/dial-result?step=0"
    assert dial.get("timeout") == "15"


def test_manual_closure_goes_to_voicemail(doc: ConfigDocument) -> None:
    closed = doc.model_copy(
        update={
            "closure": doc.closure.model_copy(
                update={"active": True, "message": "Fermé pour inventaire."}
            )
        }
    )
    twiml = TwiML.parse(start(closed, paris(2026, 12, 1, 10, 0)).twiml)
    assert "Fermé pour inventaire." in twiml.says
    assert "Record" in twiml.verbs and "Gather" not in twiml.verbs


def manually_closed(doc: ConfigDocument, until: datetime | None) -> ConfigDocument:
    closure = Closure(active=True, message="Fermé pour inventaire.", until=until)
    return doc.model_copy(update={"closure": closure})


def keep_message(state: CallState, recording: voicemail.Recording) -> str | None:
    return "123456"


RECORDING = voicemail.Recording("RE" + "1" * 32, "https://x/RE1", 20)


@pytest.mark.parametrize(
    ("moment", "until", "reopens", "heard"),
    [
        ((2026, 12, 1, 10, 0), (2026, 12, 1, 15, 0), (2026, 12, 1, 15, 0), "aujourd'hui à 15 h"),
        # Ending in the lunch break: the afternoon opening.
        ((2026, 12, 1, 10, 0), (2026, 12, 1, 12, 30), (2026, 12, 1, 14, 0), "aujourd'hui à 14 h"),
        # Christmas Eve until the evening: Christmas Day, then the weekend.
        ((2026, 12, 24, 10, 0), (2026, 12, 24, 18, 0), (2026, 12, 28, 9, 0),
         "lundi 28 décembre à 9 h"),
        # Then the team seminar (exceptional closure on 11 and 12 June), then the weekend.
        ((2026, 6, 10, 10, 0), (2026, 6, 10, 18, 0), (2026, 6, 15, 9, 0), "lundi 15 juin à 9 h"),
    ],
)  # fmt: skip
def test_manual_closure_names_the_first_opening_after_it(
    doc: ConfigDocument,
    moment: tuple[int, ...],
    until: tuple[int, ...],
    reopens: tuple[int, ...],
    heard: str,
) -> None:
    now, closed = paris(*moment), manually_closed(doc, paris(*until))
    step = start(closed, now)
    twiml = TwiML.parse(step.twiml)
    assert twiml.says[1:3] == ["Fermé pour inventaire.", f"Il rouvrira {heard}."]
    assert (step.state.route, step.state.callback_at) == ("closed", paris(*reopens))
    # After the message, the callback is offered (the sink schedules it at that time).
    after = voicemail.recorded(step.state, closed, now, RECORDING, keep_message)
    assert TwiML.parse(after.twiml).first("Gather").get("action") == "/voice/callback-choice?step=0"
    # A call already in the menu when the switch is turned on is routed as closed too.
    menu_first = press(closed, start(doc, now), now, "1")
    said = TwiML.parse(menu_first.twiml).says
    assert "Le service est actuellement fermé : fermeture exceptionnelle." in said
    assert f"Il rouvrira {heard}." in said and "Record" in TwiML.parse(menu_first.twiml).verbs
    assert menu_first.state.callback_at == paris(*reopens)


def test_manual_closure_without_end_promises_no_time(doc: ConfigDocument) -> None:
    now, closed = paris(2026, 12, 1, 10, 0), manually_closed(doc, None)
    step = start(closed, now)
    assert not any("rouvrira" in say for say in TwiML.parse(step.twiml).says)
    assert step.state.callback_at is None
    after = voicemail.recorded(step.state, closed, now, RECORDING, keep_message)
    assert "Gather" not in TwiML.parse(after.twiml).verbs  # no callback offered


@pytest.mark.parametrize(
    ("moment", "window", "alert"),
    [
        ((2026, 11, 28, 23, 30), "demain de 9 h à 10 h", "demain à 9 h"),  # Saturday night
        ((2026, 12, 1, 22, 30), "demain de 6 h à 22 h", "demain à 6 h"),  # Tuesday night
        # Eve of Ascension (Thursday 14 May): the holiday follows the weekend pattern.
        ((2026, 5, 13, 22, 30), "demain de 9 h à 10 h", "demain à 9 h"),
        ((2026, 11, 28, 12, 0), "aujourd'hui de 16 h à 17 h", "aujourd'hui à 16 h"),
        # Saturday 28 March, the night clocks spring forward: 09:00 local all the same.
        ((2026, 3, 28, 23, 30), "demain de 9 h à 10 h", "demain à 9 h"),
    ],
)
def test_emergency_outside_the_oncall_windows(
    doc: ConfigDocument, moment: tuple[int, ...], window: str, alert: str
) -> None:
    now = paris(*moment)
    step = press(doc, start(doc, now), now, "9")
    twiml = TwiML.parse(step.twiml)
    assert f"L'astreinte sera joignable {window}." in twiml.says
    assert not any("rouvrira" in say or "immédiatement" in say for say in twiml.says)
    assert (step.state.route, step.state.urgent, step.state.legs) == ("closed", True, [])
    assert doc.prompts.voicemail_urgent_later in twiml.says and "Record" in twiml.verbs
    after = TwiML.parse(voicemail.recorded(step.state, doc, now, RECORDING, keep_message).twiml)
    assert f"Le technicien d'astreinte sera prévenu {alert}, dès le début de l'astreinte." in (
        after.says
    )
    assert "Gather" not in after.verbs  # the technician calls back, not the hotline


def test_spoken_windows() -> None:
    now = paris(2026, 12, 1, 22, 30)  # Tuesday
    assert spoken_window(paris(2026, 12, 1, 23), paris(2026, 12, 2, 0), now) == (
        "aujourd'hui de 23 h à minuit"
    )
    assert spoken_window(paris(2026, 12, 2, 9), paris(2026, 12, 2, 12), now) == (
        "demain de 9 h à midi"
    )
    assert spoken_window(paris(2026, 12, 3, 9), paris(2026, 12, 3, 10, 30), now) == (
        "jeudi de 9 h à 10 h 30"
    )
    assert spoken_window(paris(2026, 12, 8, 6), paris(2026, 12, 8, 22), now) == (
        "mardi 8 décembre de 6 h à 22 h"
    )


def test_invalid_choice_three_times_goes_to_hotline(doc: ConfigDocument) -> None:
    now = paris(2026, 12, 1, 10, 0)
    step = start(doc, now)
    for attempt in (1, 2):
        step = press(doc, step, now, "7")
        twiml = TwiML.parse(step.twiml)
        assert twiml.says[0] == "Cette touche ne correspond à aucun choix."
        assert "Gather" in twiml.verbs, attempt
    step = menu.choose(step.state, doc, now, NOBODY, "", "")
    twiml = TwiML.parse(step.twiml)
    assert twiml.says[0] == "Nous n'avons rien entendu."
    assert "Nous vous mettons en relation avec l'assistance nationale." in twiml.says
    assert twiml.dialed == ["+33199002000", "+33199002001"]  # simultaneous hotline
    assert step.state.route == "hotline"


def test_speech_keywords(doc: ConfigDocument) -> None:
    def heard(speech: str) -> tuple[str, str]:
        step = menu.choose(
            start(doc, paris(2026, 12, 1, 10, 0)).state,
            doc,
            paris(2026, 12, 1, 10, 0),
            NOBODY,
            "",
            speech,
        )
        return step.state.motive, step.state.motive_channel

    assert heard("J'ai une PANNE sur le logiciel") == ("incident", "speech")
    assert heard("mot de passe oublié") == ("account", "speech")
    assert heard("évolution") == ("evolution", "speech")
    assert heard("bonjour madame") == ("", "")
    step = menu.choose(
        start(doc, paris(2026, 12, 1, 10, 0)).state,
        doc,
        paris(2026, 12, 1, 10, 0),
        NOBODY,
        "12345678901234567890",
        "",
    )
    assert step.state.motive == "" and step.state.menu_attempts == 1


def test_christmas_eve_evening_closed_with_callback_monday(doc: ConfigDocument) -> None:
    now = paris(2026, 12, 24, 17, 45)
    step = press(doc, start(doc, now), now, "1")  # incident -> hotline, closed
    twiml = TwiML.parse(step.twiml)
    assert (
        "Le service est actuellement fermé : nous sommes en dehors des horaires d'ouverture."
        in twiml.says
    )
    assert "Il rouvrira lundi 28 décembre à 9 h." in twiml.says
    assert not any("rappellerons" in say for say in twiml.says)  # only if asked for
    record = twiml.first("Record")
    assert record.get("action") == "/voice/voicemail?step=0"
    assert record.get("recordingStatusCallback") == "/voice/recording-status"
    assert step.state.callback_at == paris(2026, 12, 28, 9, 0)
    assert twiml.hangs_up


@pytest.mark.parametrize(
    ("moment", "route"),
    [
        ((2026, 12, 25, 9, 30), "oncall"),  # Christmas morning, rest-day window
        ((2026, 11, 28, 9, 30), "oncall"),  # Saturday 09:30
        ((2026, 11, 28, 12, 0), "closed"),  # Saturday noon: between windows
        ((2026, 5, 14, 9, 30), "oncall"),  # Ascension: weekend windows
        ((2026, 5, 14, 11, 0), "closed"),
        ((2026, 12, 1, 20, 0), "oncall"),  # weekday evening, 06:00-22:00 window
        ((2026, 12, 1, 10, 0), "hotline"),  # hotline open: the hotline answers
    ],
)
def test_emergency_routes(doc: ConfigDocument, moment: tuple[int, ...], route: str) -> None:
    now = paris(*moment)
    step = press(doc, start(doc, now), now, "9")
    assert step.state.route == route
    twiml = TwiML.parse(step.twiml)
    if route == "oncall":
        assert "Nous vous mettons en relation avec le technicien d'astreinte." in twiml.says
        number = twiml.first("Number")
        assert number.get("url") == "/voice/whisper?step=0"
        assert step.state.urgent


def test_christmas_morning_whisper_and_escalation(doc: ConfigDocument) -> None:
    now = paris(2026, 12, 25, 9, 30)
    step = press(doc, start(doc, now), now, "9")
    assert [leg.target for leg in step.state.legs] == ["chloe", "alice", "bruno"]
    assert "jour férié, Noël" in TwiML.parse(step.twiml).spoken
    whisper = TwiML.parse(dialing.whisper(step.state, doc).twiml)
    assert "06 12 34 56 78" in whisper.spoken and "urgence sur la plateforme" in whisper.spoken
    assert whisper.first("Gather").get("action") == "/voice/whisper-answer?step=0"
    # chloe picks up but does not press 1: the Dial completes unaccepted -> alice is rung.
    after = dialing.dial_result(step.state, doc, now, NOBODY, "completed", 4)
    assert TwiML.parse(after.twiml).dialed == ["+33199004001"]
    # alice accepts, then the conversation ends: goodbye.
    accepted = dialing.whisper_answer(after.state, doc, "1")
    assert accepted.state.accepted_leg == 1
    done = dialing.dial_result(accepted.state, doc, now, NOBODY, "completed", 120)
    assert done.state.finished and TwiML.parse(done.twiml).hangs_up
    # Nobody answers at all: urgent voicemail.
    last = dialing.dial_result(
        step.state.model_copy(update={"leg_index": 2}), doc, now, NOBODY, "no-answer", 0
    )
    twiml = TwiML.parse(last.twiml)
    assert "Record" in twiml.verbs
    assert any("alerté immédiatement" in s for s in twiml.says)


def test_busy_technician_is_skipped(doc: ConfigDocument) -> None:
    now = paris(2026, 12, 25, 9, 30)
    step = press(doc, start(doc, now), now, "9", busy=frozenset({"+33199004003"}))
    assert TwiML.parse(step.twiml).dialed == ["+33199004001"]
    assert any(e.kind == "dial.skipped" for e in step.events)


def test_good_friday_moselle_structure_closed_hotline_open(doc: ConfigDocument) -> None:
    now = paris(2026, 4, 3, 10, 0)
    step = press(doc, start(doc, now), now, "2")
    step = structure.choose(step.state, doc, now, NOBODY, "57")
    twiml = TwiML.parse(step.twiml)
    assert twiml.says[0] == "Vous dépendez de la structure Alsace-Moselle."
    assert step.state.route == "hotline"  # the structure is closed, the hotline is open
    assert twiml.dialed == ["+33199002000", "+33199002001"]


def test_reunion_structure_in_its_own_zone(doc: ConfigDocument) -> None:
    # 08:30 in Paris is 11:30 in La Réunion: the referent is rung.
    now = paris(2026, 12, 1, 8, 30)
    step = structure.choose(press(doc, start(doc, now), now, "2").state, doc, now, NOBODY, "974")
    assert step.state.route == "referent"
    assert TwiML.parse(step.twiml).dialed == ["+262262501020"]
    # 08:30 Paris on a Saturday: both closed; told when La Réunion reopens (Monday 08:00 there).
    saturday = paris(2026, 11, 28, 8, 30)
    step = structure.choose(
        press(doc, start(doc, saturday), saturday, "2").state, doc, saturday, NOBODY, "974"
    )
    assert "Il rouvrira lundi 30 novembre à 8 h." in TwiML.parse(step.twiml).says


def test_no_phone_structure_redirects(doc: ConfigDocument) -> None:
    now = paris(2026, 12, 1, 10, 0)
    step = structure.choose(press(doc, start(doc, now), now, "2").state, doc, now, NOBODY, "201")
    twiml = TwiML.parse(step.twiml)
    assert step.state.structure == "corse" and step.state.route == "no_phone"
    assert any("formulaire" in s for s in twiml.says)
    assert "Record" in twiml.verbs


def test_unknown_department_retry_then_hotline(doc: ConfigDocument) -> None:
    now = paris(2026, 12, 1, 10, 0)
    step = press(doc, start(doc, now), now, "2")
    step = structure.choose(step.state, doc, now, NOBODY, "99")
    assert "Gather" in TwiML.parse(step.twiml).verbs
    step = structure.choose(step.state, doc, now, NOBODY, "9" * 5000)
    assert step.state.route == "hotline"


def test_referents_then_hotline_then_voicemail(doc: ConfigDocument) -> None:
    now = paris(2026, 12, 1, 10, 0)
    step = structure.choose(press(doc, start(doc, now), now, "2").state, doc, now, NOBODY, "63")
    targets = [(leg.target, leg.numbers) for leg in step.state.legs]
    assert targets == [
        ("auvergne-durand", ["+33465711020"]),
        ("auvergne-durand", ["+33465711021"]),
        ("auvergne-roux", ["+33465711030"]),
        ("hotline", ["+33199002000", "+33199002001"]),
    ]
    state = step.state
    for expected in (["+33465711021"], ["+33465711030"], ["+33199002000", "+33199002001"]):
        step = dialing.dial_result(state, doc, now, NOBODY, "no-answer", 0)
        assert TwiML.parse(step.twiml).dialed == expected
        state = step.state
    step = dialing.dial_result(state, doc, now, NOBODY, "busy", 0)
    twiml = TwiML.parse(step.twiml)
    # The hotline is open: the caller waits in its line (the demo has one)...
    assert twiml.verbs == ["Say", "Enqueue"] and step.state.queued
    # ...and without a line, leaves a message.
    queue = doc.hotline.queue.model_copy(update={"enabled": False})
    no_line = doc.model_copy(update={"hotline": doc.hotline.model_copy(update={"queue": queue})})
    step = dialing.dial_result(state, no_line, now, NOBODY, "busy", 0)
    twiml = TwiML.parse(step.twiml)
    assert "Aucun interlocuteur n'est disponible pour le moment." in twiml.says
    assert "Record" in twiml.verbs


def test_voicemail_hands_over_and_announces_ticket(doc: ConfigDocument) -> None:
    received: list[voicemail.Recording] = []

    def sink(state: CallState, recording: voicemail.Recording) -> str | None:
        received.append(recording)
        return "123456"

    state = CallState(call_sid="CA" + "2" * 32)
    now = paris(2026, 12, 1, 10, 0)
    step = voicemail.recorded(
        state, doc, now, voicemail.Recording("RE1", "https://x/RE1", 12), sink
    )
    twiml = TwiML.parse(step.twiml)
    assert received[0].sid == "RE1"
    assert "Votre demande est enregistrée sous le numéro 1 2 3 4 5 6." in twiml.says
    assert twiml.hangs_up


def test_twiml_text_is_the_sdk_serialisation() -> None:
    """The serialisation the webhooks answer with is byte for byte the SDK's `str()`."""
    response = VoiceResponse()
    response.say("Vous avez choisi : « incident » & <urgent> l'été", language="fr-FR")
    gather = response.gather(action="/voice/menu?a=1&b=2", input="dtmf speech", hints="panne, été")
    gather.say("Tapez 1")
    response.dial(caller_id="+33199001000").number("+33612345678", url="/voice/whisper")
    response.hangup()
    assert twiml_text(response) == str(response)


_TEXTS = st.text(alphabet=st.sampled_from("aé«» &<>\"'\r\n\t:;/?=+0Z\ud800🎧"), max_size=12)
_VALUES = st.one_of(_TEXTS, st.booleans(), st.integers(-3, 30), st.none())
_ATTRS = st.dictionaries(st.sampled_from(["action", "language", "num_digits", "timeout",
                                          "action_on_empty_result", "voice", "url"]), _VALUES,
                         max_size=4)  # fmt: skip


@st.composite
def _twiml_trees(draw: st.DrawFn, depth: int = 0) -> TwiMLNode:
    node = GenericNode(draw(st.sampled_from(["Say", "Gather", "Dial", "Number", "Pause"])),
                       draw(st.one_of(st.none(), _TEXTS, st.dictionaries(_TEXTS, _TEXTS,
                                                                          max_size=2))),
                       **draw(_ATTRS))  # fmt: skip
    for _ in range(draw(st.integers(0, 3 if depth < 2 else 0))):
        node.nest(draw(st.one_of(_TEXTS, _twiml_trees(depth + 1))))
    return node


@settings(max_examples=300, deadline=None)
@given(children=st.lists(st.one_of(_TEXTS, _twiml_trees()), max_size=4), attrs=_ATTRS)
def test_twiml_text_equals_the_sdk_on_any_document(
    children: list[TwiMLNode | str], attrs: dict[str, object]
) -> None:
    """Whatever the verbs, attributes, texts and tails, the text is the SDK's own."""
    response = VoiceResponse(**attrs)
    for child in children:
        response.nest(child)
    assert twiml_text(response) == str(response)
