"""Admin interface: editing the draft, validation next to the field, publishing, rollback."""

from __future__ import annotations

import re
from collections.abc import Callable
from html.parser import HTMLParser

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from callbook.db import session_scope
from callbook.history.audit import AuditEntry
from callbook.history.drafts import get_draft
from callbook.history.revisions import active_revision_id, get_revision

AUVERGNE_WEEK = {day: "09:30-11:30, 14:00-16:30" for day in ("mon", "tue", "wed", "thu", "fri")}


class FieldErrorsParser(HTMLParser):
    """Field name -> error messages shown inside that field's block."""

    def __init__(self) -> None:
        super().__init__()
        self.errors: dict[str, list[str]] = {}
        self._field: str | None = None
        self._in_error = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag in ("input", "select", "textarea") and attributes.get("name"):
            self._field = attributes["name"]
        if tag == "p" and "field-error" in (attributes.get("class") or ""):
            self._in_error = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "p":
            self._in_error = False

    def handle_data(self, data: str) -> None:
        if self._in_error and self._field:
            self.errors.setdefault(self._field, []).append(data.strip())


def field_errors(html: str) -> dict[str, list[str]]:
    parser = FieldErrorsParser()
    parser.feed(html)
    return parser.errors


@pytest.fixture
def admin(login_as: Callable[[str], FlaskClient]) -> FlaskClient:
    return login_as("admin")


def post(client: FlaskClient, path: str, data: dict[str, str]) -> tuple[int, str, str]:
    token = client.csrf_token  # type: ignore[attr-defined]
    response = client.post(path, data={**data, "csrf_token": token})
    return response.status_code, response.headers.get("Location", ""), response.get_data(True)


def referent_form(**changes: str) -> dict[str, str]:
    form = {
        "name": "Sophie Durand",
        "numbers": "04 65 71 10 20\n04 65 71 10 21",
        "strategy": "sequential",
        "timeout": "15",
        "calendar": "",
    }
    return {**form, **changes}


def draft_data(app: Flask) -> dict | None:
    with session_scope(app) as session:
        draft = get_draft(session)
        return None if draft is None else draft.document


def audit_actions(app: Flask) -> list[tuple[str, str, str, str]]:
    with session_scope(app) as session:
        rows = session.scalars(select(AuditEntry).order_by(AuditEntry.id))
        return [(e.actor, e.entity, e.entity_id, e.action) for e in rows]


def test_changing_a_referents_number_goes_to_the_draft(app: Flask, admin: FlaskClient) -> None:
    status, location, _ = post(
        admin,
        "/admin/directory/referents/auvergne-durand",
        referent_form(numbers="04 65 71 99 99"),
    )
    assert (status, location) == (302, "/admin/directory")
    data = draft_data(app)
    assert data is not None
    durand = next(r for r in data["referents"] if r["id"] == "auvergne-durand")
    assert durand["numbers"] == ["+33465719999"]  # stored in E.164
    with session_scope(app) as session:
        assert active_revision_id(session) == 1  # calls still use revision 1
        active = get_revision(session, 1)
        assert active is not None
        assert "+33465719999" not in str(active.document)
    assert audit_actions(app)[-1] == ("admin1", "draft", "referents/auvergne-durand", "edit")
    with session_scope(app) as session:
        entry = session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
        assert entry is not None
        assert entry.before["numbers"] == ["+33465711020", "+33465711021"]
        assert entry.after["numbers"] == ["+33465719999"]  # as stored, not as typed
    page = admin.get("/admin/directory").get_data(as_text=True)
    assert "+33465719999" in page and "Brouillon en cours" in page


def test_an_invalid_number_is_shown_next_to_its_field(app: Flask, admin: FlaskClient) -> None:
    status, _, html = post(
        admin, "/admin/directory/referents/auvergne-durand", referent_form(numbers="04 73")
    )
    assert status == 422
    errors = field_errors(html)
    assert list(errors) == ["numbers"]
    assert "« 04 73 » n'est pas un numéro de téléphone valable" in errors["numbers"][0]
    assert 'name="numbers"' in html and "04 73</textarea>" in html  # the input is kept
    assert draft_data(app) is None  # nothing stored


def test_ring_timeout_out_of_range_is_named(admin: FlaskClient) -> None:
    status, _, html = post(
        admin, "/admin/directory/referents/auvergne-durand", referent_form(timeout="500")
    )
    assert status == 422
    assert list(field_errors(html)) == ["timeout"]


