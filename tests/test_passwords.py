"""Weak passwords are refused wherever a password is set, with the reason in French."""

from __future__ import annotations

import html
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient

from callbook.accounts.passwords import password_problem
from callbook.accounts.users import UserError, create_user, get_user
from callbook.db import session_scope
from schedules import clock
from tests.api_helpers import token_for
from tests.conftest import ADMIN_PASSWORD, IvrRunner
from tests.test_admin_config import field_errors

REFUSED = "Mot de passe trop faible : "
STRONG = "une porte verte sur la colline"


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("court", "10 caractères au moins."),
        ("aaaaaaaaaa", "les répétitions comme « aaa » se devinent facilement."),
        ("password123", "c'est un mot de passe très courant."),
        ("Motdepasse2024!", "il repose sur un mot de passe très courant."),
        ("azertyuiop", "il repose sur un mot de passe très courant."),
        ("Astreinte63", "il repose sur un mot de passe très courant."),
        ("abcdefghijkl", "les suites comme « abc » ou « 6543 » se devinent facilement."),
        ("alice.martin63", "il reprend l'identifiant ou le nom du compte."),
    ],
)
def test_weak_passwords_are_refused_with_the_reason(password: str, reason: str) -> None:
    problem = password_problem(password, ("alice", "Alice Martin"))
    assert problem is not None and problem.startswith(REFUSED + reason)


@pytest.mark.parametrize("password", [ADMIN_PASSWORD, STRONG, "Tr0ub4dor&3x-Vercors"])
def test_strong_passwords_are_accepted(password: str) -> None:
    assert password_problem(password, ("alice", "Alice Martin")) is None


def test_the_length_is_bounded() -> None:
    assert password_problem("x" * 201) == "Mot de passe trop long : 200 caractères au plus."


def test_a_weak_password_creates_no_account(app: Flask) -> None:
    with session_scope(app) as session:
        with pytest.raises(UserError) as refused:
            create_user(
                session, "bernard", "Bernard-2024!", role="viewer", actor="t", now=clock.now()
            )
        assert refused.value.field == "password"
        assert str(refused.value).startswith(REFUSED + "il reprend l'identifiant")
        assert get_user(session, "bernard") is None


def test_admin_pages_refuse_weak_passwords_in_french(
    app: Flask, login_as: Callable[[str], FlaskClient]
) -> None:
    admin = login_as("admin")
    token = admin.csrf_token  # type: ignore[attr-defined]
    form = {"csrf_token": token, "username": "tech2", "display_name": "", "role": "technician"}
    weak = admin.post("/admin/users", data=form | {"password": "aaaaaaaaaa"})
    page = html.unescape(weak.get_data(as_text=True))
    assert weak.status_code == 422 and list(field_errors(page)) == ["password"]
    assert REFUSED + "les répétitions comme « aaa »" in page
    assert admin.post("/admin/users", data=form | {"password": STRONG}).status_code == 302
    with session_scope(app) as session:
        user = get_user(session, "tech2")
        assert user is not None
        before = user.password_hash
    edit = {"csrf_token": token, "role": "technician", "active": "1", "display_name": "Tech"}
    admin.post("/admin/users/tech2", data=edit | {"password": "password123"})
    page = html.unescape(admin.get("/admin/users").get_data(as_text=True))
    assert "tech2 : " + REFUSED + "c'est un mot de passe très courant." in page
    with session_scope(app) as session:
        user = get_user(session, "tech2")
        assert user is not None and user.password_hash == before and user.display_name == "tech2"


def test_cli_refuses_weak_passwords_in_french(app: Flask, runner: IvrRunner) -> None:
    create = ["users", "create", "bob", "--role", "viewer", "--password-stdin"]
    weak = runner.invoke(*create, input="motdepasse\n")
    assert weak.exit_code == 1
    assert "password: " + REFUSED + "il repose sur un mot de passe très courant." in weak.output
    assert runner.invoke(*create, input=STRONG + "\n").exit_code == 0
    again = runner.invoke("users", "set-password", "bob", "--password-stdin", input="bob12345678\n")
    assert again.exit_code == 1 and REFUSED + "il reprend l'identifiant" in again.output


def test_api_refuses_weak_passwords_in_french(app: Flask, client: FlaskClient) -> None:
    auth = token_for(app, "admin", "ada")
    body = {"username": "vic", "role": "viewer"}
    weak = client.post("/api/v1/users", json=body | {"password": "Azerty2024!"}, headers=auth)
    assert weak.status_code == 422 and weak.json["fields"] == ["password"]
    assert weak.json["error"].startswith("password: " + REFUSED)
    made = client.post("/api/v1/users", json=body | {"password": STRONG}, headers=auth)
    assert made.status_code == 201
