"""French by default, English for those who chose it: labels, dates, validation
messages, the API's `message`, error pages, and `/`."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient

from callbook.accounts.tokens import issue_token
from callbook.accounts.users import get_user, update_user
from callbook.db import session_scope
from ivr.app import create_app
from schedules import clock
from tests.conftest import paris
from tests.seed_calls import seed_voicemail_call

Login = Callable[[str], FlaskClient]


def page(client: FlaskClient, url: str, status: int = 200) -> str:
    response = client.get(url)
    assert response.status_code == status, (url, response.status_code)
    return response.get_data(as_text=True)


def visible(html: str) -> str:
    """The page's words, tags and attribute values left out."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]*>", " ", html))


def english(app: Flask, login_as: Login, role: str = "admin") -> FlaskClient:
    client = login_as(role)
    with session_scope(app) as session:
        user = get_user(session, f"{role}1")
        assert user is not None
        update_user(session, user, actor="test", now=clock.now(), locale="en")
    return client


def test_french_is_the_default_and_codes_are_shown_as_labels(app: Flask, login_as: Login) -> None:
    call_sid, number = seed_voicemail_call(app)
    admin = login_as("admin")
    tickets = visible(page(admin, "/admin/tickets"))
    assert "Nouveau" in tickets and "Priorité" in tickets
    assert not re.search(r"\b(new|normal|high|urgent)\b", tickets)
    ticket = visible(page(admin, f"/admin/tickets/{number}"))
    assert "À rappeler" in ticket and "Ouverture" in ticket and "pending" not in ticket
    call = visible(page(admin, f"/admin/calls/{call_sid}"))
    assert "Messagerie (Terminé)" in call and "jeudi 24 décembre 2026 à 17:45" in call
    calls = visible(page(admin, "/admin/calls?from=2026-12-20&to=2026-12-27"))
    assert "Messagerie" in calls and "voicemail" not in calls
    home = page(admin, "/admin/tickets")
    assert '<html lang="fr">' in home and "(Administrateur)" in home


def test_an_english_user_reads_english_labels_dates_and_navigation(
    app: Flask, login_as: Login
) -> None:
    call_sid, number = seed_voicemail_call(app)
    admin = english(app, login_as)
    tickets = page(admin, "/admin/tickets")
    assert '<html lang="en">' in tickets
    words = visible(tickets)
    assert "Call log" in words and "Audit log" in words and "Log out" in words
    assert "New" in words and "Priority" in words and "Nouveau" not in words
    ticket = visible(page(admin, f"/admin/tickets/{number}"))
    assert "To call back" in ticket and "Opened on" in ticket
    call = visible(page(admin, f"/admin/calls/{call_sid}"))
    assert "Voicemail (Completed)" in call
    assert "Thursday, December 24, 2026 at 5:45" in call  # Babel's English date and time
    callbacks = visible(page(admin, "/admin/callbacks"))
    assert "Callback requested" in callbacks and "Call now" in callbacks
    with clock.frozen_at(paris(2026, 12, 1, 10, 0)):
        schedules = visible(page(admin, "/admin/schedules"))
    assert "Christmas Day" in schedules and "Monday" in schedules
    # A French user of the same service still reads French.
    assert "Rappel demandé" in visible(page(login_as("technician"), "/admin/callbacks"))


def test_a_user_chooses_english_on_their_own_page(login_as: Login) -> None:
    viewer = login_as("viewer")
    form = page(viewer, "/admin/account")
    assert "Langue des pages" in form and "English" in form
    token = viewer.csrf_token  # type: ignore[attr-defined]
    refused = viewer.post("/admin/account", data={"csrf_token": token, "locale": "de"})
    assert refused.status_code == 422
    assert "langue inconnue" in refused.get_data(as_text=True)
    saved = viewer.post(
        "/admin/account", data={"csrf_token": token, "locale": "en"}, follow_redirects=True
    )
    body = saved.get_data(as_text=True)
    assert "Your pages are now in English." in body and "My account" in body
    back = viewer.post(
        "/admin/account", data={"csrf_token": token, "locale": "fr"}, follow_redirects=True
    )
    assert "Vos pages sont désormais en français." in back.get_data(as_text=True)


