"""Callers who repeat themselves: each answer follows the action URL Twilio was given.

Twilio posts a <Gather>'s or a <Dial>'s answer to its `action` URL; it posts
the very same request again only when it retries. A caller who gives the same
answer to the next question is a new request and must move the call on.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask

from ivr.app import create_app
from ivr.settings import Settings
from schedules import clock
from tests.conftest import paris
from tests.twiml import TwiML
from tests.voice_client import Twilio

TUESDAY_10H = paris(2026, 12, 1, 10, 0)  # the hotline and Auvergne are open
HOTLINE = ["+33199002000", "+33199002001"]


@pytest.fixture
def phone(tmp_path: Path) -> Twilio:
    app: Flask = create_app(Settings(instance_dir=tmp_path))
    return Twilio(app)


def answer(phone: Twilio, twiml: TwiML, tag: str, params: dict[str, str]) -> TwiML:
    """Post `params` to the action URL of the first `tag` verb, as Twilio would."""
    action = twiml.first(tag).get("action")
    assert action, f"<{tag}> without an action"
    return phone.step(action, params)


def test_the_same_wrong_key_three_times_reaches_the_route_after_the_last_try(
    phone: Twilio,
) -> None:
    with clock.frozen_at(TUESDAY_10H):
        twiml = phone.step("/voice/incoming")
        actions = []
        for _ in range(2):
            actions.append(twiml.first("Gather").get("action"))
            twiml = answer(phone, twiml, "Gather", {"Digits": "7"})
            assert "Gather" in twiml.verbs  # asked again
            assert twiml.dialed == []
        actions.append(twiml.first("Gather").get("action"))
        twiml = answer(phone, twiml, "Gather", {"Digits": "7"})
    assert len(set(actions)) == 3  # each question has its own answer URL
    assert "Nous n'avons pas pu identifier l'objet de votre appel." in twiml.says
    assert twiml.says.count("Nous vous mettons en relation avec l'assistance nationale.") == 1
    assert twiml.dialed == HOTLINE
    assert "Gather" not in twiml.verbs


def test_the_same_unknown_department_twice_reaches_the_national_hotline(phone: Twilio) -> None:
    with clock.frozen_at(TUESDAY_10H):
        twiml = phone.step("/voice/incoming")
        twiml = answer(phone, twiml, "Gather", {"Digits": "2"})  # a usage question
        assert "département" in twiml.first("Gather").findtext("Say", "")
        twiml = answer(phone, twiml, "Gather", {"Digits": "00#"})
        assert "Gather" in twiml.verbs  # asked once more
        assert twiml.dialed == []
        twiml = answer(phone, twiml, "Gather", {"Digits": "00#"})
    assert twiml.dialed == HOTLINE
    assert "Gather" not in twiml.verbs


def test_two_unanswered_legs_in_a_row_ring_the_next_then_the_hotline_line(phone: Twilio) -> None:
    no_answer = {"DialCallStatus": "no-answer", "DialCallDuration": "0"}
    with clock.frozen_at(TUESDAY_10H):
        twiml = phone.step("/voice/incoming")
        twiml = answer(phone, twiml, "Gather", {"Digits": "2"})
        twiml = answer(phone, twiml, "Gather", {"Digits": "63#"})  # Auvergne
        rung = [twiml.dialed]
        while "Dial" in twiml.verbs:
            twiml = answer(phone, twiml, "Dial", no_answer)
            rung.append(twiml.dialed)
            assert len(rung) < 10, "the same numbers are rung again and again"
    # Sophie Durand's two numbers one after the other, then Marc Roux, then the hotline.
    assert rung[:-1] == [["+33465711020"], ["+33465711021"], ["+33465711030"], HOTLINE]
    # Everyone was tried during opening hours: the caller waits in the hotline's line.
    assert twiml.verbs.count("Enqueue") == 1


def test_a_retried_answer_is_answered_the_same_and_moves_nothing(phone: Twilio) -> None:
    with clock.frozen_at(TUESDAY_10H):
        twiml = phone.step("/voice/incoming")
        action = twiml.first("Gather").get("action") or ""
        first = phone.post(action, {"Digits": "7"})
        again = phone.post(action, {"Digits": "7"})  # Twilio did not get the first answer
        assert first.data == again.data
        twiml = TwiML.parse(again.data)
        twiml = answer(phone, twiml, "Gather", {"Digits": "7"})
    assert "Gather" in twiml.verbs  # the second try only: the retry did not count
