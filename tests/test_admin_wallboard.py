"""The wallboard page and its JSON, the contact-centre section of the reports, their exports."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient

from callbook.db import session_scope
from schedules import clock
from tests.conftest import paris
from tests.test_contact_centre import add_wait
from tests.test_metrics import ringing_call

Login = Callable[[str], FlaskClient]
NOW = paris(2026, 3, 2, 10, 0)  # a Monday morning: the hotline is open


@pytest.fixture(autouse=True)
def monday_morning() -> Iterator[None]:
    with clock.frozen_at(NOW):
        yield


def seed_today(app: Flask) -> None:
    add_wait(app, "W1", NOW - timedelta(seconds=95), "waiting")
    add_wait(app, "W2", NOW - timedelta(seconds=30), "waiting", team="auvergne")
    add_wait(app, "B1", NOW - timedelta(hours=1), "bridged", 15, answered=True)
    add_wait(app, "A1", NOW - timedelta(minutes=50), "abandoned", 70)
    with session_scope(app) as session:
        session.add(ringing_call("R1", NOW, "+33199002001"))


def test_the_wallboard_shows_the_queue_the_lines_and_today(app: Flask, login_as: Login) -> None:
    seed_today(app)
    client = login_as("viewer")
    page = client.get("/admin/wallboard")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'href="/admin/wallboard"' in html and "Tableau mural" in html  # the nav link
    assert '<span class="wb-value" id="wb-waiting">2</span>' in html
    assert '<span class="wb-value" id="wb-longest">1 min 35 s</span>' in html
    assert "<script" in html and "wallboard.js" in html and "<script>" not in html
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    data = client.get("/admin/wallboard.json").get_json()
    fields = data["fields"]
    assert fields["wb-waiting"] == "2" and fields["wb-busy"] == "1" and fields["wb-free"] == "1"
    assert fields["wb-answered"] == "1" and fields["wb-abandoned"] == "1"
    assert fields["wb-abandon-rate"] == "25 %"  # 1 of 4 offered (B1, A1, W1, W2)
    assert fields["wb-service-level"] == "50 %"  # B1 within 20 s, of B1 and A1 settled
    assert fields["wb-open"] == "Ouvert"
    assert fields["wb-oncall"] == "Chloé Bernard"  # 8 weeks after the rota anchor (Alice)
    assert fields["wb-updated"] == "Mis à jour à 10:00:00"
    assert data["members"] == [
        {"number": "+33199002000", "state": "free", "label": "libre"},
        {"number": "+33199002001", "state": "ringing", "label": "sonne"},
    ]
    assert [t["waiting"] for t in data["teams"]] == ["1", "1"]
    assert data["figures"]["longest_wait"] == 95


def test_the_wallboard_json_needs_a_login(client: FlaskClient) -> None:
    response = client.get("/admin/wallboard.json")
    assert response.status_code == 302 and "/admin/login" in response.headers["Location"]


def test_the_static_script_is_served_locally(client: FlaskClient) -> None:
    response = client.get("/admin/static/wallboard.js")
    assert response.status_code == 200
    assert b"wallboard.json" not in response.data  # the URL comes from the page
    assert b"http" not in response.data.replace(b"HTTP ", b"")
