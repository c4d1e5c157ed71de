"""The Today, Schedules and "What happens if…" pages, with the clock frozen explicitly."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from callbook.db import database, session_scope
from callbook.history.audit import AuditEntry
from callbook.history.revisions import active_revision, list_revisions
from ivr.runtime import EXTENSION as CONFIG_EXTENSION
from ivr.runtime import ActiveConfig
from schedules import clock
from tests.conftest import paris
from tests.voice_client import Twilio

Login = Callable[[str], FlaskClient]
CHRISTMAS_MORNING = paris(2026, 12, 25, 9, 30)


@pytest.fixture(autouse=True)
def christmas_morning() -> object:
    with clock.frozen_at(CHRISTMAS_MORNING):
        yield


def text(client: FlaskClient, url: str, status: int = 200) -> str:
    response = client.get(url)
    assert response.status_code == status, response.data[:500]
    return response.get_data(as_text=True)


def test_today_says_closed_for_christmas_and_names_the_technician(login_as: Login) -> None:
    page = text(login_as("technician"), "/admin/today")
    assert "jour férié : Noël" in page
    assert "rouvre lundi 28 décembre 2026 à 09:00" in page
    assert "En astreinte maintenant :</strong> Chloé Bernard" in page
    assert "Appels en cours (0)" in page
    assert "Fermer le service maintenant" not in page  # admins only


def test_viewer_sees_status_but_not_callers(login_as: Login) -> None:
    page = text(login_as("viewer"), "/admin/today")
    assert "jour férié : Noël" in page
    assert "Appels en cours" not in page and "Rappels à faire" not in page


def test_strangers_are_sent_to_login(client: FlaskClient) -> None:
    response = client.get("/admin/today")
    assert response.status_code == 302 and "/admin/login" in response.headers["Location"]


def test_admin_closes_then_reopens_the_service(login_as: Login, app: Flask) -> None:
    admin = login_as("admin")
    form = {
        "csrf_token": admin.csrf_token,  # type: ignore[attr-defined]
        "active": "1",
        "message": "Fermé pour l'inventaire.",
        "until": "2026-12-25T18:00",
    }
    response = admin.post("/admin/today/closure", data=form)
    assert response.status_code == 302
    page = text(admin, "/admin/today")
    assert "Fermeture manuelle en cours" in page and "Fermé pour l&#39;inventaire." in page
    with session_scope(app) as session:
        rev = active_revision(session)
        assert rev is not None and rev.id == 2 and rev.author == "admin1"
        assert rev.document["closure"]["until"] == "2026-12-25T18:00:00+01:00"
        entry = session.scalars(select(AuditEntry).where(AuditEntry.entity == "config")).one()
        assert (entry.actor, entry.entity, entry.entity_id, entry.action) == (
            "admin1", "config", "2", "closure.on",
        )  # fmt: skip
        assert entry.before["active"] is False and entry.after["active"] is True
    off = {"csrf_token": form["csrf_token"], "active": "0"}
    assert admin.post("/admin/today/closure", data=off).status_code == 302
    with session_scope(app) as session:
        assert len(list_revisions(session)) == 3
        rev = active_revision(session)
        assert rev is not None and rev.document["closure"]["active"] is False


def test_reopen_now_ends_the_closure_and_calls_are_routed_as_open(
    login_as: Login, app: Flask
) -> None:
    app.extensions[CONFIG_EXTENSION] = ActiveConfig(database(app).sessions, interval=0)
    admin = login_as("admin")
    token = admin.csrf_token  # type: ignore[attr-defined]
    with clock.frozen_at(paris(2026, 12, 1, 10, 0)):  # Tuesday morning: normally open
        closing = {"csrf_token": token, "active": "1", "message": "", "until": "2026-12-01T18:00"}
        assert admin.post("/admin/today/closure", data=closing).status_code == 302
        closed = Twilio(app).step("/voice/incoming")
        assert "Le service est exceptionnellement fermé." in closed.says
        assert closed.find("Record") is not None
        page = text(admin, "/admin/today")
        assert "fermé manuellement jusqu'au mardi 1er décembre 2026 à 18:00" in page
        assert "fermeture manuelle — rouvre mercredi 2 décembre 2026 à 09:00" in page
        assert "Rouvrir maintenant" in page and "Fermer le service maintenant" not in page
    with clock.frozen_at(paris(2026, 12, 1, 11, 0)):
        reopen = admin.post("/admin/today/closure", data={"csrf_token": token, "active": "0"})
        assert reopen.status_code == 302
        page = text(admin, "/admin/today")
        assert "Service rouvert, fermeture manuelle levée : révision 3 publiée." in page
        assert "Fermer le service maintenant" in page and "Rouvrir maintenant" not in page
        # A call right after: the menu, then the hotline rings.
        phone = Twilio(app)
        assert phone.step("/voice/incoming").first("Gather").get("action") == "/voice/menu?step=1"
        assert phone.step("/voice/menu", {"Digits": "1"}).dialed == ["+33199002000", "+33199002001"]
    with session_scope(app) as session:
        entries = session.scalars(
            select(AuditEntry).where(AuditEntry.entity == "config").order_by(AuditEntry.id)
        ).all()
        assert [(e.actor, e.entity_id, e.action) for e in entries] == [
            ("admin1", "2", "closure.on"), ("admin1", "3", "closure.off"),
        ]  # fmt: skip
        assert entries[1].before["active"] is True and entries[1].after["active"] is False
        assert entries[1].at == paris(2026, 12, 1, 11, 0)
        rev = active_revision(session)
        assert rev is not None and rev.id == 3 and rev.document["closure"]["active"] is False


def test_reopen_needs_the_admin_role_and_a_closure(login_as: Login, app: Flask) -> None:
    admin = login_as("admin")
    token = admin.csrf_token  # type: ignore[attr-defined]
    nothing = admin.post("/admin/today/closure", data={"csrf_token": token, "active": "0"})
    assert nothing.status_code == 400
    assert "le service n&#39;est pas fermé manuellement" in nothing.get_data(as_text=True)
    closing = {"csrf_token": token, "active": "1", "message": "Inventaire."}
    assert admin.post("/admin/today/closure", data=closing).status_code == 302
    for role in ("technician", "viewer"):
        other = login_as(role)
        form = {"csrf_token": other.csrf_token, "active": "0"}  # type: ignore[attr-defined]
        assert other.post("/admin/today/closure", data=form).status_code == 403
        assert "Rouvrir maintenant" not in text(other, "/admin/today")
    with session_scope(app) as session:
        assert len(list_revisions(session)) == 2
        rev = active_revision(session)
        assert rev is not None and rev.document["closure"]["active"] is True
        actions = session.scalars(select(AuditEntry.action).where(AuditEntry.entity == "config"))
        assert list(actions) == ["closure.on"]


def test_closure_refuses_a_past_end_and_bad_dates(login_as: Login, app: Flask) -> None:
    admin = login_as("admin")
    base = {"csrf_token": admin.csrf_token, "active": "1", "message": "x"}  # type: ignore[attr-defined]
    past = admin.post("/admin/today/closure", data=base | {"until": "2026-12-25T08:00"})
    assert past.status_code == 400
    assert "la fin de la fermeture est déjà passée" in past.get_data(as_text=True)
    bad = admin.post("/admin/today/closure", data=base | {"until": "demain"})
    assert bad.status_code == 400 and "n&#39;est pas une date" in bad.get_data(as_text=True)
    with session_scope(app) as session:
        assert len(list_revisions(session)) == 1


def test_closure_needs_csrf_and_the_admin_role(login_as: Login, app: Flask) -> None:
    admin = login_as("admin")
    assert admin.post("/admin/today/closure", data={"active": "1"}).status_code == 400
    tech = login_as("technician")
    form = {"csrf_token": tech.csrf_token, "active": "1"}  # type: ignore[attr-defined]
    assert tech.post("/admin/today/closure", data=form).status_code == 403
    with session_scope(app) as session:
        assert len(list_revisions(session)) == 1


def test_schedules_page_agenda_and_holidays(login_as: Login) -> None:
    viewer = login_as("viewer")
    page = text(viewer, "/admin/schedules")
    assert "vendredi 25 décembre 2026" in page and "Noël" in page
    assert "astreinte : Chloé Bernard (60 min)" in page
    assert "Lundi de Pâques" in page
    assert re.search(r"relève le lundi à 09:00\s+chaque semaine", page)
    moselle = text(viewer, "/admin/schedules?calendar=alsace-moselle&from=2026-10-24")
    assert "Saint-Étienne" in moselle and "Vendredi saint" in moselle
    assert "25 h (changement d'heure)" in moselle
    assert "02:00 (UTC+0200)" in moselle and "02:00 (UTC+0100)" in moselle
    text(viewer, "/admin/schedules?calendar=nowhere", 404)
    assert "n&#39;est pas une date" in text(viewer, "/admin/schedules?from=31/02/2026", 400)


def test_simulator_christmas_morning_emergency(login_as: Login, app: Flask) -> None:
    url = "/admin/simulate?at=2026-12-25T09:30&motive=emergency&caller=06+12+34+56+78"
    page = text(login_as("viewer"), url)
    assert "Le service est actuellement fermé : jour férié, Noël." in page
    assert "sonne Chloé Bernard" in page and "Décroche" in page
    assert "Chloé Bernard → Alice Martin → Bruno Leroy" in page
    from callbook.calls.models import Call

    with session_scope(app) as session:  # nothing was written to the call book
        assert session.scalars(select(Call)).first() is None


def test_simulator_everybody_on_a_call_shows_the_waiting_line(login_as: Login) -> None:
    page = text(
        login_as("viewer"), "/admin/simulate?at=2026-12-01T10:00&motive=incident&answer=busy"
    )
    assert "mis en file d&#39;attente : l&#39;assistance nationale" in page
    assert "Vous êtes le premier dans la file d&#39;attente." in page
    assert "Temps d&#39;attente estimé : environ 2 minutes." in page
    assert '<option value="busy" selected>' in page


def test_simulator_validation_errors(login_as: Login) -> None:
    tech = login_as("technician")
    assert "n&#39;est pas une date" in text(tech, "/admin/simulate?at=hier&motive=usage", 400)
    assert "choisissez un motif" in text(tech, "/admin/simulate?at=2026-12-25T09:30&motive=x", 400)
    page = text(tech, "/admin/simulate?at=2026-12-25T09:30&motive=usage&caller=abc", 400)
    assert "n&#39;est pas un numéro" in page
    assert "Simuler l'appel" in text(tech, "/admin/simulate")


def test_simulator_reads_the_draft(login_as: Login, app: Flask) -> None:
    from callbook.history.drafts import save_draft

    with session_scope(app) as session:
        rev = active_revision(session)
        assert rev is not None
        data = dict(rev.document)
        data["closure"] = {"active": True, "message": "Inventaire annuel.", "until": None}
        save_draft(session, data, author="admin1", base_revision_id=rev.id)
    url = "/admin/simulate?at=2026-12-25T09:30&motive=incident&source="
    tech = login_as("technician")
    assert "Inventaire annuel." in text(tech, url + "draft")
    assert "Inventaire annuel." not in text(tech, url + "active")
