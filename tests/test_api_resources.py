"""The API's configuration, tickets, callbacks and users routes, audited under the token's user."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from callbook.db import session_scope
from callbook.history.audit import AuditEntry
from callbook.tickets import Callback, Ticket
from schedules import clock
from tests.admin_data import phone
from tests.api_helpers import token_for
from tests.conftest import ADMIN_PASSWORD, paris

NOW = paris(2026, 12, 26, 10, 0)


@pytest.fixture(autouse=True)
def boxing_day() -> Iterator[None]:
    with clock.frozen_at(NOW):
        yield


def _audit(app: Flask, entity: str) -> list[tuple[str, str, str]]:
    with session_scope(app) as session:
        rows = session.scalars(
            select(AuditEntry).where(AuditEntry.entity == entity).order_by(AuditEntry.id)
        )
        return [(e.actor, e.entity_id, e.action) for e in rows]


def test_draft_publish_diff_and_rollback(app: Flask, client: FlaskClient) -> None:
    auth = token_for(app, "admin", "ada")
    active = client.get("/api/v1/config", headers=auth).json
    assert active["revision"]["number"] == 1 and active["revision"]["active"]
    document = active["document"]

    broken = {**document, "structures": [dict(document["structures"][0], calendar="nowhere")]}
    refused = client.put("/api/v1/config/draft", json=broken, headers=auth)
    assert refused.status_code == 422
    assert "structures.0.calendar" in refused.json["fields"]
    assert client.get("/api/v1/config/draft", headers=auth).json["is_draft"] is False

    edited = {**document, "service": {**document["service"], "name": "Assistance test"}}
    saved = client.put("/api/v1/config/draft", json=edited, headers=auth)
    assert saved.status_code == 200 and saved.json["is_draft"] and saved.json["updated_by"] == "ada"

    no_comment = client.post("/api/v1/config/publish", json={"comment": ""}, headers=auth)
    assert no_comment.status_code == 422 and no_comment.json["fields"] == ["comment"]
    published = client.post("/api/v1/config/publish", json={"comment": "nom"}, headers=auth)
    assert published.status_code == 201 and published.json["number"] == 2
    again = client.post("/api/v1/config/publish", json={"comment": "x"}, headers=auth)
    assert again.status_code == 409

    revisions = client.get("/api/v1/config/revisions", headers=auth).json
    assert [r["number"] for r in revisions] == [2, 1] and revisions[0]["active"]
    diff = client.get("/api/v1/config/revisions/2/diff", headers=auth).json
    assert [c["path"] for c in diff["changes"]] == ["service.name"]
    assert "+  name: Assistance test" in diff["diff"]

    back = client.post("/api/v1/config/revisions/1/rollback", headers=auth)
    assert back.json == {"active_revision": 1, "previous_revision": 2}
    assert client.post("/api/v1/config/revisions/9/rollback", headers=auth).status_code == 404
    assert [a for _, _, a in _audit(app, "config")] == ["publish", "rollback"]
    assert ("ada", "document", "edit") in _audit(app, "draft")


@pytest.fixture
def tickets(app: Flask) -> list[str]:
    """Two voicemails of Christmas Eve evening, each with a callback."""
    phone(app, paris(2026, 12, 24, 17, 45), "+33465719901", "2", "1")
    phone(app, paris(2026, 12, 24, 18, 10), "+33612345678", "1", "1")
    with session_scope(app) as session:
        return [t.number for t in session.scalars(select(Ticket).order_by(Ticket.id))]


def test_tickets_list_patch_and_merge(app: Flask, client: FlaskClient, tickets: list[str]) -> None:
    auth = token_for(app, "technician", "theo")
    listed = client.get("/api/v1/tickets", headers=auth).json
    assert [t["number"] for t in listed["tickets"]] and not listed["more"]
    high = client.get("/api/v1/tickets?priority=high", headers=auth).json["tickets"]
    assert [t["number"] for t in high] == [tickets[1]]
    bad = client.get("/api/v1/tickets?status=lost&page=0", headers=auth)
    assert bad.status_code == 422 and set(bad.json["fields"]) == {"status", "page"}

    number = tickets[0]
    patched = client.patch(
        f"/api/v1/tickets/{number}", json={"assignee": "theo", "status": "in_progress"},
        headers=auth,
    )  # fmt: skip
    assert patched.status_code == 200
    assert (patched.json["assignee"], patched.json["status"]) == ("theo", "in_progress")
    stranger = client.patch(f"/api/v1/tickets/{number}", json={"assignee": "nobody"}, headers=auth)
    assert stranger.status_code == 422 and stranger.json["fields"] == ["assignee"]
    assert client.patch(f"/api/v1/tickets/{number}", json={}, headers=auth).status_code == 422

    merged = client.post(f"/api/v1/tickets/{tickets[1]}/merge", json={"into": number}, headers=auth)
    assert merged.status_code == 200 and merged.json["messages_moved"] == 1
    detail = client.get(f"/api/v1/tickets/{number}", headers=auth).json
    assert len(detail["messages"]) == 2 and detail["history"]
    assert client.get("/api/v1/tickets/999999", headers=auth).status_code == 404
    assert [(a, act) for a, _, act in _audit(app, "ticket")] == [
        ("theo", "status"), ("theo", "assign"), ("theo", "merge"),
    ]  # fmt: skip


def test_callbacks_actions(app: Flask, client: FlaskClient, tickets: list[str]) -> None:
    auth = token_for(app, "technician", "theo")
    rows = client.get("/api/v1/callbacks", headers=auth).json
    assert rows and all(r["status"] == "pending" for r in rows)
    first = rows[0]["id"]
    moved = client.post(
        f"/api/v1/callbacks/{first}/reschedule", json={"due_at": "2026-12-28T15:00"}, headers=auth
    )
    assert moved.status_code == 200 and moved.json["due_at"].startswith("2026-12-28T14:00")
    past = client.post(
        f"/api/v1/callbacks/{first}/reschedule", json={"due_at": "2026-12-01T15:00"}, headers=auth
    )
    assert past.status_code == 422 and past.json["fields"] == ["due_at"]
    assert client.post(f"/api/v1/callbacks/{first}/call-now", headers=auth).status_code == 200
    canceled = client.post(f"/api/v1/callbacks/{first}/cancel", headers=auth)
    assert canceled.json["status"] == "canceled"
    with session_scope(app) as session:
        assert session.get(Callback, first).status == "canceled"  # type: ignore[union-attr]
    assert client.post("/api/v1/callbacks/99999/cancel", headers=auth).status_code == 404
    actions = [a for actor, _, a in _audit(app, "callback") if actor == "theo"]
    assert actions == ["reschedule", "call_now", "cancel"]


def test_users_list_create_disable(app: Flask, client: FlaskClient) -> None:
    auth = token_for(app, "admin", "ada")
    made = client.post(
        "/api/v1/users",
        json={"username": "Vic", "password": ADMIN_PASSWORD, "role": "viewer"},
        headers=auth,
    )
    assert made.status_code == 201 and made.json["username"] == "vic"
    short = client.post(
        "/api/v1/users", json={"username": "w", "password": "x", "role": "boss"}, headers=auth
    )
    assert short.status_code == 422 and short.json["fields"] == ["role"]
    weak = client.post(
        "/api/v1/users", json={"username": "wes", "password": "x", "role": "viewer"}, headers=auth
    )
    assert weak.status_code == 422 and weak.json["fields"] == ["password"]
    assert client.post("/api/v1/users/vic/disable", headers=auth).json["active"] is False
    assert client.post("/api/v1/users/ada/disable", headers=auth).status_code == 409
    names = {u["username"]: u["active"] for u in client.get("/api/v1/users", headers=auth).json}
    assert names["vic"] is False and names["ada"] is True
    assert ("ada", "vic", "disable") in _audit(app, "user")
