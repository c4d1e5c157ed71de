"""A call's history on its page: French sentences at local times, not event names and JSON."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from html import unescape
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from callbook.calls.models import Call, CallEvent
from callbook.db import session_scope
from ivr.admin.views.call_story import TELLERS
from schedules import clock
from tests.admin_data import phone
from tests.conftest import paris

Login = Callable[[str], FlaskClient]
SID = "CA" + "5" * 32


def story(page: str) -> list[str]:
    """The lines of the story as a reader sees them: "09:31:02 — sentence"."""
    block = re.search(r'<ol class="story">(.*?)</ol>', page, re.S)
    assert block, "no story on the page"
    items = re.findall(r"<li[^>]*>(.*?)</li>", block.group(1), re.S)
    return [unescape(re.sub(r"<[^>]+>", "", item)).strip() for item in items]


def seed(app: Flask, events: list[tuple[datetime, str, dict[str, Any]]]) -> None:
    """A call of Tuesday 22 December 2026 with these events, as the flow stores them."""
    with session_scope(app) as session:
        call = Call(
            call_sid=SID,
            from_number="+33353019902",
            to_number="+33199001000",
            contact="Anne Weber",
            structure="moselle",
            revision=1,
            status="completed",
            route="voicemail",
            started_at=events[0][0],
            updated_at=events[-1][0],
        )
        session.add(call)
        session.flush()
        for seq, (at, kind, data) in enumerate(events, start=1):
            session.add(CallEvent(call_id=call.id, seq=seq, at=at, kind=kind, data=data))


@pytest.fixture(autouse=True)
def frozen() -> Any:
    with clock.frozen_at(paris(2026, 12, 22, 12, 0)):
        yield


def test_a_call_is_told_in_french_at_local_times(app: Flask, login_as: Login) -> None:
    t = lambda h, m, s: paris(2026, 12, 22, h, m, s).astimezone(UTC)  # noqa: E731
    seed(
        app,
        [
            (t(9, 31, 0), "call.started", {"caller": "+33353019902", "contact": "Anne Weber",
                                           "structure": "moselle", "revision": 1}),
            (t(9, 31, 2), "menu.choice", {"motive": "incident", "family": "incident",
                                          "channel": "keypad"}),
            (t(9, 31, 2), "route", {"route": "hotline", "answering": "hotline",
                                    "legs": ["hotline"], "urgent": False, "callback_at": None}),
            (t(9, 31, 3), "dial", {"kind": "hotline", "target": "hotline",
                                   "numbers": ["+33199002000", "+33199002001"], "timeout": 30}),
            (t(9, 31, 40), "dial.result", {"target": "hotline", "status": "no-answer",
                                           "duration": 0}),
            (t(9, 31, 40), "voicemail.offered", {"urgent": False}),
            (t(9, 32, 5), "voicemail.recorded", {"sid": "RE1", "url": "https://x", "duration": 20}),
            (t(9, 32, 5), "ticket", {"number": "466750"}),
            (t(9, 32, 6), "callback.requested", {"due_at": "2026-12-22T14:00:00+01:00"}),
            (t(9, 32, 9), "status", {"status": "completed", "duration": 67}),
            (t(9, 33, 0), "transcription", {"sid": "RE1", "status": "completed",
                                            "text": "Le serveur ne répond plus."}),
            (t(9, 40, 0), "sms.sent", {"to": "+33612345678"}),  # a kind this page does not know
        ],
    )  # fmt: skip
    page = login_as("technician").get(f"/admin/calls/{SID}").get_data(as_text=True)
    assert story(page) == [
        "09:31:00 — Appel reçu : Anne Weber (+33353019902), contact de la structure Alsace-Moselle",
        "09:31:02 — L'appelant a choisi « Incident technique » (touche 1)",
        "09:31:02 — Orientation : hotline nationale ; à appeler : l'assistance nationale",
        "09:31:03 — Transfert vers l'assistance nationale (2 numéros)",
        "09:31:40 — Transfert vers l'assistance nationale : sans réponse",
        "09:31:40 — Messagerie proposée",
        "09:32:05 — Message vocal enregistré (20 s)",
        "09:32:05 — Ticket n° 466750 ouvert",
        "09:32:06 — Rappel demandé, prévu mardi 22 décembre 2026 à 14:00",
        "09:32:09 — Fin de l'appel : terminé, 67 s en tout",
        "09:33:00 — Transcription du message : « Le serveur ne répond plus. »",
        "09:40:00 — Événement « sms.sent »",
    ]
    assert "Heures en Europe/Paris." in page
    # No raw dump: neither event names nor their JSON keys.
    shown = " ".join(story(page))
    assert "menu.choice" not in shown and "due_at" not in shown and "{" not in shown


def test_an_on_call_emergency_from_the_real_flow(app: Flask, login_as: Login) -> None:
    call = phone(app, paris(2026, 12, 25, 9, 30, 15), "+33612345678", "9", dials=("answer",))
    tech = login_as("technician")
    lines = story(tech.get(f"/admin/calls/{call.call_sid}").get_data(as_text=True))
    assert lines[:2] == [
        "09:30:15 — Appel reçu : +33612345678",
        "09:30:15 — L'appelant a choisi « Urgence sur la plateforme hébergée » (touche 9)",
    ]
    assert (
        "09:30:15 — Orientation : astreinte, urgent ; "
        "à appeler : Chloé Bernard, Alice Martin, Bruno Leroy"
    ) in lines
    assert "09:30:15 — Annonce de l'appel à Chloé Bernard" in lines
    assert "09:30:15 — Chloé Bernard a accepté l'appel (touche 1)" in lines
    assert any(re.fullmatch(r"09:30:15 — Répondu par Chloé Bernard ; conversation de \d+ s", x)
               for x in lines)  # fmt: skip
    # A technician's correction is told too, by name.
    form = {"csrf_token": tech.csrf_token, "motive": ["incident"]}  # type: ignore[attr-defined]
    with clock.frozen_at(paris(2026, 12, 25, 10, 2, 7)):
        assert tech.post(f"/admin/calls/{call.call_sid}/motives", data=form).status_code == 302
    lines = story(tech.get(f"/admin/calls/{call.call_sid}").get_data(as_text=True))
    assert lines[-1] == (
        "10:02:07 — technician1 a modifié les motifs de l'appel : "
        "« Urgence sur la plateforme hébergée », « Incident technique »"
    )


def test_every_kind_the_service_writes_has_its_sentence(app: Flask) -> None:
    """The kinds found in a call book filled by the flows all have a function."""
    phone(app, paris(2026, 12, 22, 10, 15), "+33353019903", "2", "63",
          dials=("busy", "no-answer", "no-answer", "no-answer"))  # fmt: skip
    with session_scope(app) as session:
        kinds = set(session.scalars(select(CallEvent.kind)))
    assert kinds and kinds <= set(TELLERS)


def test_the_waiting_line_is_told_too() -> None:
    from dataclasses import dataclass
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from ivr.admin.views.call_story import tell

    @dataclass
    class Stored:
        seq: int
        at: datetime
        kind: str
        data: dict[str, Any]

    at = datetime(2026, 12, 8, 9, 0, tzinfo=UTC)
    events = [
        Stored(1, at, "queue.entered", {"team": "hotline"}),
        Stored(2, at, "queue.left", {"result": "hangup", "outcome": "abandoned", "waited": 95}),
        Stored(3, at, "call.missed", {"waited": 95, "recovery": ["sms", "callback"]}),
    ]
    lines = [line.text for line in tell(events, None, ZoneInfo("Europe/Paris"))]
    assert lines == [
        "Mis en file d'attente pour la hotline nationale",
        "Sortie de la file après 95 s d'attente : a raccroché",
        "Appel manqué (SMS envoyé, rappel programmé)",
    ]