def test_changing_the_lunch_break(app: Flask, admin: FlaskClient) -> None:
    week = {f"weekly_{d}": v for d, v in AUVERGNE_WEEK.items()}
    week["weekly_mon"] = "09:30-12:30, 13:30-16:30"
    form = {"timezone": "Europe/Paris", "holidays": "FR", **week}
    status, location, _ = post(admin, "/admin/calendars/auvergne", form)
    assert status == 302 and location.startswith("/admin/calendars")
    data = draft_data(app)
    assert data is not None
    assert data["calendars"]["auvergne"]["weekly"]["mon"] == ["09:30-12:30", "13:30-16:30"]
    assert data["calendars"]["auvergne"]["weekly"]["tue"] == ["09:30-11:30", "14:00-16:30"]
    # The exceptions of the calendar are kept as they were.
    assert data["calendars"]["hotline"]["exceptions"]


def test_overlapping_ranges_are_refused_on_their_day(app: Flask, admin: FlaskClient) -> None:
    week = {f"weekly_{d}": v for d, v in AUVERGNE_WEEK.items()}
    week["weekly_tue"] = "09:30-12:30, 12:00-16:30"
    form = {"timezone": "Europe/Paris", "holidays": "FR", **week}
    status, _, html = post(admin, "/admin/calendars/auvergne", form)
    assert status == 422
    errors = field_errors(html)
    assert list(errors) == ["weekly_tue"]
    assert draft_data(app) is None


def test_unknown_time_zone_and_referent_are_named(admin: FlaskClient) -> None:
    form = {"timezone": "Europe/Nowhere", "holidays": "FR"}
    status, _, html = post(admin, "/admin/calendars/auvergne", form)
    assert status == 422 and "timezone" in field_errors(html)
    structure = {
        "name": "la structure Auvergne",
        "departments": "03, 15, 43, 63",
        "calendar": "auvergne",
        "support": "phone",
        "redirect_message": "",
        "referents": "auvergne-durand, nobody",
    }
    status, _, html = post(admin, "/admin/directory/structures/auvergne", structure)
    assert status == 422
    assert field_errors(html) == {"referents": ["référent inconnu « nobody »"]}


def test_a_structure_without_phone_needs_its_message(admin: FlaskClient) -> None:
    structure = {
        "name": "la structure Bretagne",
        "departments": "22, 29",
        "calendar": "hotline",
        "support": "no_phone",
        "redirect_message": "",
        "referents": "",
    }
    status, _, html = post(admin, "/admin/directory/structures/bretagne", structure)
    assert status == 422
    assert "redirect_message" in html and "a besoin d&#39;un message de redirection" in html


def test_motive_digit_clash_and_prompt_placeholder(admin: FlaskClient) -> None:
    page = admin.get("/admin/motives").get_data(as_text=True)
    key = re.search(r'href="/admin/motives/([a-z0-9-]+)"', page)
    assert key is not None
    motive = admin.get(f"/admin/motives/{key.group(1)}").get_data(as_text=True)
    assert "Touche du clavier" in motive
    form = {"label": "x", "digit": "12", "keywords": "", "family": "incident", "priority": "high"}
    status, _, html = post(admin, f"/admin/motives/{key.group(1)}", form)
    assert status == 422 and "digit" in field_errors(html)
    status, _, html = post(admin, "/admin/prompts", {"welcome": "Bonjour {motif}."})
    assert status == 422
    assert list(field_errors(html)) == ["welcome"]


def test_changing_a_prompt(app: Flask, admin: FlaskClient) -> None:
    page = admin.get("/admin/prompts").get_data(as_text=True)
    values = dict(
        re.findall(r'<textarea id="f-(\w+)" name="\w+" rows="2">([^<]*)</textarea>', page)
    )
    assert "welcome" in values and len(values) > 20
    values = {k: v.replace("&#39;", "'") for k, v in values.items()}
    values["welcome"] = "Bonjour, vous êtes bien à {service}."
    status, _, _ = post(admin, "/admin/prompts", values)
    assert status == 302
    data = draft_data(app)
    assert data is not None and data["prompts"]["welcome"] == values["welcome"]
    with session_scope(app) as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.entity_id == "prompts")).one()
    assert list(entry.after) == ["welcome"]  # only what changed


