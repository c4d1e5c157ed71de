"""Tickets and callbacks pages: lists, detail, status, assign, merge, callback actions."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from unittest import mock

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from callbook.db import session_scope
from callbook.history.audit import AuditEntry
from callbook.tickets import Callback, Ticket, TicketMessage
from schedules import clock
from tests.admin_data import phone
from tests.conftest import paris

Login = Callable[[str], FlaskClient]
NOW = paris(2026, 12, 26, 10, 0)


@pytest.fixture
def tickets(app: Flask) -> list[str]:
    """Two voicemails of Christmas Eve evening (callbacks asked), from two callers."""
    phone(app, paris(2026, 12, 24, 17, 45), "+33465719901", "2", "1")  # Paul Morel, Auvergne
    phone(app, paris(2026, 12, 24, 18, 10), "+33612345678", "1", "1")  # incident, unknown
    with session_scope(app) as session:
        return [t.number for t in session.scalars(select(Ticket).order_by(Ticket.id))]


@pytest.fixture(autouse=True)
def boxing_day() -> Iterator[None]:
    with clock.frozen_at(NOW):
        yield


def post(client: FlaskClient, url: str, **form: str) -> object:
    return client.post(url, data={"csrf_token": client.csrf_token, **form})  # type: ignore[attr-defined]


def audit(app: Flask, entity: str) -> list[tuple[str, str, str]]:
    with session_scope(app) as session:
        rows = session.scalars(
            select(AuditEntry).where(AuditEntry.entity == entity).order_by(AuditEntry.id)
        )
        return [(e.actor, e.entity_id, e.action) for e in rows]


def test_ticket_list_filters(login_as: Login, tickets: list[str]) -> None:
    tech = login_as("technician")
    page = tech.get("/admin/tickets").get_data(as_text=True)
    assert all(n in page for n in tickets) and "Paul Morel" in page
    high = tech.get("/admin/tickets?priority=high").get_data(as_text=True)
    assert tickets[1] in high and tickets[0] not in high
    local = tech.get("/admin/tickets?structure=auvergne").get_data(as_text=True)
    assert tickets[0] in local and tickets[1] not in local
    # Deadlines count business hours from Monday 28 December: none is overdue yet.
    assert "Aucun ticket ne correspond." in tech.get("/admin/tickets?overdue=1").get_data(
        as_text=True
    )
    with clock.frozen_at(paris(2027, 1, 15, 9, 0)):
        late = tech.get("/admin/tickets?overdue=1").get_data(as_text=True)
    assert tickets[1] in late


def test_ticket_detail_player_history_and_callbacks(login_as: Login, tickets: list[str]) -> None:
    page = login_as("technician").get(f"/admin/tickets/{tickets[0]}").get_data(as_text=True)
    assert f'src="/admin/tickets/{tickets[0]}/recordings/' in page and "<audio" in page
    assert "Rappel programmé" in page and "Ouverture" in page  # callback.scheduled, created
    assert "28/12/2026 09:30" in page  # the callback, at the Auvergne structure's opening


def test_status_assign_and_audit(login_as: Login, tickets: list[str], app: Flask) -> None:
    tech = login_as("technician")
    number = tickets[0]
    assert post(tech, f"/admin/tickets/{number}/assign", assignee="technician1").status_code == 302
    assert post(tech, f"/admin/tickets/{number}/status", status="in_progress").status_code == 302
    with session_scope(app) as session:
        ticket = session.scalars(select(Ticket).where(Ticket.number == number)).one()
        assert (ticket.assignee, ticket.status) == ("technician1", "in_progress")
        actions = [h.action for h in ticket.history]
        assert actions[-2:] == ["assigned", "status"]
    assert audit(app, "ticket") == [
        ("technician1", number, "assign"),
        ("technician1", number, "status"),
    ]
    bad = post(tech, f"/admin/tickets/{number}/status", status="lost")
    assert bad.status_code == 400  # type: ignore[attr-defined]
    nobody = post(tech, f"/admin/tickets/{number}/assign", assignee="mallory")
    assert nobody.status_code == 400  # type: ignore[attr-defined]


def test_merge_moves_messages_and_closes(login_as: Login, tickets: list[str], app: Flask) -> None:
    tech = login_as("technician")
    source, target = tickets
    response = post(tech, f"/admin/tickets/{source}/merge", into=target)
    assert response.headers["Location"].endswith(f"/admin/tickets/{target}")  # type: ignore[attr-defined]
    with session_scope(app) as session:
        by_number = {t.number: t for t in session.scalars(select(Ticket))}
        assert by_number[source].status == "closed"
        moved = session.scalars(select(TicketMessage)).all()
        assert {m.ticket_id for m in moved} == {by_number[target].id}
        # Both had a pending callback: the target keeps its own, the source's is cancelled.
        statuses = sorted(c.status for c in session.scalars(select(Callback)))
        assert statuses == ["canceled", "pending"]
    assert ("technician1", source, "merge") in audit(app, "ticket")
    again = post(tech, f"/admin/tickets/{target}/merge", into=target)
    assert again.status_code == 400  # type: ignore[attr-defined]
    assert "lui-même" in again.get_data(as_text=True)  # type: ignore[attr-defined]


def test_callback_actions(login_as: Login, tickets: list[str], app: Flask) -> None:
    tech = login_as("technician")
    page = tech.get("/admin/callbacks").get_data(as_text=True)
    assert "Appeler maintenant" in page and tickets[0] in page
    with session_scope(app) as session:
        first, second = (c.id for c in session.scalars(select(Callback).order_by(Callback.id)))
    assert post(tech, f"/admin/callbacks/{first}/call-now").status_code == 302
    moved = post(tech, f"/admin/callbacks/{second}/reschedule", due_at="2026-12-29T14:00")
    assert moved.status_code == 302  # type: ignore[attr-defined]
    with session_scope(app) as session:
        one, two = session.scalars(select(Callback).order_by(Callback.id)).all()
        assert one.due_at == NOW and two.due_at == paris(2026, 12, 29, 14, 0)
    past = post(tech, f"/admin/callbacks/{second}/reschedule", due_at="2026-12-25T14:00")
    assert past.status_code == 400  # type: ignore[attr-defined]
    assert "déjà passée" in past.get_data(as_text=True)  # type: ignore[attr-defined]
    assert post(tech, f"/admin/callbacks/{second}/reschedule", due_at="lundi").status_code == 400
    assert post(tech, f"/admin/callbacks/{second}/cancel").status_code == 302
    assert audit(app, "callback") == [
        ("technician1", str(first), "call_now"),
        ("technician1", str(second), "reschedule"),
        ("technician1", str(second), "cancel"),
    ]
    assert post(tech, "/admin/callbacks/999/cancel").status_code == 404


def test_viewers_and_forgers_cannot_touch_tickets(
    login_as: Login, tickets: list[str], app: Flask
) -> None:
    viewer = login_as("viewer")
    assert viewer.get("/admin/tickets").status_code == 403
    assert viewer.get("/admin/callbacks").status_code == 403
    assert post(viewer, f"/admin/tickets/{tickets[0]}/status", status="closed").status_code == 403
    tech = login_as("technician")
    forged = tech.post(f"/admin/tickets/{tickets[0]}/status", data={"status": "closed"})
    assert forged.status_code == 400
    with session_scope(app) as session:
        assert {t.status for t in session.scalars(select(Ticket))} == {"new"}
    assert tech.get("/admin/tickets/000000").status_code == 404


def test_recording_is_fetched_with_the_account_credentials(
    login_as: Login, tickets: list[str], app: Flask
) -> None:
    tech = login_as("technician")
    with session_scope(app) as session:
        message = session.scalars(select(TicketMessage).order_by(TicketMessage.id)).first()
        assert message is not None
        url, message_id = message.recording_url, message.id
    path = f"/admin/tickets/{tickets[0]}/recordings/{message_id}"
    assert tech.get(path).status_code == 503  # no Twilio credentials in the demo
    settings = app.config["IVR_SETTINGS"]
    configured = settings.model_copy(
        update={"twilio_account_sid": "AC123", "twilio_auth_token": mock.Mock(
            get_secret_value=lambda: "secret")}
    )  # fmt: skip
    app.config["IVR_SETTINGS"] = configured
    answer = mock.Mock(status_code=200, content=b"ID3", headers={"Content-Type": "audio/mpeg"})
    with mock.patch("ivr.admin.pages_tickets.requests.get", autospec=True) as get:
        get.return_value = answer
        response = tech.get(path)
    assert response.status_code == 200 and response.data == b"ID3"
    assert response.mimetype == "audio/mpeg"
    get.assert_called_once_with(url + ".mp3", auth=("AC123", "secret"), timeout=15)
