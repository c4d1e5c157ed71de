"""Signed events to a helpdesk, through the outbox, against a real HTTP receiver."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from flask import Flask
from pydantic import ValidationError
from sqlalchemy import select
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from callbook.accounts.users import create_user
from callbook.db import database, session_scope
from callbook.outbox import OutboxMessage, store
from callbook.tickets import Callback, Ticket, actions, dispatch
from callbook.tickets.escalation import escalate
from callbook.tickets.opening import schedule_callback
from ivr.app import create_app
from ivr.flows.state import CallState
from ivr.flows.voicemail import Recording
from ivr.jobs.outbox import Deliverer
from ivr.runtime import active_config, install_demo_if_empty
from ivr.settings import Settings
from ivr.voice import aftercall
from schedules import clock
from tests.conftest import deployment_settings, paris
from tests.http_receiver import Received, Receiver
from tests.voice_client import Twilio, new_sid

SECRET = "whsec_" + base64.b64encode(b"k" * 32).decode()
OTHER_SECRET = "whsec_" + base64.b64encode(b"z" * 32).decode()
T0 = paris(2026, 12, 8, 10, 0)  # a Tuesday morning


@pytest.fixture
def helpdesk() -> Iterator[Receiver]:
    receiver = Receiver()
    receiver.start()
    yield receiver
    receiver.stop()


@pytest.fixture
def app(migrated_database: str, tmp_path: Path, helpdesk: Receiver) -> Iterator[Flask]:
    settings = deployment_settings(
        instance_dir=tmp_path / "instance",
        database_url=migrated_database,
        webhook_receivers=[
            {"name": "glpi", "url": helpdesk.url, "secret": SECRET},
            {
                "name": "znuny",
                "url": helpdesk.url + "?to=znuny",
                "secret": OTHER_SECRET,
                "events": ["ticket.created"],
            },
        ],
        outbox_max_attempts=3,
    )
    app = create_app(settings)
    with session_scope(app) as session:
        install_demo_if_empty(session)
    yield app
    database(app).engine.dispose()


def voicemail(app: Flask, caller: str = "+33612345678") -> str:
    """A voicemail left through the sink the Record webhook uses: a new ticket's number."""
    _, doc = active_config(app).get()
    state = CallState(call_sid=new_sid(), caller=caller, structure="auvergne", motive="incident")
    with session_scope(app) as session:
        sink = aftercall.voicemail_sink(session, doc, clock.now(), app.config["IVR_SETTINGS"])
        number = sink(state, Recording(new_sid("RE"), "https://api.twilio.com/R", 20))
    assert number is not None
    return number


def deliver(app: Flask) -> None:
    Deliverer(app).run_once()


def verify(received: Received, secret: str = SECRET) -> Any:
    """The body, checked with the Standard Webhooks library as the receiver would on arrival
    (the library refuses a timestamp 5 minutes away from its own clock: it runs at the
    moment the service stamped)."""
    sent_at = datetime.fromtimestamp(int(received.headers["webhook-timestamp"]), UTC)
    with time_machine.travel(sent_at, tick=False):
        return Webhook(secret).verify(received.body, received.headers)


def verified(helpdesk: Receiver) -> list[Any]:
    """Every body the first receiver (glpi) got, each checked with the Standard Webhooks
    library."""
    return [verify(r) for r in helpdesk.received if r.path == "/events"]


def events(app: Flask) -> list[OutboxMessage]:
    with session_scope(app) as session:
        rows = list(session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "event")))
        session.expunge_all()
        return rows