def test_publish_history_and_rollback(app: Flask, admin: FlaskClient) -> None:
    post(
        admin,
        "/admin/directory/referents/auvergne-roux",
        {
            "name": "Marc Roux",
            "numbers": "04 65 71 10 39",
            "strategy": "sequential",
            "timeout": "20",
            "calendar": "",
        },
    )
    page = admin.get("/admin/publish").get_data(as_text=True)
    assert "referents[auvergne-roux].numbers" in page and "+33465711039" in page
    status, _, html = post(admin, "/admin/publish", {"comment": ""})
    assert status == 422 and "comment" in field_errors(html)
    status, location, _ = post(admin, "/admin/publish", {"comment": "nouveau numéro de M. Roux"})
    assert (status, location) == (302, "/admin/history/2")
    assert draft_data(app) is None
    with session_scope(app) as session:
        assert active_revision_id(session) == 2
        rev = get_revision(session, 2)
        assert rev is not None and rev.author == "admin1"
        assert rev.comment == "nouveau numéro de M. Roux"
    history = admin.get("/admin/history").get_data(as_text=True)
    assert "nouveau numéro de M. Roux" in history and 'id="revision-2"' in history
    shown = admin.get("/admin/history/2").get_data(as_text=True)
    assert "+33465711030" in shown and "+33465711039" in shown
    status, location, _ = post(admin, "/admin/history/1/activate", {})
    assert (status, location) == (302, "/admin/history")
    with session_scope(app) as session:
        assert active_revision_id(session) == 1
    assert audit_actions(app)[-2:] == [
        ("admin1", "config", "2", "publish"),
        ("admin1", "config", "1", "rollback"),
    ]
    audit = admin.get("/admin/audit").get_data(as_text=True)
    assert "nouveau numéro de M. Roux" in audit and "Retour arrière" in audit
    assert (
        admin.post("/admin/history/99/activate", data={"csrf_token": admin.csrf_token}).status_code
        == 404
    )  # type: ignore[attr-defined]


def test_discarding_the_draft(app: Flask, admin: FlaskClient) -> None:
    post(admin, "/admin/directory/referents/auvergne-durand", referent_form(name="S. Durand"))
    assert draft_data(app) is not None
    status, _, _ = post(admin, "/admin/draft/discard", {})
    assert status == 302 and draft_data(app) is None
    assert "Aucun brouillon" in admin.get("/admin/publish").get_data(as_text=True)


def test_deleting_a_referent_still_in_use_is_refused(app: Flask, admin: FlaskClient) -> None:
    status, _, html = post(admin, "/admin/directory/referents/moselle-klein/delete", {})
    assert status == 422 and "référent inconnu « moselle-klein »" in html
    assert draft_data(app) is None


def test_admins_manage_users_but_cannot_lock_themselves_out(app: Flask, admin: FlaskClient) -> None:
    status, _, _ = post(
        admin,
        "/admin/users",
        {
            "username": "tech2",
            "display_name": "Tech Deux",
            "role": "technician",
            "password": "long enough password",
        },
    )
    assert status == 302
    status, _, html = post(
        admin,
        "/admin/users",
        {
            "username": "tech3",
            "display_name": "",
            "role": "technician",
            "password": "short",
        },
    )
    assert status == 422 and list(field_errors(html)) == ["password"]
    post(admin, "/admin/users/admin1", {"role": "viewer", "active": "1", "display_name": "A"})
    page = admin.get("/admin/users").get_data(as_text=True)
    assert "tech2" in page and "Vous ne pouvez ni retirer" in page
    with session_scope(app) as session:
        from callbook.accounts.users import get_user

        me = get_user(session, "admin1")
        assert me is not None and me.role == "admin"


def test_a_draft_older_than_the_active_revision_is_flagged(app: Flask, admin: FlaskClient) -> None:
    post(admin, "/admin/directory/referents/auvergne-durand", referent_form(name="S. Durand"))
    post(admin, "/admin/publish", {"comment": "nom abrégé"})
    post(
        admin,
        "/admin/directory/referents/auvergne-roux",
        {
            "name": "M. Roux",
            "numbers": "04 65 71 10 30",
            "strategy": "sequential",
            "timeout": "20",
            "calendar": "",
        },
    )
    post(admin, "/admin/history/1/activate", {})  # a rollback while the draft waits
    page = admin.get("/admin/publish").get_data(as_text=True)
    assert "le brouillon part de la révision n° 2" in page
    assert "la révision n° 1 est devenue active" in page


