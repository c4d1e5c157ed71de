"""Admin interface: logging in and out, sessions, CSRF, login throttling, `ivr users`."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import time_machine
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from callbook.accounts.users import LOCKOUT, MAX_FAILURES, create_user, get_user
from callbook.db import session_scope
from callbook.history.audit import AuditEntry
from schedules import clock
from tests.conftest import ADMIN_PASSWORD, IvrRunner


def _token(client: FlaskClient, path: str = "/admin/login") -> str:
    page = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, page
    return match.group(1)


def _make_admin(app: Flask, username: str = "alice") -> None:
    with session_scope(app) as session:
        create_user(session, username, ADMIN_PASSWORD, role="admin", actor="test", now=clock.now())


def _login(client: FlaskClient, username: str, password: str) -> tuple[int, str]:
    token = _token(client)
    response = client.post(
        "/admin/login",
        data={"username": username, "password": password, "csrf_token": token, "next": ""},
    )
    return response.status_code, response.headers.get("Location", "")


def test_pages_send_strangers_to_the_login_page(client: FlaskClient) -> None:
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/admin/login?next=/admin/")


def test_login_then_logout(app: Flask, client: FlaskClient) -> None:
    _make_admin(app)
    status, location = _login(client, "Alice", ADMIN_PASSWORD)
    assert (status, location) == (302, "/admin/")
    assert client.get("/admin/").status_code in (200, 302)
    assert "Alice" not in client.get("/admin/login").get_data(as_text=True)
    token = _token(client, "/admin/login")
    assert client.post("/admin/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/admin/").headers["Location"].startswith("/admin/login")


def test_session_cookie_is_http_only_and_same_site(app: Flask, client: FlaskClient) -> None:
    _make_admin(app)
    _login(client, "alice", ADMIN_PASSWORD)
    cookie = client.get_cookie("ivr_session")
    assert cookie is not None and cookie.http_only and cookie.same_site == "Lax"
    assert app.config["SESSION_COOKIE_SECURE"] is False  # plain http in tests


def test_wrong_password_and_unknown_user_get_the_same_answer(
    app: Flask, client: FlaskClient
) -> None:
    _make_admin(app)
    assert _login(client, "alice", "wrong password!")[0] == 401
    assert _login(client, "nobody", "wrong password!")[0] == 401


def test_login_is_locked_after_repeated_failures(app: Flask, client: FlaskClient) -> None:
    start = datetime(2026, 12, 24, 9, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False):
        _make_admin(app)
        for _ in range(MAX_FAILURES):
            assert _login(client, "alice", "wrong password!")[0] == 401
        # Locked: even the right password is refused for a while.
        assert _login(client, "alice", ADMIN_PASSWORD)[0] == 429
    with time_machine.travel(start + LOCKOUT + timedelta(seconds=1), tick=False):
        assert _login(client, "alice", ADMIN_PASSWORD)[0] == 302


def test_post_without_csrf_token_is_refused(app: Flask, client: FlaskClient) -> None:
    _make_admin(app)
    response = client.post("/admin/login", data={"username": "alice", "password": ADMIN_PASSWORD})
    assert response.status_code == 400
    _token(client)  # the session now has a token, but a wrong one is still refused
    response = client.post(
        "/admin/login",
        data={"username": "alice", "password": ADMIN_PASSWORD, "csrf_token": "forged"},
    )
    assert response.status_code == 400
    assert client.get("/admin/").headers["Location"].startswith("/admin/login")


def test_csrf_does_not_apply_to_webhooks_and_api(client: FlaskClient) -> None:
    # Both answer for their own reasons (signature, bearer token), never the CSRF 400.
    assert client.post("/voice/incoming", data={}).status_code == 403
    assert client.put("/api/v1/calls/CA1/note", json={"note": "x"}).status_code == 401


def test_disabling_a_user_ends_their_session(
    app: Flask, login_as: Callable[[str], FlaskClient], runner: IvrRunner
) -> None:
    viewer = login_as("viewer")
    assert not viewer.get("/admin/").headers.get("Location", "").startswith("/admin/login")
    result = runner.invoke("users", "disable", "viewer1")
    assert result.exit_code == 0, result.output
    assert viewer.get("/admin/").headers["Location"].startswith("/admin/login")


def test_cli_creates_lists_and_changes_users(app: Flask, runner: IvrRunner) -> None:
    created = runner.invoke(
        "users",
        "create",
        "Bob",
        "--role",
        "technician",
        "--name",
        "Bob Martin",
        "--password-stdin",
        input=ADMIN_PASSWORD + "\n",
    )
    assert created.exit_code == 0, created.output
    listed = runner.invoke("users", "list")
    assert re.search(r"^bob\s+Technician\s+active\s+fr\s+Bob Martin$", listed.output, re.MULTILINE)
    short = runner.invoke("users", "set-password", "bob", "--password-stdin", input="short\n")
    assert short.exit_code == 1 and "password" in short.output
    again = runner.invoke(
        "users",
        "create",
        "bob",
        "--role",
        "viewer",
        "--password-stdin",
        input=ADMIN_PASSWORD + "\n",
    )
    assert again.exit_code == 1 and "already exists" in again.output
    assert runner.invoke("users", "disable", "nobody").exit_code == 1
    with session_scope(app) as session:
        bob = get_user(session, "bob")
        assert bob is not None and bob.role == "technician" and bob.active
        assert "argon2" in bob.password_hash and ADMIN_PASSWORD not in bob.password_hash
        actions = session.scalars(
            select(AuditEntry.action).where(AuditEntry.entity_id == "bob")
        ).all()
    assert actions == ["create"]
    linked = runner.invoke("users", "link", "bob", "chloe")
    assert linked.exit_code == 0 and "linked to technician chloe" in linked.output
    unknown = runner.invoke("users", "link", "bob", "nobody")
    assert unknown.exit_code == 1 and "no technician 'nobody'" in unknown.output
    with session_scope(app) as session:
        bob = get_user(session, "bob")
        assert bob is not None and bob.technician == "chloe"
    assert runner.invoke("users", "link", "bob", "-").exit_code == 0


def test_one_address_trying_many_usernames_is_stopped(app: Flask) -> None:
    from callbook.accounts.users import MAX_FAILURES_FROM_ADDRESS, LoginLocked, authenticate

    now = datetime(2026, 12, 24, 9, 0, tzinfo=UTC)
    with clock.frozen_at(now):
        _make_admin(app)
    with session_scope(app) as session:
        for i in range(MAX_FAILURES_FROM_ADDRESS):
            assert authenticate(session, f"user{i}", "guess", address="10.0.0.9", now=now) is None
    with session_scope(app) as session:
        try:
            authenticate(session, "alice", ADMIN_PASSWORD, address="10.0.0.9", now=now)
        except LoginLocked as exc:
            assert exc.until == now + LOCKOUT
        else:
            raise AssertionError("the address should be refused")
        # Another address is not concerned.
        user = authenticate(session, "alice", ADMIN_PASSWORD, address="10.0.0.10", now=now)
        assert user is not None and user.username == "alice"


def test_cookie_is_https_only_behind_an_https_public_url(tmp_path: Path) -> None:
    from ivr.app import create_app
    from ivr.settings import Settings

    https = create_app(Settings(instance_dir=tmp_path / "a", public_url="https://ivr.example.org"))
    assert https.config["SESSION_COOKIE_SECURE"] is True
    forced = create_app(Settings(instance_dir=tmp_path / "b", secure_cookies=True))
    assert forced.config["SESSION_COOKIE_SECURE"] is True
    plain = create_app(Settings(instance_dir=tmp_path / "c", public_url="http://10.0.0.1:8000"))
    assert plain.config["SESSION_COOKIE_SECURE"] is False
