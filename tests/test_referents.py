"""Referents: their structure's tickets only, everywhere; escalation to the national level.

A referent of Auvergne must not see nor touch a ticket of Moselle through the
admin pages or the JSON API (404, as for a ticket that does not exist); only
referents escalate, with a reformulated note, and every escalation leaves a
line in the ticket's history and in the audit log.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from callbook.accounts.tokens import issue_token
from callbook.accounts.users import User, UserError, create_user, get_user, update_user
from callbook.db import session_scope
from callbook.history.audit import AuditEntry
from callbook.tickets import ESCALATION_NOTE_MAX, Callback, Ticket, TicketHistory
from callbook.tickets.actions import ActionRefused
from callbook.tickets.escalation import escalate
from schedules import clock
from tests.conftest import ADMIN_PASSWORD, paris

Login = Callable[..., FlaskClient]
NOW = paris(2026, 12, 28, 10, 0)
NOTE = "Le poste de l'agence ne synchronise plus depuis la mise à jour de vendredi."


@pytest.fixture(autouse=True)
def monday() -> Iterator[None]:
    with clock.frozen_at(NOW):
        yield


def _ticket(app: Flask, number: str, structure: str, status: str = "new") -> None:
    with session_scope(app) as session:
        ticket = Ticket(
            number=number, caller_number="+33465719901", contact="", structure=structure,
            motive="usage", family="usage", priority="normal", status=status,
            created_at=NOW, updated_at=NOW, deadline_at=NOW + timedelta(days=2),
        )  # fmt: skip
        session.add(ticket)
        session.flush()
        session.add(
            Callback(
                kind="callback",
                ticket_id=ticket.id,
                caller_number="+33465719901",
                answering=structure,
                agent_numbers=["+33465719900"],
                due_at=NOW,
                created_at=NOW,
                updated_at=NOW,
            )
        )


@pytest.fixture
def tickets(app: Flask) -> dict[str, str]:
    """One open ticket of Auvergne, one of Moselle, one closed of Auvergne."""
    _ticket(app, "410001", "auvergne")
    _ticket(app, "570001", "moselle")
    _ticket(app, "410002", "auvergne", status="closed")
    return {"mine": "410001", "theirs": "570001", "closed": "410002"}


def _callback_id(app: Flask, number: str) -> int:
    with session_scope(app) as session:
        ticket_id = session.scalar(select(Ticket.id).where(Ticket.number == number))
        return int(session.scalar(select(Callback.id).where(Callback.ticket_id == ticket_id)) or 0)


def _load(app: Flask, number: str) -> Ticket:
    with session_scope(app) as session:
        ticket = session.scalars(select(Ticket).where(Ticket.number == number)).one()
        session.expunge(ticket)
        return ticket


def _post(client: FlaskClient, url: str, **form: str) -> int:
    data = {"csrf_token": client.csrf_token, **form}  # type: ignore[attr-defined]
    return client.post(url, data=data).status_code


def _user(app: Flask, username: str, role: str, structure: str | None = None) -> User:
    with session_scope(app) as session:
        user = get_user(session, username) or create_user(
            session, username, ADMIN_PASSWORD, role=role, structure=structure,
            actor="test", now=clock.now(),
        )  # fmt: skip
        session.expunge(user)
        return user


def _token(app: Flask, username: str, role: str, structure: str | None = None) -> dict[str, str]:
    _user(app, username, role, structure)
    with session_scope(app) as session:
        user = get_user(session, username)
        assert user is not None
        token = issue_token(session, user, actor="test", now=clock.now())
    return {"Authorization": f"Bearer {token}"}


# -- the rule --------------------------------------------------------------------------


def test_escalation_records_level_note_history_and_audit(
    app: Flask, tickets: dict[str, str]
) -> None:
    referent = _user(app, "ref-auvergne", "referent", "auvergne")
    with session_scope(app) as session:
        ticket = session.scalars(select(Ticket).where(Ticket.number == "410001")).one()
        escalate(session, ticket, referent, f"  {NOTE}\r\n", NOW)
    ticket = _load(app, "410001")
    assert (ticket.level, ticket.escalated_by, ticket.escalated_at) == (
        "national", "ref-auvergne", NOW,
    )  # fmt: skip
    assert ticket.escalation_note == NOTE
    with session_scope(app) as session:
        history = session.scalars(
            select(TicketHistory).where(TicketHistory.ticket_id == ticket.id)
        ).all()
        audit = session.scalars(select(AuditEntry).where(AuditEntry.entity == "ticket")).all()
        assert [(h.actor, h.action, h.detail["note"]) for h in history] == [
            ("ref-auvergne", "escalated", NOTE)
        ]
        assert [(a.actor, a.entity_id, a.action, a.before, a.after) for a in audit] == [
            ("ref-auvergne", "410001", "escalate", {"level": "local"},
             {"level": "national", "note": NOTE}),
        ]  # fmt: skip


@pytest.mark.parametrize(
    ("number", "username", "role", "structure", "note", "reason"),
    [
        ("410001", "ref-auvergne", "referent", "auvergne", "", "la note est vide"),
        ("410001", "ref-auvergne", "referent", "auvergne", " \n ", "la note est vide"),
        ("410001", "ref-auvergne", "referent", "auvergne", "voir PJ", "trop courte"),
        ("410001", "ref-auvergne", "referent", "auvergne", "x" * (ESCALATION_NOTE_MAX + 1),
         "trop longue"),
        ("410002", "ref-auvergne", "referent", "auvergne", NOTE, "est clos : rouvrez-le"),
        ("570001", "ref-auvergne", "referent", "auvergne", NOTE, "pas celui de votre structure"),
        ("410001", "tech", "technician", None, NOTE, "seuls les référents"),
        ("410001", "boss", "admin", None, NOTE, "seuls les référents"),
    ],
)  # fmt: skip
def test_escalation_refusals_change_nothing(
    app: Flask,
    tickets: dict[str, str],
    number: str,
    username: str,
    role: str,
    structure: str | None,
    note: str,
    reason: str,
) -> None:
    user = _user(app, username, role, structure)
    with session_scope(app) as session:
        ticket = session.scalars(select(Ticket).where(Ticket.number == number)).one()
        with pytest.raises(ActionRefused, match=reason):
            escalate(session, ticket, user, note, NOW)
        session.rollback()
    assert _load(app, number).level == "local"


def test_a_national_ticket_is_not_escalated_twice(app: Flask, tickets: dict[str, str]) -> None:
    referent = _user(app, "ref-auvergne", "referent", "auvergne")
    with session_scope(app) as session:
        ticket = session.scalars(select(Ticket).where(Ticket.number == "410001")).one()
        escalate(session, ticket, referent, NOTE, NOW)
    with session_scope(app) as session:
        ticket = session.scalars(select(Ticket).where(Ticket.number == "410001")).one()
        with pytest.raises(ActionRefused, match="déjà au niveau national"):
            escalate(session, ticket, referent, NOTE + " Encore.", NOW)


def test_a_referent_needs_a_structure(app: Flask) -> None:
    with session_scope(app) as session:
        with pytest.raises(UserError, match="structure"):
            create_user(session, "ref", ADMIN_PASSWORD, role="referent", actor="t", now=NOW)
        user = create_user(session, "tech", ADMIN_PASSWORD, role="technician", actor="t", now=NOW)
        with pytest.raises(UserError, match="structure"):
            update_user(session, user, actor="t", now=NOW, role="referent")
        update_user(session, user, actor="t", now=NOW, role="referent", structure="moselle")
        assert user.structure == "moselle"
        update_user(session, user, actor="t", now=NOW, role="technician")
        assert user.structure is None  # only a referent belongs to a structure


# -- the admin pages -------------------------------------------------------------------


def test_a_referent_sees_only_its_structure_on_the_admin_pages(
    app: Flask, login_as: Login, tickets: dict[str, str]
) -> None:
    referent = login_as("referent", "auvergne")
    listed = referent.get("/admin/tickets?status=all").get_data(as_text=True)
    assert "410001" in listed and "410002" in listed and "570001" not in listed
    # Asking for the other structure by the filter changes nothing.
    other = referent.get("/admin/tickets?status=all&structure=moselle").get_data(as_text=True)
    assert "570001" not in other
    callbacks = referent.get("/admin/callbacks?view=all").get_data(as_text=True)
    assert "410001" in callbacks and "570001" not in callbacks
    assert referent.get("/admin/tickets/410001").status_code == 200
    theirs = "/admin/tickets/570001"
    assert referent.get(theirs).status_code == 404
    assert _post(referent, theirs + "/status", status="resolved") == 404
    assert _post(referent, theirs + "/assign", assignee="") == 404
    assert _post(referent, theirs + "/escalate", note=NOTE) == 404
    assert _post(referent, "/admin/tickets/410001/merge", into="570001") == 400
    assert referent.get(theirs + "/recordings/1").status_code == 404
    callback = _callback_id(app, "570001")
    assert _post(referent, f"/admin/callbacks/{callback}/cancel") == 404
    assert _load(app, "570001").status == "new"
    with session_scope(app) as session:
        assert session.get(Callback, callback).status == "pending"  # type: ignore[union-attr]
    # What is not about tickets stays out of reach.
    assert referent.get("/admin/calls").status_code == 403
    assert referent.get("/admin/today").status_code == 403


def test_a_referent_escalates_from_the_ticket_page(
    app: Flask, login_as: Login, tickets: dict[str, str]
) -> None:
    referent = login_as("referent", "auvergne")
    page = referent.get("/admin/tickets/410001").get_data(as_text=True)
    assert "Escalader au niveau national" in page and 'name="note"' in page
    refused = referent.post(
        "/admin/tickets/410001/escalate",
        data={"csrf_token": referent.csrf_token, "note": "   "},  # type: ignore[attr-defined]
    )
    assert refused.status_code == 400 and "la note est vide" in refused.get_data(as_text=True)
    assert _post(referent, "/admin/tickets/410001/escalate", note=NOTE) == 302
    page = referent.get("/admin/tickets/410001").get_data(as_text=True)
    assert "National" in page and NOTE.replace("'", "&#39;") in page
    assert "Escalader au niveau national</button>" not in page  # already national
    national = referent.get("/admin/tickets?level=national").get_data(as_text=True)
    local = referent.get("/admin/tickets?level=local").get_data(as_text=True)
    assert "410001" in national and "410001" not in local


def test_admins_and_technicians_do_not_escalate(
    app: Flask, login_as: Login, tickets: dict[str, str]
) -> None:
    admin = login_as("admin")
    page = admin.get("/admin/tickets/410001").get_data(as_text=True)
    assert "Escalader au niveau national" not in page
    assert _post(admin, "/admin/tickets/410001/escalate", note=NOTE) == 400
    assert _post(login_as("technician"), "/admin/tickets/410001/escalate", note=NOTE) == 403
    assert _load(app, "410001").level == "local"
    # Admins still see every structure's tickets.
    listed = admin.get("/admin/tickets?status=all").get_data(as_text=True)
    assert "410001" in listed and "570001" in listed


def test_the_user_form_asks_a_referent_for_its_structure(app: Flask, login_as: Login) -> None:
    admin = login_as("admin")
    form = {"username": "marie", "display_name": "Marie", "password": ADMIN_PASSWORD}
    missing = admin.post(
        "/admin/users",
        data={"csrf_token": admin.csrf_token, **form, "role": "referent"},  # type: ignore[attr-defined]
    )
    assert missing.status_code == 422 and "choisissez la structure" in missing.get_data(
        as_text=True
    )
    unknown = _post(admin, "/admin/users", **form, role="referent", structure="atlantide")
    assert unknown == 422
    assert _post(admin, "/admin/users", **form, role="referent", structure="moselle") == 302
    with session_scope(app) as session:
        user = get_user(session, "marie")
        assert user is not None and (user.role, user.structure) == ("referent", "moselle")


def test_the_command_line_creates_a_referent(runner: object) -> None:
    invoke = runner.invoke  # type: ignore[attr-defined]
    base = ["users", "create", "paul", "--role", "referent", "--password-stdin"]
    missing = invoke(*base, input=ADMIN_PASSWORD + "\n")
    assert missing.exit_code == 2 and "--structure is required" in missing.output
    unknown = invoke(*base, "--structure", "atlantide", input=ADMIN_PASSWORD + "\n")
    assert unknown.exit_code == 2 and "unknown structure 'atlantide'" in unknown.output
    done = invoke(*base, "--structure", "auvergne", input=ADMIN_PASSWORD + "\n")
    assert done.exit_code == 0, done.output
    assert "referent, structure auvergne" in done.output
    assert "[auvergne]" in invoke("users", "list").output
    moved = invoke("users", "role", "paul", "referent", "--structure", "moselle")
    assert moved.exit_code == 0 and "referent, structure moselle" in moved.output
    kept = invoke("users", "role", "paul", "referent")
    assert kept.exit_code == 0 and "structure moselle" in kept.output
    assert invoke("users", "role", "paul", "technician").output.strip().endswith("technician")
    again = invoke("users", "role", "paul", "referent")
    assert again.exit_code == 2 and "--structure is required" in again.output


# -- the JSON API ----------------------------------------------------------------------


def test_a_referent_token_reaches_only_its_structure(
    app: Flask, client: FlaskClient, tickets: dict[str, str]
) -> None:
    headers = _token(app, "ref-auvergne", "referent", "auvergne")
    listed = client.get("/api/v1/tickets?status=all", headers=headers).json
    assert sorted(t["number"] for t in listed["tickets"]) == ["410001", "410002"]  # type: ignore[index]
    assert client.get("/api/v1/tickets/570001", headers=headers).status_code == 404
    patch = client.patch("/api/v1/tickets/570001", json={"status": "resolved"}, headers=headers)
    assert patch.status_code == 404
    escalated = client.post("/api/v1/tickets/570001/escalate", json={"note": NOTE}, headers=headers)
    assert escalated.status_code == 404
    merge = client.post("/api/v1/tickets/410001/merge", json={"into": "570001"}, headers=headers)
    assert merge.status_code == 422
    callbacks = client.get("/api/v1/callbacks?view=all", headers=headers).json
    mine = [_callback_id(app, "410001"), _callback_id(app, "410002")]
    assert sorted(c["id"] for c in callbacks) == mine  # type: ignore[union-attr]
    theirs = _callback_id(app, "570001")
    cancel = client.post(f"/api/v1/callbacks/{theirs}/cancel", headers=headers)
    assert cancel.status_code == 404
    assert _load(app, "570001").status == "new"
    assert client.get("/api/v1/calls/CA" + "0" * 32, headers=headers).status_code == 403


def test_escalation_through_the_api(
    app: Flask, client: FlaskClient, tickets: dict[str, str]
) -> None:
    headers = _token(app, "ref-auvergne", "referent", "auvergne")
    url = "/api/v1/tickets/410001/escalate"
    assert client.post(url, json={"note": ""}, headers=headers).status_code == 422
    short = client.post(url, json={"note": "voir PJ"}, headers=headers)
    assert short.status_code == 422 and short.json["fields"] == ["note"]  # type: ignore[index]
    too_long = client.post(url, json={"note": "x" * (ESCALATION_NOTE_MAX + 1)}, headers=headers)
    assert too_long.status_code == 422
    closed = client.post("/api/v1/tickets/410002/escalate", json={"note": NOTE}, headers=headers)
    assert closed.status_code == 409 and "clos" in closed.json["error"]  # type: ignore[index]
    done = client.post(url, json={"note": NOTE}, headers=headers)
    assert done.status_code == 200, done.json
    assert (done.json["level"], done.json["escalation_note"]) == ("national", NOTE)  # type: ignore[index]
    again = client.post(url, json={"note": NOTE}, headers=headers)
    assert again.status_code == 409 and "déjà au niveau national" in again.json["error"]  # type: ignore[index]
    national = client.get("/api/v1/tickets?level=national", headers=headers).json
    assert [t["number"] for t in national["tickets"]] == ["410001"]  # type: ignore[index]


def test_only_referents_escalate_through_the_api(
    app: Flask, client: FlaskClient, tickets: dict[str, str]
) -> None:
    url = "/api/v1/tickets/410001/escalate"
    for headers in (
        _token(app, "tech", "technician"),
        _token(app, "lecteur", "viewer"),
    ):
        assert client.post(url, json={"note": NOTE}, headers=headers).status_code == 403
    admin = client.post(url, json={"note": NOTE}, headers=_token(app, "boss", "admin"))
    assert admin.status_code == 403
    assert _load(app, "410001").level == "local"


def test_a_referent_lands_on_its_tickets_and_assigns_to_its_colleagues(
    app: Flask, login_as: Login, tickets: dict[str, str]
) -> None:
    referent = login_as("referent", "auvergne")
    login_as("referent", "moselle")  # a referent of another structure
    landing = referent.get("/admin/")
    assert landing.status_code == 302 and landing.headers["Location"].endswith("/admin/tickets")
    page = referent.get("/admin/tickets/410001").get_data(as_text=True)
    assert 'value="referent1"' in page and 'value="referent-moselle"' not in page
    refused = _post(referent, "/admin/tickets/410001/assign", assignee="referent-moselle")
    assert refused == 400
    assert _post(referent, "/admin/tickets/410001/assign", assignee="referent1") == 302
    assert _load(app, "410001").assignee == "referent1"