def calendar_form(key: str, admin: FlaskClient) -> dict[str, str]:
    """Every field of the calendar page as the browser would send it."""
    page = admin.get(f"/admin/calendars/{key}").get_data(as_text=True)
    form = dict(re.findall(r'<input[^>]* name="([\w-]+)" value="([^"]*)"', page))
    form.update(re.findall(r'<input id="f-\w+" name="([\w-]+)" type="text" value="([^"]*)"', page))
    for name, options in re.findall(
        r'<select[^>]* name="([\w-]+)"[^>]*>(.*?)</select>', page, re.S
    ):
        chosen = re.search(r'<option value="([^"]*)" selected', options)
        form[name] = chosen.group(1) if chosen else "closure"
    form.pop("csrf_token", None)
    return form


def test_adding_and_refusing_an_exceptional_closure(app: Flask, admin: FlaskClient) -> None:
    form = calendar_form("hotline", admin)
    assert form["exc-0-label"] == "séminaire de l&#39;équipe" and form["exc-1-label"] == ""
    form.update(
        {
            "exc-1-start": "2026-12-24",
            "exc-1-label": "veille de Noël",
            "exc-1-ranges": "14:00-17:30",
            "exc-0-label": "séminaire",
        }
    )
    status, _, _ = post(admin, "/admin/calendars/hotline", form)
    assert status == 302
    data = draft_data(app)
    assert data is not None
    assert data["calendars"]["hotline"]["exceptions"] == [
        {
            "kind": "closure",
            "start": "2026-06-11",
            "end": "2026-06-12",
            "label": "séminaire",
            "ranges": [],
        },
        {
            "kind": "closure",
            "start": "2026-12-24",
            "end": None,
            "label": "veille de Noël",
            "ranges": ["14:00-17:30"],
        },
    ]
    form = calendar_form("hotline", admin)
    form.update(
        {
            "exc-2-kind": "opening",
            "exc-2-start": "2026-12-26",
            "exc-2-end": "2026-12-20",
            "exc-2-label": "permanence",
        }
    )
    status, _, html = post(admin, "/admin/calendars/hotline", form)
    assert status == 422
    assert "finit (2026-12-20) avant de commencer" in html.split('id="exception-2"')[1]
    # Clearing a row's date and label removes it.
    form = calendar_form("hotline", admin)
    form.update({"exc-0-start": "", "exc-0-end": "", "exc-0-label": ""})
    assert post(admin, "/admin/calendars/hotline", form)[0] == 302
    data = draft_data(app)
    assert data is not None
    assert [e["label"] for e in data["calendars"]["hotline"]["exceptions"]] == ["veille de Noël"]


def test_a_draft_equal_to_the_active_revision_is_not_published(
    app: Flask, admin: FlaskClient
) -> None:
    post(admin, "/admin/directory/referents/auvergne-durand", referent_form(name="S. Durand"))
    post(admin, "/admin/directory/referents/auvergne-durand", referent_form())  # and back
    status, _, html = post(admin, "/admin/publish", {"comment": "rien"})
    assert status == 422 and "rien à publier" in html
    with session_scope(app) as session:
        assert active_revision_id(session) == 1
        assert get_revision(session, 2) is None


def test_a_motives_phrases_one_a_line(app: Flask, admin: FlaskClient) -> None:
    page = admin.get("/admin/motives/incident").get_data(as_text=True)
    textarea = re.search(r'<textarea id="f-phrases" name="phrases"[^>]*>([^<]*)</textarea>', page)
    assert textarea is not None and "ça ne marche plus\n" in textarea.group(1)
    form = {
        "label": "un incident technique",
        "digit": "1",
        "keywords": "panne, bug",
        "phrases": "ça plante\r\n\r\n  écran noir  \r\nÇa plante\r\n",
        "family": "incident",
        "priority": "high",
    }
    status, _, _ = post(admin, "/admin/motives/incident", form)
    assert status == 302
    data = draft_data(app)
    assert data is not None
    incident = next(m for m in data["motives"] if m["key"] == "incident")
    assert incident["phrases"] == ["ça plante", "écran noir"]
    too_many = "\n".join(f"phrase {i}" for i in range(61))
    status, _, html = post(admin, "/admin/motives/incident", form | {"phrases": too_many})
    assert status == 422 and "phrases" in field_errors(html)
