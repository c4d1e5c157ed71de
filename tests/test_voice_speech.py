"""Callers who speak to the menu, through the signed /voice webhooks.

What they say is understood by `ivr.flows.understanding`; a likely motive is
asked back on a turn of its own (`/voice/menu-check?step=N`), and nobody is
sent to a team on a weak guess.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from callbook.calls.models import Call, CallEvent, CallMotive
from callbook.db import session_scope
from ivr.app import create_app
from ivr.settings import Settings
from schedules import clock
from tests.conftest import paris
from tests.twiml import TwiML
from tests.voice_client import Twilio

TUESDAY_10H = paris(2026, 12, 1, 10, 0)  # the hotline and Auvergne are open
HOTLINE = ["+33199002000", "+33199002001"]
ACCOUNT_CHECK = (
    "Vous appelez pour un problème de licence ou de compte utilisateur, c'est bien ça ? "
    "Dites oui ou tapez 1. Sinon, tapez 2."
)


@pytest.fixture
def phone(tmp_path: Path) -> Twilio:
    app: Flask = create_app(Settings(instance_dir=tmp_path))
    return Twilio(app)


def answer(phone: Twilio, twiml: TwiML, params: dict[str, str]) -> TwiML:
    """Post `params` to the <Gather>'s action URL, as Twilio would."""
    action = twiml.first("Gather").get("action")
    assert action
    return phone.step(action, params)


def recorded(phone: Twilio) -> tuple[list[tuple[str, str]], list[CallEvent]]:
    """The call's motives (motive, channel) and its events."""
    with session_scope(phone.app) as session:
        call = session.scalars(select(Call).where(Call.call_sid == phone.call_sid)).one()
        motives = session.scalars(select(CallMotive).where(CallMotive.call_id == call.id))
        events = session.scalars(
            select(CallEvent).where(CallEvent.call_id == call.id).order_by(CallEvent.seq)
        ).all()
        for event in events:
            session.expunge(event)
        return [(m.motive, m.channel) for m in motives], list(events)


def test_the_menu_listens_in_french_with_the_motives_vocabulary(phone: Twilio) -> None:
    with clock.frozen_at(TUESDAY_10H):
        twiml = phone.step("/voice/incoming")
    gather = twiml.first("Gather")
    assert set((gather.get("input") or "").split()) == {"dtmf", "speech"}
    assert gather.get("language") == "fr-FR"
    assert gather.get("speechTimeout") == "auto"
    hints = (gather.get("hints") or "").split(", ")
    for expected in ("un incident technique", "mot de passe", "annuaire", "c'est urgent"):
        assert expected in hints
    assert "Pour un incident technique, tapez 1." in twiml.says


def test_a_colloquial_sentence_routes_straight_to_its_motive(phone: Twilio) -> None:
    with clock.frozen_at(TUESDAY_10H):
        twiml = phone.step("/voice/incoming")
        twiml = answer(
            phone, twiml, {"SpeechResult": "ça marche plus du tout", "Confidence": "0.91"}
        )
    assert "Vous appelez pour un incident technique." in twiml.says
    assert twiml.dialed == HOTLINE
    motives, events = recorded(phone)
    assert motives == [("incident", "speech")]
    understood = next(e for e in events if e.kind == "menu.understood")
    assert understood.data["motive"] == "incident" and understood.data["via"] == "phrase"
    assert understood.data["confidence"] == 0.91


def test_a_key_said_as_a_word_is_a_key(phone: Twilio) -> None:
    with clock.frozen_at(TUESDAY_10H):
        twiml = phone.step("/voice/incoming")
        twiml = answer(phone, twiml, {"SpeechResult": "Le deux.", "Confidence": "0.88"})
    assert "Vous appelez pour une question sur l'utilisation du logiciel." in twiml.says
    assert "département" in twiml.first("Gather").findtext("Say", "")  # usage: which structure


def test_a_likely_motive_is_asked_back_and_yes_routes_it(phone: Twilio) -> None:
    with clock.frozen_at(TUESDAY_10H):
        twiml = phone.step("/voice/incoming")
        twiml = answer(phone, twiml, {"SpeechResult": "mon compte est bloqué", "Confidence": "0.9"})
        assert twiml.dialed == []  # nobody is rung on a guess
        gather = twiml.first("Gather")
        assert (gather.get("action") or "").startswith("/voice/menu-check?step=")
        assert gather.findtext("Say") == ACCOUNT_CHECK
        assert "oui" in (gather.get("hints") or "")
        assert twiml.verbs == ["Gather", "Redirect"]
        twiml = answer(phone, twiml, {"SpeechResult": "oui c'est ça", "Confidence": "0.95"})
    assert twiml.dialed == HOTLINE
    assert not any("Vous appelez pour" in say for say in twiml.says)  # just confirmed: no repeat
    motives, events = recorded(phone)
    assert motives == [("account", "speech")]
    kinds = [e.kind for e in events]
    assert kinds.index("menu.check") < kinds.index("menu.checked") < kinds.index("menu.choice")
    checked = next(e for e in events if e.kind == "menu.checked")
    assert checked.data == {"motive": "account", "answer": "yes"}


