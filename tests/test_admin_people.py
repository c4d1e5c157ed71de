"""Admin interface: technicians and contacts edited in the draft, errors next to the field."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient

from ivr.config import validate_document
from tests.test_admin_config import audit_actions, draft_data, field_errors, post


@pytest.fixture
def admin(login_as: Callable[[str], FlaskClient]) -> FlaskClient:
    return login_as("admin")


def technician_form(**changes: str) -> dict[str, str]:
    form = {"name": "Bruno Lefèvre", "numbers": "06 12 34 56 78", "sms": "", "active": "1"}
    return {**form, **changes}


def test_adding_and_changing_a_technician(app: Flask, admin: FlaskClient) -> None:
    assert "Ajouter un technicien" in admin.get("/admin/technicians").get_data(as_text=True)
    form = technician_form(id="david", name="David Petit", sms="06 12 34 56 79")
    status, location, _ = post(admin, "/admin/technicians/new", form)
    assert (status, location) == (302, "/admin/technicians")
    status, _, _ = post(admin, "/admin/technicians/bruno", technician_form(active=""))
    assert status == 302
    data = draft_data(app)
    assert data is not None
    david = next(t for t in data["technicians"] if t["id"] == "david")
    assert david["numbers"] == ["+33612345678"] and david["sms"] == "+33612345679"
    bruno = next(t for t in data["technicians"] if t["id"] == "bruno")
    assert bruno["active"] is False
    assert audit_actions(app)[-2:] == [
        ("admin1", "draft", "technicians/david", "edit"),
        ("admin1", "draft", "technicians/bruno", "edit"),
    ]


def test_a_technicians_email_for_alerts(app: Flask, admin: FlaskClient) -> None:
    form = technician_form(email="bruno.lefevre@example.org")
    assert post(admin, "/admin/technicians/bruno", form)[0] == 302
    data = draft_data(app)
    assert data is not None
    bruno = next(t for t in data["technicians"] if t["id"] == "bruno")
    assert bruno["email"] == "bruno.lefevre@example.org"
    assert post(admin, "/admin/technicians/bruno", technician_form(email=""))[0] == 302
    data = draft_data(app)
    assert data is not None
    assert not next(t for t in data["technicians"] if t["id"] == "bruno").get("email")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"numbers": "06 12"}, "numbers"),
        ({"sms": "12"}, "sms"),
        ({"name": ""}, "name"),
        ({"email": "bruno@"}, "email"),
    ],
)
def test_a_bad_technician_field_is_named(
    app: Flask, admin: FlaskClient, changes: dict[str, str], field: str
) -> None:
    status, _, html = post(admin, "/admin/technicians/bruno", technician_form(**changes))
    assert status == 422 and list(field_errors(html)) == [field]
    assert draft_data(app) is None


def test_a_technician_in_the_rota_cannot_be_removed(app: Flask, admin: FlaskClient) -> None:
    status, _, html = post(admin, "/admin/technicians/bruno/delete", {})
    assert status == 422 and "technicien inconnu « bruno »" in html
    assert draft_data(app) is None
    assert post(admin, "/admin/technicians/nobody/delete", {})[0] == 404


def contact_form(**changes: str) -> dict[str, str]:
    form = {
        "number": "04 65 71 99 05",
        "name": "Lucie Girard",
        "structure": "auvergne",
        "email": "lucie.girard@example.org",
        "was": "",
    }
    return {**form, **changes}


def test_adding_changing_and_deleting_a_contact(app: Flask, admin: FlaskClient) -> None:
    assert "Paul Morel" in admin.get("/admin/contacts").get_data(as_text=True)
    status, location, _ = post(admin, "/admin/contacts/new", contact_form())
    assert (status, location) == (302, "/admin/contacts")
    data = draft_data(app)
    assert data is not None and data["contacts"][-1] == {
        "number": "+33465719905",
        "name": "Lucie Girard",
        "structure": "auvergne",
        "email": "lucie.girard@example.org",
    }
    form = contact_form(name="Paul Morel", number="04 65 71 99 11", was="+33465719901")
    assert post(admin, "/admin/contacts/0", form)[0] == 302
    assert draft_data(app)["contacts"][0]["number"] == "+33465719911"  # type: ignore[index]
    stale = post(admin, "/admin/contacts/0/delete", {"was": "+33465719901"})
    assert stale[0] == 302 and len(draft_data(app)["contacts"]) == 5  # type: ignore[index]
    assert post(admin, "/admin/contacts/0/delete", {"was": "+33465719911"})[0] == 302
    assert draft_data(app)["contacts"][0]["name"] == "Anne Weber"  # type: ignore[index]
    assert audit_actions(app)[-1] == ("admin1", "draft", "contacts/Paul Morel", "edit")
    assert post(admin, "/admin/contacts/99/delete", {"was": ""})[0] == 404


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"number": "12"}, "number"),
        ({"email": "pas une adresse"}, "email"),
        ({"number": "04 65 71 99 01"}, ""),  # listed twice: named above the form
    ],
)
def test_a_bad_contact_is_named(
    app: Flask, admin: FlaskClient, changes: dict[str, str], field: str
) -> None:
    status, _, html = post(admin, "/admin/contacts/new", contact_form(**changes))
    assert status == 422
    assert list(field_errors(html)) == ([field] if field else [])
    if not field:
        assert "figure deux fois" in html
    assert draft_data(app) is None


def settings_form(admin: FlaskClient) -> dict[str, str]:
    """Every field of the settings page as the browser would send it."""
    import re

    page = admin.get("/admin/settings").get_data(as_text=True)
    form = dict(
        re.findall(r'<input id="f-\w+" name="(\w+)" type="(?:text|number)" value="([^"]*)"', page)
    )
    form.update(re.findall(r'<textarea id="f-\w+" name="(\w+)" rows="\d">([^<]*)</textarea>', page))
    for name, options in re.findall(
        r'<select id="f-\w+" name="(\w+)"[^>]*>(.*?)</select>', page, re.S
    ):
        chosen = re.search(r'<option value="([^"]*)" selected', options)
        form[name] = chosen.group(1) if chosen else ""
    for name in re.findall(r'name="(\w+)" type="checkbox" value="1" checked', page):
        form[name] = "1"
    return {k: v.replace("&#39;", "'") for k, v in form.items()}


def test_service_hotline_menu_and_ticket_settings(app: Flask, admin: FlaskClient) -> None:
    form = settings_form(admin)
    assert form["service_numbers"] == "+33199001000" and form["deadline_urgent"] == "4"
    form.update({"menu_attempts": "2", "deadline_high": "12,5", "tickets_sms": "1"})
    form.update({"hotline_timeout": "40", "service_voice": "Polly.Remi"})
    status, location, _ = post(admin, "/admin/settings", form)
    assert (status, location) == (302, "/admin/settings")
    data = draft_data(app)
    assert data is not None
    assert data["menu"]["attempts"] == 2 and data["tickets"]["deadline_hours"]["high"] == 12.5
    assert data["tickets"]["sms"] is True and data["menu"]["speech"] is True
    assert data["hotline"]["ring"] == {"strategy": "simultaneous", "timeout": 40}
    assert data["service"]["voice"] == "Polly.Remi"
    assert audit_actions(app)[-1] == ("admin1", "draft", "settings", "edit")


def test_the_hotline_name_is_edited_and_empty_means_the_default(
    app: Flask, admin: FlaskClient
) -> None:
    form = settings_form(admin)
    status, _, _ = post(admin, "/admin/settings", {**form, "hotline_name": " Support national "})
    assert status == 302
    data = draft_data(app)
    assert data is not None and data["hotline"]["name"] == "Support national"
    assert 'value="Support national"' in admin.get("/admin/settings").get_data(as_text=True)
    status, _, _ = post(admin, "/admin/settings", {**form, "hotline_name": "  "})
    assert status == 302
    data = draft_data(app)
    assert data is not None and validate_document(data).hotline.name == "l'assistance nationale"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"service_numbers": ""}, "service_numbers"),
        ({"hotline_timeout": "500"}, "hotline_timeout"),
        ({"menu_attempts": "beaucoup"}, "menu_attempts"),
        ({"callback_attempts": "0"}, "callback_attempts"),
        ({"service_caller_id": "12"}, "service_caller_id"),
    ],
)
def test_a_bad_setting_is_named(
    app: Flask, admin: FlaskClient, changes: dict[str, str], field: str
) -> None:
    status, _, html = post(admin, "/admin/settings", {**settings_form(admin), **changes})
    assert status == 422 and list(field_errors(html)) == [field]
    assert draft_data(app) is None
