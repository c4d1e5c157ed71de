"""Calls while nobody may answer: a manual closure, an emergency outside the on-call
windows. Through the webhooks and the call book, the dispatcher's REST calls faked."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from callbook.calls.models import Call
from callbook.db import database, session_scope
from callbook.tickets import Callback, Ticket
from ivr.admin.views.queries import TicketFilter, ticket_search
from ivr.app import create_app
from ivr.config import to_data, validate_document
from ivr.config.revisions import save_revision
from ivr.jobs.callbacks import Dispatcher
from ivr.runtime import EXTENSION as CONFIG_EXTENSION
from ivr.runtime import ActiveConfig, active_config, install_demo_if_empty
from ivr.twilio_adapter import TwilioGateway
from schedules import clock
from tests.conftest import deployment_settings, paris
from tests.fake_twilio import FakeTwilioHttp
from tests.twiml import TwiML
from tests.voice_client import Twilio, new_sid

ALICE, BRUNO, CHLOE = "+33199004001", "+33199004002", "+33199004003"
Change = Callable[[dict[str, Any]], None]


@pytest.fixture
def app(migrated_database: str, tmp_path: Path) -> Iterator[Flask]:
    """The demo configuration on the test database, Twilio credentials set."""
    app = create_app(
        deployment_settings(
            instance_dir=tmp_path / "instance",
            database_url=migrated_database,
            twilio_account_sid="AC" + "0" * 32,
            twilio_auth_token="test-auth-token",  # type: ignore[arg-type]
            public_url="https://ivr.example.org",
            outbound_rate=0,
        )
    )
    # Every step reads the revision in force (no one-second cache between steps).
    app.extensions[CONFIG_EXTENSION] = ActiveConfig(database(app).sessions, interval=0)
    with session_scope(app) as session:
        install_demo_if_empty(session)
    yield app
    database(app).engine.dispose()


@pytest.fixture
def clock_at() -> Iterator[Callable[[datetime], None]]:
    with ExitStack() as stack:
        yield lambda moment: stack.enter_context(clock.frozen_at(moment))


def publish(app: Flask, change: Change) -> None:
    """A new active revision: the one in force, changed."""
    data = to_data(active_config(app).get()[1])
    change(data)
    with session_scope(app) as session:
        save_revision(session, validate_document(data), author="test")


def closed_until(until: datetime) -> Change:
    def change(data: dict[str, Any]) -> None:
        data["closure"] = {"active": True, "message": "", "until": until.isoformat()}

    return change


def leave_message(phone: Twilio, duration: int = 20) -> TwiML:
    recording = {
        "RecordingSid": new_sid("RE"),
        "RecordingUrl": f"https://api.twilio.com/Recordings/{new_sid('RE')}",
        "RecordingDuration": str(duration),
    }
    return phone.step("/voice/voicemail", recording)


def rows(app: Flask, model: type[Any]) -> list[Any]:
    with session_scope(app) as session:
        found = list(session.scalars(select(model).order_by(model.id)))
        session.expunge_all()
        return found


def dispatcher(app: Flask) -> tuple[Dispatcher, FakeTwilioHttp]:
    http = FakeTwilioHttp()
    return Dispatcher(app, gateway=lambda s: TwilioGateway(s, http_client=http)), http


# -- the manual closure -------------------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "until", "due", "heard"),
    [
        ((2026, 12, 1, 10, 0), (2026, 12, 1, 15, 0), (2026, 12, 1, 15, 0), "aujourd'hui à 15 h"),
        ((2026, 12, 24, 10, 0), (2026, 12, 24, 18, 0), (2026, 12, 28, 9, 0),
         "lundi 28 décembre à 9 h"),
    ],
)  # fmt: skip
def test_callback_asked_during_a_manual_closure_is_due_when_it_is_over(
    app: Flask,
    clock_at: Callable[[datetime], None],
    moment: tuple[int, ...],
    until: tuple[int, ...],
    due: tuple[int, ...],
    heard: str,
) -> None:
    publish(app, closed_until(paris(*until)))
    clock_at(paris(*moment))
    phone = Twilio(app)
    welcome = phone.step("/voice/incoming")
    assert "Le service est exceptionnellement fermé." in welcome.says
    assert f"Il rouvrira {heard}." in welcome.says and welcome.find("Record") is not None
    leave_message(phone)
    choice = phone.step("/voice/callback-choice", {"Digits": "1"})
    assert f"Nous vous rappellerons {heard}." in choice.says
    [callback] = rows(app, Callback)
    assert (callback.kind, callback.due_at) == ("callback", paris(*due))
    [call] = rows(app, Call)
    assert call.callback_at == paris(*due)
    # Nobody is called back while the service is closed, then at its reopening.
    run, http = dispatcher(app)
    assert run.run_once().claimed == 0
    clock_at(datetime.fromtimestamp(paris(*due).timestamp() - 60, UTC))
    assert run.run_once().claimed == 0 and http.calls == []
    clock_at(paris(*due))
    assert run.run_once().placed == 1
    assert http.calls[0]["data"]["To"] == "+33199002000"  # the hotline, first


# -- emergencies outside the on-call windows ----------------------------------------


@pytest.mark.parametrize(
    ("moment", "window", "due", "technician"),
    [
        # Saturday night: Sunday's first window; Bruno's week (handover Monday 23 Nov).
        ((2026, 11, 28, 23, 30), "demain de 9 h à 10 h", (2026, 11, 29, 9, 0), BRUNO),
        # Tuesday after 22:00: Wednesday 06:00; Chloé's week.
        ((2026, 12, 1, 22, 30), "demain de 6 h à 22 h", (2026, 12, 2, 6, 0), CHLOE),
        # Eve of Ascension: the public holiday follows the weekend windows; Alice's week.
        ((2026, 5, 13, 22, 30), "demain de 9 h à 10 h", (2026, 5, 14, 9, 0), ALICE),
        # The night clocks spring forward: still 09:00 local, so 07:00 UTC.
        ((2026, 3, 28, 23, 30), "demain de 9 h à 10 h", (2026, 3, 29, 9, 0), CHLOE),
    ],
)
def test_emergency_message_outside_the_windows_alerts_when_the_next_one_opens(
    app: Flask,
    clock_at: Callable[[datetime], None],
    moment: tuple[int, ...],
    window: str,
    due: tuple[int, ...],
    technician: str,
) -> None:
    alerted = f"demain à {due[3]} h"
    now = paris(*moment)
    clock_at(now)
    phone = Twilio(app)
    phone.step("/voice/incoming")
    routed = phone.step("/voice/menu", {"Digits": "9"})
    assert f"L'astreinte sera joignable {window}." in routed.says
    assert routed.find("Dial") is None and routed.find("Record") is not None
    bye = leave_message(phone)
    [ticket] = rows(app, Ticket)
    assert f"numéro {' '.join(ticket.number)}" in bye.spoken
    assert f"Le technicien d'astreinte sera prévenu {alerted}, dès le début de l'astreinte." in (
        bye.says
    )
    assert bye.find("Gather") is None  # no hotline callback: the technician calls back
    assert (ticket.urgent, ticket.priority, ticket.family) == (True, "urgent", "emergency")
    [alert] = rows(app, Callback)
    assert (alert.kind, alert.rank, alert.answering) == ("alert", 0, "oncall")
    assert alert.due_at == paris(*due) and alert.agent_numbers[0] == technician
    # Not during the night: the dispatcher leaves it until the window opens.
    run, http = dispatcher(app)
    clock_at(now)
    assert run.run_once().claimed == 0
    clock_at(datetime.fromtimestamp(paris(*due).timestamp() - 60, UTC))
    assert run.run_once().claimed == 0 and http.calls == []
    clock_at(paris(*due))
    assert run.run_once().placed == 1
    assert http.calls[0]["data"]["To"] == technician


def test_alert_goes_to_whoever_is_on_duty_when_the_window_opens(
    app: Flask, clock_at: Callable[[datetime], None]
) -> None:
    def hand_over_at_six(data: dict[str, Any]) -> None:
        data["oncall"]["schedule"]["rota"]["handover_time"] = "06:00"

    publish(app, hand_over_at_six)
    # Sunday 29 November 22:30: Bruno's week ends Monday at 06:00, when Chloé takes over.
    clock_at(paris(2026, 11, 29, 22, 30))
    phone = Twilio(app)
    phone.step("/voice/incoming")
    assert (
        "L'astreinte sera joignable demain de 6 h à 22 h."
        in phone.step("/voice/menu", {"Digits": "9"}).says
    )
    leave_message(phone)
    [alert] = rows(app, Callback)
    assert alert.due_at == paris(2026, 11, 30, 6, 0)
    assert alert.agent_numbers == [CHLOE, ALICE, BRUNO]

    # Alice swaps with Chloé after the alert was scheduled: Alice is rung.
    def swap(data: dict[str, Any]) -> None:
        data["oncall"]["schedule"]["overrides"] = [
            {"start": "2026-11-30T05:00:00+01:00", "end": "2026-11-30T12:00:00+01:00",
             "technician": "alice", "label": "échange"}
        ]  # fmt: skip

    publish(app, swap)
    run, http = dispatcher(app)
    clock_at(paris(2026, 11, 30, 6, 0))
    assert run.run_once().placed == 1
    assert http.calls[0]["data"]["To"] == ALICE


def test_urgent_message_tops_the_ticket_queue(
    app: Flask, clock_at: Callable[[datetime], None]
) -> None:
    # Wednesday afternoon: an incident, due Monday 09:30 (16 business hours).
    clock_at(paris(2026, 11, 25, 15, 0))
    early = Twilio(app, caller="+33698765432")
    early.step("/voice/incoming")
    early.step("/voice/menu", {"Digits": "1"})
    leave_message(early)
    clock_at(paris(2026, 11, 28, 23, 30))
    phone = Twilio(app)
    phone.step("/voice/incoming")
    phone.step("/voice/menu", {"Digits": "9"})
    leave_message(phone)
    incident, emergency = rows(app, Ticket)
    assert incident.deadline_at == paris(2026, 11, 30, 9, 30)
    assert emergency.deadline_at == paris(2026, 11, 30, 15, 0)  # 4 business hours
    with session_scope(app) as session:
        queue = session.scalars(ticket_search(TicketFilter(), clock.now())).all()
        assert [t.number for t in queue] == [emergency.number, incident.number]