def test_key_1_confirms_too(phone: Twilio) -> None:
    with clock.frozen_at(TUESDAY_10H):
        twiml = phone.step("/voice/incoming")
        twiml = answer(phone, twiml, {"SpeechResult": "ça marche plus", "Confidence": "0.2"})
        assert "c'est bien ça ?" in twiml.first("Gather").findtext("Say", "")  # unsure recogniser
        twiml = answer(phone, twiml, {"Digits": "1"})
    assert "Vous appelez pour" not in twiml.spoken
    assert twiml.dialed == HOTLINE
    assert recorded(phone)[0] == [("incident", "speech")]


def test_no_asks_the_menu_again_on_a_new_turn(phone: Twilio) -> None:
    with clock.frozen_at(TUESDAY_10H):
        twiml = phone.step("/voice/incoming")
        twiml = answer(phone, twiml, {"SpeechResult": "mon compte est bloqué"})
        check_url = twiml.first("Gather").get("action")
        twiml = answer(phone, twiml, {"Digits": "2"})
        assert twiml.says[0] == "D'accord, reprenons."
        assert twiml.dialed == []
        menu_url = twiml.first("Gather").get("action") or ""
        assert menu_url.startswith("/voice/menu?step=") and menu_url != check_url
        twiml = answer(phone, twiml, {"Digits": "1"})
    assert "Vous appelez pour un incident technique." in twiml.says
    motives, events = recorded(phone)
    assert motives == [("incident", "keypad")]
    assert {"motive": "account", "answer": "no"} in [e.data for e in events]


def test_no_with_what_the_caller_wants_instead(phone: Twilio) -> None:
    with clock.frozen_at(TUESDAY_10H):
        twiml = phone.step("/voice/incoming")
        twiml = answer(phone, twiml, {"SpeechResult": "la messagerie marche plus"})
        assert "urgence sur la plateforme" in twiml.first("Gather").findtext("Say", "")
        twiml = answer(phone, twiml, {"SpeechResult": "non c'est pour mon mot de passe"})
    assert "Vous appelez pour un problème de licence ou de compte utilisateur." in twiml.says
    assert twiml.dialed == HOTLINE
    assert recorded(phone)[0] == [("account", "speech")]


def test_out_of_scope_is_asked_again_then_the_hotline_without_a_motive(phone: Twilio) -> None:
    with clock.frozen_at(TUESDAY_10H):
        twiml = phone.step("/voice/incoming")
        for _ in range(2):
            twiml = answer(phone, twiml, {"SpeechResult": "je voudrais commander une pizza"})
            assert twiml.says[0] == "Excusez-nous, nous n'avons pas bien compris."
            assert "Pour un incident technique, tapez 1." in twiml.says  # the keypad offered
            assert twiml.dialed == []
        twiml = answer(phone, twiml, {"SpeechResult": "je voudrais commander une pizza"})
    assert "Nous n'avons pas pu identifier l'objet de votre appel." in twiml.says
    assert twiml.dialed == HOTLINE
    motives, events = recorded(phone)
    assert motives == []
    invalid = [e.data for e in events if e.kind == "menu.invalid"]
    assert [d["attempt"] for d in invalid] == [1, 2, 3]
    assert invalid[0]["speech"] == "je voudrais commander une pizza"


def test_a_retried_check_answer_gets_the_same_twiml(phone: Twilio) -> None:
    with clock.frozen_at(TUESDAY_10H):
        twiml = phone.step("/voice/incoming")
        twiml = answer(phone, twiml, {"SpeechResult": "mon compte est bloqué"})
        action = twiml.first("Gather").get("action") or ""
        first = phone.post(action, {"SpeechResult": "oui"})
        again = phone.post(action, {"SpeechResult": "oui"})
    assert first.data == again.data
    assert recorded(phone)[0] == [("account", "speech")]


@pytest.mark.parametrize("confidence", ["", "abc", "1.7", "-1"])
def test_an_odd_confidence_is_ignored(phone: Twilio, confidence: str) -> None:
    with clock.frozen_at(TUESDAY_10H):
        twiml = phone.step("/voice/incoming")
        twiml = answer(
            phone, twiml, {"SpeechResult": "ça marche plus du tout", "Confidence": confidence}
        )
    assert twiml.dialed == HOTLINE


def test_answers_to_the_check_never_loop(phone: Twilio) -> None:
    """Each check answered with other likely words costs an attempt: the menu ends."""
    with clock.frozen_at(TUESDAY_10H):
        twiml = phone.step("/voice/incoming")
        for _ in range(3):
            twiml = answer(phone, twiml, {"SpeechResult": "mon compte est bloqué"})
            assert "c'est bien ça ?" in twiml.first("Gather").findtext("Say", "")
            twiml = answer(phone, twiml, {"SpeechResult": "la messagerie marche plus"})
            if twiml.dialed:
                break
            assert "Excusez-nous, nous n'avons pas bien compris." in twiml.says
    assert "Nous n'avons pas pu identifier l'objet de votre appel." in twiml.says
    assert twiml.dialed == HOTLINE
    assert recorded(phone)[0] == []