def test_each_event_reaches_each_receiver_once_signed(app: Flask, helpdesk: Receiver) -> None:
    with clock.frozen_at(T0):
        number = voicemail(app)
        with session_scope(app) as session:
            ticket = actions.find_ticket(session, number)
            assert ticket is not None
            actions.assign(session, ticket, "alice", actor="alice", now=clock.now())
        assert helpdesk.received == []  # nothing leaves before the scheduler's job
        deliver(app)
    glpi = [r for r in helpdesk.received if r.path == "/events"]
    znuny = [r for r in helpdesk.received if r.path == "/events?to=znuny"]
    bodies = [verify(r) for r in glpi]
    assert [b["type"] for b in bodies] == ["ticket.created", "ticket.updated"]
    created, updated = bodies
    assert created["data"]["number"] == number
    assert created["data"]["url"] == f"http://localhost/admin/tickets/{number}"
    assert updated["data"]["assignee"] == "alice"
    assert {"field": "assignee", "from": "", "to": "alice"} in updated["data"]["changes"]
    assert created["timestamp"] == "2026-12-08T09:00:00Z"
    # The second receiver asked for ticket.created only, signed with its own secret.
    [only] = znuny
    assert verify(only, OTHER_SECRET)["type"] == "ticket.created"
    with pytest.raises(WebhookVerificationError, match="signature"):
        verify(only, SECRET)
    # The webhook-id is the event's: the same on both receivers, distinct per event.
    assert only.headers["webhook-id"] == glpi[0].headers["webhook-id"]
    assert glpi[0].headers["webhook-id"] != glpi[1].headers["webhook-id"]
    assert {r.status for r in events(app)} == {"sent"}


def test_call_completed_comes_from_the_status_webhook(app: Flask, helpdesk: Receiver) -> None:
    with clock.frozen_at(T0):
        phone = Twilio(app)
        phone.step("/voice/incoming")
        phone.step("/voice/menu", {"Digits": "1"})
        for _ in range(2):  # Twilio may send the final status twice
            final = {"CallStatus": "completed", "CallDuration": "42"}
            assert phone.post("/voice/status", final).status_code == 204
        deliver(app)
    [body] = [b for b in verified(helpdesk) if b["type"] == "call.completed"]
    data = body["data"]
    assert isinstance(data, dict)
    assert data["call_sid"] == phone.call_sid and data["status"] == "completed"
    assert data["duration"] == 42 and data["caller"] == "+33612345678"
    assert data["motives"] == ["incident"]


def test_callback_completed_when_the_caller_is_reached(app: Flask, helpdesk: Receiver) -> None:
    with clock.frozen_at(T0):
        number = voicemail(app)
        with session_scope(app) as session:
            ticket = session.scalars(select(Ticket).where(Ticket.number == number)).one()
            schedule_callback(
                session, ticket, kind="callback", caller="+33612345678", answering="hotline",
                agent_numbers=["+33100000001"], due_at=clock.now(), rank=2, call_sid="",
                now=clock.now(),
            )  # fmt: skip
        with session_scope(app) as session:
            callback = session.scalars(select(Callback)).one()
            callback.status = "dialing"
        with session_scope(app) as session:
            callback = session.scalars(select(Callback)).one()
            dispatch.mark_done(session, callback, clock.now(), "caller reached")
        deliver(app)
    done = [b for b in verified(helpdesk) if b["type"] == "callback.completed"]
    assert len(done) == 1
    assert done[0]["data"]["ticket"] == number  # type: ignore[index]


def test_nothing_is_lost_while_the_receiver_is_down(app: Flask, helpdesk: Receiver) -> None:
    helpdesk.answers = [503, 503, 204]
    with clock.frozen_at(T0):
        number = voicemail(app)
        deliver(app)  # glpi: 503; znuny: 503
    assert {r.status for r in events(app)} == {"pending"}
    assert all("HTTP 503" in r.last_error for r in events(app))
    with clock.frozen_at(T0 + timedelta(seconds=30)):
        deliver(app)  # not due yet (backoff): nothing sent
    assert len(helpdesk.received) == 2
    with clock.frozen_at(T0 + timedelta(minutes=2)):
        deliver(app)
    assert {r.status for r in events(app)} == {"sent"}
    kinds = [json.loads(r.body)["data"]["number"] for r in helpdesk.received[2:]]
    assert kinds == [number, number]
    # Closed port: retried, then failed after max attempts, the error kept for the admin.
    helpdesk.stop()
    with clock.frozen_at(T0 + timedelta(hours=1)):
        with session_scope(app) as session:
            ticket = actions.find_ticket(session, number)
            assert ticket is not None
            actions.set_status(session, ticket, "in_progress", actor="alice", now=clock.now())
        for minutes in (0, 2, 5):
            with clock.frozen_at(T0 + timedelta(hours=1, minutes=minutes)):
                deliver(app)
    [failed] = [r for r in events(app) if r.topic == "ticket.updated"]
    assert failed.status == "failed" and "injoignable" in failed.last_error


