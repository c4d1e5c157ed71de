"""Admin forms where people pick from lists: technicians by name, time zones.

The rota stores technicians' ids but shows their names; a zone is one of the
machine's IANA zones, France's first. An id or a zone outside the lists (a
forged or outdated form) is refused with a French message, and nothing is saved.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from html import unescape

import pytest
from flask import Flask
from flask.testing import FlaskClient

from ivr.admin.views.zones import FRENCH_ZONES, known_zones
from tests.test_admin_config import draft_data, field_errors, post
from tests.test_admin_oncall import oncall_form, rota_shown

FRANCE_FIRST = [
    "Europe/Paris",
    "America/Guadeloupe",
    "America/Martinique",
    "America/Cayenne",
    "Indian/Reunion",
    "Indian/Mayotte",
    "Pacific/Noumea",
    "Pacific/Tahiti",
]


@pytest.fixture
def admin(login_as: Callable[[str], FlaskClient]) -> FlaskClient:
    return login_as("admin")


def _select(page: str, name: str) -> str:
    found = re.search(rf'<select id="f-{name}" name="{name}".*?</select>', page, re.S)
    assert found, f"no <select> named {name}"
    return found.group(0)


def _options(select: str) -> list[tuple[str, str]]:
    return [
        (value, unescape(text.strip()))
        for value, text in re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', select)
    ]


def _selected(select: str) -> list[str]:
    return re.findall(r'<option value="([^"]*)" selected', select)


def test_the_rota_is_picked_by_name_and_stored_as_ids(app: Flask, admin: FlaskClient) -> None:
    page = admin.get("/admin/oncall").get_data(as_text=True)
    places = re.findall(r'<select name="members".*?</select>', page, re.S)
    assert len(places) == 3  # one place per technician of the directory
    assert _options(places[0]) == [
        ("", "—"),
        ("alice", "Alice Martin"),
        ("bruno", "Bruno Leroy"),
        ("chloe", "Chloé Bernard"),
    ]
    assert "identifiants séparés par des virgules" not in page
    # Chloé first, then Alice; the third place left empty.
    form = {**oncall_form(), "members": ["chloe", "alice", ""]}
    status, location, _ = post(admin, "/admin/oncall", form)  # type: ignore[arg-type]
    assert (status, location) == (302, "/admin/oncall")
    data = draft_data(app)
    assert data is not None
    assert data["oncall"]["schedule"]["rota"]["members"] == ["chloe", "alice"]
    page = admin.get("/admin/oncall").get_data(as_text=True)
    assert rota_shown(page) == ["chloe", "alice"]
    assert len(re.findall(r'<select name="members"', page)) == 3


def test_an_unknown_technician_is_refused_in_french(app: Flask, admin: FlaskClient) -> None:
    form = {**oncall_form(), "members": ["alice", "nobody", "chloe"]}
    status, _, html = post(admin, "/admin/oncall", form)  # type: ignore[arg-type]
    assert status == 422
    assert field_errors(html) == {
        "members": ["Technicien inconnu : « nobody ». Choisissez-le dans la liste de l'annuaire."]
    }
    assert draft_data(app) is None
    # The page shows the rota as sent, the unknown id marked as such.
    assert "nobody (inconnu)" in unescape(html)
    override = {"start": "2026-12-26", "end": "2026-12-27", "technician": "nobody", "label": ""}
    status, _, html = post(admin, "/admin/oncall/overrides", override)
    assert status == 422
    assert field_errors(html)["technician"] == [
        "Technicien inconnu : « nobody ». Choisissez-le dans la liste de l'annuaire."
    ]
    assert draft_data(app) is None


@pytest.mark.parametrize(
    ("path", "field"), [("/admin/calendars/auvergne", "timezone"), ("/admin/oncall", "timezone")]
)
def test_zones_are_offered_france_first_then_every_zone(
    admin: FlaskClient, path: str, field: str
) -> None:
    select = _select(admin.get(path).get_data(as_text=True), field)
    values = [value for value, _ in _options(select)]
    assert values[: len(FRANCE_FIRST)] == FRANCE_FIRST
    assert ("Indian/Reunion", "La Réunion — Indian/Reunion") in _options(select)
    assert "America/Miquelon" in values[: len(FRENCH_ZONES)]
    assert "Pacific/Wallis" in values[: len(FRENCH_ZONES)]
    every = values[len(FRENCH_ZONES) :]
    assert every == sorted(known_zones()) and "Asia/Tokyo" in every
    assert _selected(select) == ["Europe/Paris"]  # once, though listed twice
    assert '<optgroup label="France">' in select


def test_a_zone_picked_is_saved_and_a_bad_one_refused_in_french(
    app: Flask, admin: FlaskClient
) -> None:
    week = {"weekly_mon": "09:30-11:30, 14:00-16:30"}
    form = {"timezone": "Mars/Olympus", "holidays": "FR", **week}
    status, _, html = post(admin, "/admin/calendars/auvergne", form)
    assert status == 422
    assert field_errors(html) == {
        "timezone": ["Fuseau horaire inconnu : « Mars/Olympus ». Choisissez-le dans la liste."]
    }
    assert draft_data(app) is None
    assert _selected(_select(html, "timezone")) == ["Mars/Olympus"]  # shown as sent
    status, _, html = post(admin, "/admin/oncall", oncall_form(timezone=""))
    assert status == 422
    assert field_errors(html) == {"timezone": ["Choisissez un fuseau horaire dans la liste."]}
    assert draft_data(app) is None

    form["timezone"] = "Indian/Reunion"
    assert post(admin, "/admin/calendars/auvergne", form)[0] == 302
    data = draft_data(app)
    assert data is not None and data["calendars"]["auvergne"]["timezone"] == "Indian/Reunion"
    page = admin.get("/admin/calendars/auvergne").get_data(as_text=True)
    assert _selected(_select(page, "timezone")) == ["Indian/Reunion"]


def test_template_text_is_shown_in_french_with_its_values(admin: FlaskClient) -> None:
    """`_()` in templates: the French text as written, its %(name)s values filled in."""
    page = admin.get("/admin/users").get_data(as_text=True)
    assert 'aria-label="Nom de admin1"' in page
    assert 'aria-label="Nouveau mot de passe de admin1"' in page
    assert "%(" not in page
