"""Admin sessions end on the server: logout, new password, disabled account, new role."""

from __future__ import annotations

import json
import re
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient

from callbook.accounts.users import create_user, get_user
from callbook.db import session_scope
from ivr.admin.auth import SESSION_USER, SESSION_VERSION
from ivr.app import create_app
from schedules import clock
from tests.conftest import ADMIN_PASSWORD, IvrRunner, deployment_settings

OTHER_PASSWORD = "quatre chevaux gris au galop"


def _make(app: Flask, username: str, role: str = "admin") -> None:
    with session_scope(app) as session:
        create_user(session, username, ADMIN_PASSWORD, role=role, actor="test", now=clock.now())


def _token(client: FlaskClient, path: str = "/admin/login") -> str:
    page = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, page
    return match.group(1)


def _logged_in(app: Flask, username: str) -> FlaskClient:
    """A client logged in through the login form, as a browser would."""
    client = app.test_client()
    form = {"username": username, "password": ADMIN_PASSWORD, "csrf_token": _token(client)}
    assert client.post("/admin/login", data=form).status_code == 302
    return client


def _copy(app: Flask, client: FlaskClient) -> FlaskClient:
    """Another browser carrying a copy of `client`'s session cookie."""
    cookie = client.get_cookie("ivr_session")
    assert cookie is not None
    thief = app.test_client()
    thief.set_cookie("ivr_session", cookie.value)
    return thief


def _sent_to_login(client: FlaskClient, path: str = "/admin/audit") -> bool:
    response = client.get(path)
    return response.status_code == 302 and response.headers["Location"].startswith("/admin/login")


def test_a_copied_cookie_fails_after_logout(app: Flask) -> None:
    _make(app, "alice")
    alice = _logged_in(app, "alice")
    thief = _copy(app, alice)
    assert thief.get("/admin/audit").status_code == 200  # the copy works while alice is in
    logout = alice.post("/admin/logout", data={"csrf_token": _token(alice, "/admin/audit")})
    assert logout.status_code == 302
    assert _sent_to_login(thief) and _sent_to_login(alice)
    # Logging in again starts a new session; the old copy stays dead.
    again = _logged_in(app, "alice")
    assert again.get("/admin/audit").status_code == 200
    assert _sent_to_login(thief)


def test_a_new_password_ends_every_session_of_the_user(app: Flask, runner: IvrRunner) -> None:
    _make(app, "alice")
    _make(app, "bob", role="viewer")
    bob = _logged_in(app, "bob")
    assert bob.get("/admin/reports").status_code == 200
    result = runner.invoke(
        "users", "set-password", "bob", "--password-stdin", input=OTHER_PASSWORD + "\n"
    )
    assert result.exit_code == 0, result.output
    assert _sent_to_login(bob, "/admin/reports")

    # An admin changing their own password on the users page keeps this
    # session; a copy of its cookie, and their other sessions, end.
    alice = _logged_in(app, "alice")
    copy = _copy(app, alice)
    form = {"csrf_token": _token(alice, "/admin/users"), "role": "admin", "active": "1"}
    form |= {"display_name": "Alice", "technician": "", "password": OTHER_PASSWORD}
    assert alice.post("/admin/users/alice", data=form).status_code == 302
    assert alice.get("/admin/audit").status_code == 200
    assert _sent_to_login(copy)


def test_disabling_a_user_or_changing_their_role_ends_their_sessions(app: Flask) -> None:
    _make(app, "alice")
    _make(app, "bob", role="technician")
    _make(app, "carol", role="technician")
    alice = _logged_in(app, "alice")
    bob, carol = _logged_in(app, "bob"), _logged_in(app, "carol")
    token = _token(alice, "/admin/users")
    unchanged = {"csrf_token": token, "role": "technician", "active": "1", "display_name": "Bob"}
    assert alice.post("/admin/users/bob", data=unchanged).status_code == 302
    assert bob.get("/admin/tickets").status_code == 200  # a new display name ends nothing
    viewer = unchanged | {"role": "viewer"}
    assert alice.post("/admin/users/bob", data=viewer).status_code == 302
    assert _sent_to_login(bob, "/admin/reports")
    disabled = {"csrf_token": token, "role": "technician", "display_name": "Carol"}
    assert alice.post("/admin/users/carol", data=disabled).status_code == 302
    assert _sent_to_login(carol, "/admin/reports")
    with session_scope(app) as session:
        carol_user = get_user(session, "carol")
        assert carol_user is not None and not carol_user.active


def test_the_session_cookie_holds_no_part_of_the_password_hash(app: Flask) -> None:
    _make(app, "alice")
    client = _logged_in(app, "alice")
    cookie = client.get_cookie("ivr_session")
    assert cookie is not None
    serializer = app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]
    data = serializer.loads(cookie.value)
    assert set(data) - {"_permanent", "csrf_token"} == {SESSION_USER, SESSION_VERSION}
    with session_scope(app) as session:
        user = get_user(session, "alice")
        assert user is not None
        assert data[SESSION_USER] == user.id and data[SESSION_VERSION] == user.session_version
        password_hash = user.password_hash
    decoded = json.dumps(data)
    fragments = {password_hash[i : i + 6] for i in range(len(password_hash) - 5)}
    assert not any(f in decoded or f in cookie.value for f in fragments if "$" not in f)


def test_cookie_flags_behind_an_https_public_url(migrated_database: str, tmp_path: Path) -> None:
    app = create_app(
        deployment_settings(
            instance_dir=tmp_path, database_url=migrated_database, public_url="https://ivr.test"
        )
    )
    _make(app, "alice")
    client = app.test_client(use_cookies=True)
    page = client.get("/admin/login", base_url="https://ivr.test")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True))
    assert token is not None
    form = {"username": "alice", "password": ADMIN_PASSWORD, "csrf_token": token.group(1)}
    response = client.post("/admin/login", data=form, base_url="https://ivr.test")
    assert response.status_code == 302
    header = response.headers["Set-Cookie"]
    assert header.startswith("ivr_session=")
    assert "; Secure" in header and "; HttpOnly" in header and "; SameSite=Lax" in header