def test_an_admin_switches_a_user_to_english_on_the_users_page(app: Flask, login_as: Login) -> None:
    admin = login_as("admin")
    login_as("viewer")
    form = {"csrf_token": admin.csrf_token, "role": "viewer", "active": "1",  # type: ignore[attr-defined]
            "display_name": "Viewer Test", "technician": "", "locale": "en"}  # fmt: skip
    assert admin.post("/admin/users/viewer1", data=form).status_code == 302
    with session_scope(app) as session:
        user = get_user(session, "viewer1")
        assert user is not None and user.locale == "en"


def test_config_errors_are_french_sentences_naming_the_field(login_as: Login) -> None:
    admin = login_as("admin")
    token = admin.csrf_token  # type: ignore[attr-defined]
    form = {"csrf_token": token, "timezone": "Europe/Pariss", "holidays": "FR",
            "exceptions_form": "1", "exceptions_rows": "0"}  # fmt: skip
    form |= {f"weekly_{d}": "09:00-12:00" for d in ("mon", "tue", "wed", "thu", "fri")}
    refused = admin.post("/admin/calendars/hotline", data=form)
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert "Fuseau horaire inconnu : « Europe/Pariss »" in html
    structure = {"csrf_token": token, "id": "savoie", "name": "Savoie", "departments": "73",
                 "calendar": "hotline", "support": "phone", "redirect_message": "",
                 "referents": "nobody-here"}  # fmt: skip
    refused = admin.post("/admin/directory/structures/new", data=structure)
    assert refused.status_code == 422
    words = visible(refused.get_data(as_text=True))
    assert "référent inconnu « nobody-here »" in words
    assert "référent n° 1" in words or "Référents" in words


def test_config_errors_in_english_for_an_english_user(app: Flask, login_as: Login) -> None:
    admin = english(app, login_as)
    structure = {"csrf_token": admin.csrf_token, "id": "savoie", "name": "Savoie",  # type: ignore[attr-defined]
                 "departments": "73", "calendar": "hotline", "support": "phone",
                 "redirect_message": "", "referents": "nobody-here"}  # fmt: skip
    refused = admin.post("/admin/directory/structures/new", data=structure)
    assert refused.status_code == 422
    assert "unknown referent “nobody-here”" in visible(refused.get_data(as_text=True))
    silent = structure | {"support": "no_phone", "referents": ""}
    refused = admin.post("/admin/directory/structures/new", data=silent)
    assert refused.status_code == 422
    words = visible(refused.get_data(as_text=True))
    assert "a structure without phone support needs a redirect message" in words


def _token(app: Flask, login_as: Login, role: str, locale: str = "fr") -> str:
    login_as(role)
    with session_scope(app) as session:
        user = get_user(session, f"{role}1")
        assert user is not None
        update_user(session, user, actor="test", now=clock.now(), locale=locale)
        return issue_token(session, user, actor="test", now=clock.now())


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        ("fr", "priorité : valeur inconnue : valeurs possibles urgent, high, normal, low"),
        ("en", "priority: unknown value: possible values urgent, high, normal, low"),
    ],
)
def test_the_api_keeps_codes_and_adds_a_message_in_the_users_language(
    app: Flask, login_as: Login, locale: str, expected: str
) -> None:
    token = _token(app, login_as, "admin", locale)
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    answer = client.get("/api/v1/tickets?priority=someday", headers=headers)
    assert answer.status_code == 422
    body = answer.get_json()
    assert body["fields"] == ["priority"] and "priority" in body["error"]
    assert body["details"][0]["code"] == "literal_error"
    assert body["details"][0]["field"] == "priority"
    assert body["message"] == expected
    missing = client.get("/api/v1/tickets/999999", headers=headers)
    assert missing.status_code == 404 and missing.get_json()["error"].startswith("no ticket")
    words = {"fr": "Ressource introuvable.", "en": "Resource not found."}
    assert missing.get_json()["message"] == words[locale]