def test_no_duplicate_after_a_scheduler_restart(app: Flask, helpdesk: Receiver) -> None:
    with clock.frozen_at(T0):
        voicemail(app)
        # A scheduler claims the batch, then dies before sending.
        with session_scope(app) as session:
            claimed = store.claim_due(session, "dead:1", clock.now(), kinds=["event"])
            assert len(claimed) == 2
        deliver(app)  # another scheduler: the claim is not stale yet
        assert helpdesk.received == []
    with clock.frozen_at(T0 + store.STALE_CLAIM + timedelta(seconds=1)):
        deliver(app)
        deliver(app)
    assert len(helpdesk.received) == 2  # once per receiver
    with clock.frozen_at(T0 + timedelta(hours=2)):
        Deliverer(app, worker="restarted").run_once()
    assert len(helpdesk.received) == 2


def test_no_receiver_no_row(migrated_database: str, tmp_path: Path) -> None:
    settings = deployment_settings(instance_dir=tmp_path / "i", database_url=migrated_database)
    app = create_app(settings)
    try:
        with session_scope(app) as session:
            install_demo_if_empty(session)
        with clock.frozen_at(T0):
            voicemail(app)
        assert events(app) == []
    finally:
        database(app).engine.dispose()


@pytest.mark.parametrize(
    ("receiver", "reason"),
    [
        ({"name": "glpi", "url": "http://helpdesk.example.org/in", "secret": SECRET}, "https"),
        ({"name": "glpi", "url": "https://helpdesk.example.org/in", "secret": "s3cret"}, "whsec_"),
        ({"name": "glpi", "url": "https://h.example.org", "secret": "whsec_c2hvcnQ="}, "24"),
        ({"name": "Bad name", "url": "https://h.example.org", "secret": SECRET}, "name"),
        (
            {
                "name": "glpi",
                "url": "https://h.example.org",
                "secret": SECRET,
                "events": ["ticket.deleted"],
            },
            "events",
        ),
    ],
)
def test_a_wrong_receiver_is_refused_at_startup(receiver: dict[str, object], reason: str) -> None:
    with pytest.raises(ValidationError, match=reason):
        Settings(webhook_receivers=[receiver])  # type: ignore[list-item]


def test_receiver_names_are_unique_and_read_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    twice = [{"name": "glpi", "url": "https://a.example.org", "secret": SECRET}] * 2
    monkeypatch.setenv("IVR_WEBHOOK_RECEIVERS", json.dumps(twice))
    with pytest.raises(ValidationError, match="unique"):
        Settings()
    monkeypatch.setenv("IVR_WEBHOOK_RECEIVERS", json.dumps(twice[:1]))
    [glpi] = Settings().webhook_receivers
    assert glpi.url == "https://a.example.org" and SECRET not in repr(glpi)


def test_an_escalation_is_an_event_of_its_own(app: Flask, helpdesk: Receiver) -> None:
    note = "Blocage général des orientations depuis la mise à jour, plusieurs usagers."
    with clock.frozen_at(T0):
        number = voicemail(app)
        with session_scope(app) as session:
            referent = create_user(
                session, "ref-auvergne", "Un mot de passe assez long pour passer", role="referent",
                display_name="Sophie Durand", structure="auvergne", actor="test", now=clock.now(),
            )  # fmt: skip
            ticket = actions.find_ticket(session, number)
            assert ticket is not None
            escalate(session, ticket, referent, note, clock.now())
        deliver(app)
    bodies = verified(helpdesk)
    assert [b["type"] for b in bodies] == ["ticket.created", "ticket.updated", "ticket.escalated"]
    escalated = bodies[2]["data"]
    assert escalated["level"] == "national"
    assert escalated["escalation"] == {"by": "ref-auvergne", "at": "2026-12-08T09:00:00Z",
                                       "note": note}  # fmt: skip
    assert {"field": "level", "from": "local", "to": "national"} in bodies[1]["data"]["changes"]