def test_api_errors_without_a_user_are_french(client: FlaskClient) -> None:
    refused = client.get("/api/v1/tickets")
    assert refused.status_code == 401
    assert refused.get_json()["message"] == "Jeton d'accès absent ou invalide."
    unknown = client.get("/api/v1/nowhere")
    assert unknown.status_code == 404 and unknown.is_json
    assert unknown.get_json()["message"] == "Ressource introuvable."
    wrong = client.delete("/api/v1/openapi.json")
    assert wrong.status_code == 405 and wrong.get_json()["message"].startswith("Méthode")


def test_error_pages_are_french(client: FlaskClient, login_as: Login) -> None:
    missing = client.get("/admin/nowhere")
    assert missing.status_code == 404
    assert "Page introuvable" in missing.get_data(as_text=True)
    elsewhere = client.get("/nowhere")
    assert elsewhere.status_code == 404 and "Page introuvable" in elsewhere.get_data(as_text=True)
    viewer = login_as("viewer")
    denied = viewer.get("/admin/users")
    assert denied.status_code == 403 and "Accès refusé" in denied.get_data(as_text=True)
    not_allowed = viewer.get("/admin/logout")  # a form's target, POST only
    assert not_allowed.status_code == 405
    assert "Méthode non autorisée" in not_allowed.get_data(as_text=True)
    ticket = login_as("admin").get("/admin/tickets/999999")
    assert ticket.status_code == 404 and "Aucun ticket n° 999999." in ticket.get_data(as_text=True)


def test_an_unexpected_error_gets_the_french_500_page(tmp_path: object) -> None:
    from ivr.settings import Settings

    app = create_app(Settings(instance_dir=tmp_path))  # type: ignore[arg-type]
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.get("/admin/boom")
    def boom() -> str:
        raise RuntimeError("boom")

    boom.required_roles = ()  # type: ignore[attr-defined]
    with app.test_client() as client:
        answer = client.get("/admin/boom")
        assert answer.status_code == 500
        html = answer.get_data(as_text=True)
        assert "Erreur interne" in html and "boom" not in html and "Traceback" not in html


def test_the_root_leads_to_the_admin(client: FlaskClient) -> None:
    answer = client.get("/")
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/admin/")


def test_the_voice_keeps_its_own_errors(client: FlaskClient) -> None:
    unsigned = client.post("/voice/incoming", data={})
    assert unsigned.status_code == 403 and "Accès refusé" not in unsigned.get_data(as_text=True)


def test_admin_dates_are_formatted_by_babel(app: Flask, login_as: Login) -> None:
    with clock.frozen_at(paris(2026, 12, 1, 10, 0)):
        html = page(login_as("admin"), "/admin/today")
    assert "mardi 1er décembre 2026 à 10:00" in html


def test_the_command_line_switches_a_user_to_english(
    app: Flask, login_as: Login, runner: object
) -> None:
    login_as("viewer")
    switched = runner.invoke("users", "locale", "viewer1", "en")  # type: ignore[attr-defined]
    assert switched.exit_code == 0 and "English" in switched.output
    listed = runner.invoke("users", "list")  # type: ignore[attr-defined]
    assert re.search(r"^viewer1\s+Viewer\s+active\s+en\s+Viewer Test$", listed.output, re.M)
    refused = runner.invoke("users", "locale", "viewer1", "de")  # type: ignore[attr-defined]
    assert refused.exit_code == 2
    with session_scope(app) as session:
        user = get_user(session, "viewer1")
        assert user is not None and user.locale == "en"
