"""Admin interface: a technician's own on-call overrides, published at once."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient

from callbook.accounts.users import get_user
from callbook.db import session_scope
from callbook.history.drafts import get_draft
from callbook.history.revisions import active_revision_id, get_revision
from tests.test_admin_config import audit_actions, draft_data, field_errors, post, referent_form
from tests.test_admin_oncall import SATURDAY, active_on_duty

SWAP = {"start": "2026-12-26", "end": "2026-12-26", "technician": "bruno", "label": "échange"}
"""Bruno takes Saturday 26 December, in chloe's week."""


@pytest.fixture
def technician(app: Flask, login_as: Callable[[str], FlaskClient]) -> Callable[[str], FlaskClient]:
    """`technician("chloe")`: a client logged in as technician1, linked to that technician."""

    def login(linked: str) -> FlaskClient:
        client = login_as("technician")
        with session_scope(app) as session:
            user = get_user(session, "technician1")
            assert user is not None
            user.technician = linked or None
        return client

    return login


def test_the_one_replaced_publishes_a_swap_at_once(
    app: Flask, technician: Callable[[str], FlaskClient]
) -> None:
    chloe = technician("chloe")
    page = chloe.get("/admin/oncall/mine").get_data(as_text=True)
    assert "Chloé" in page or "chloe" in page
    assert active_on_duty(app, SATURDAY) == "chloe"
    status, location, _ = post(chloe, "/admin/oncall/mine", SWAP)
    assert (status, location) == (302, "/admin/oncall/mine")
    assert active_on_duty(app, SATURDAY) == "bruno"
    with session_scope(app) as session:
        assert active_revision_id(session) == 2
        rev = get_revision(session, 2)
        assert rev is not None and rev.author == "technician1"
        assert "Remplacement d'astreinte ajouté" in rev.comment
    assert audit_actions(app)[-1] == ("technician1", "config", "2", "publish")
    assert draft_data(app) is None  # no draft was pending: none is created
    page = chloe.get("/admin/oncall/mine").get_data(as_text=True)
    assert "2026-12-26 00:00" in page and "2026-12-27 00:00" in page


def test_the_one_taking_the_duty_may_add_it(
    app: Flask, technician: Callable[[str], FlaskClient]
) -> None:
    bruno = technician("bruno")
    assert post(bruno, "/admin/oncall/mine", SWAP)[0] == 302
    assert active_on_duty(app, SATURDAY) == "bruno"


def test_an_override_between_others_is_refused(
    app: Flask, technician: Callable[[str], FlaskClient]
) -> None:
    alice = technician("alice")  # neither on duty that week nor taking it
    status, _, html = post(alice, "/admin/oncall/mine", SWAP)
    assert status == 403
    assert list(field_errors(html)) == ["technician"]
    with session_scope(app) as session:
        assert active_revision_id(session) == 1
    assert active_on_duty(app, SATURDAY) == "chloe"


def test_removing_only_what_concerns_you(
    app: Flask, technician: Callable[[str], FlaskClient]
) -> None:
    assert post(technician("chloe"), "/admin/oncall/mine", SWAP)[0] == 302
    stored = {
        "start": "2026-12-26T00:00:00+01:00",
        "end": "2026-12-27T00:00:00+01:00",
        "technician": "bruno",
    }
    alice = technician("alice")
    assert "2026-12-26 00:00" not in alice.get("/admin/oncall/mine").get_data(as_text=True)
    assert post(alice, "/admin/oncall/mine/delete", stored)[0] == 403
    bruno = technician("bruno")
    assert post(bruno, "/admin/oncall/mine/delete", {**stored, "end": "2026-12-28"})[0] == 404
    assert post(bruno, "/admin/oncall/mine/delete", stored)[0] == 302
    assert active_on_duty(app, SATURDAY) == "chloe"
    with session_scope(app) as session:
        assert active_revision_id(session) == 3


def test_a_pending_draft_gets_the_override_too(
    app: Flask,
    technician: Callable[[str], FlaskClient],
    login_as: Callable[[str], FlaskClient],
) -> None:
    admin = login_as("admin")
    post(admin, "/admin/directory/referents/auvergne-durand", referent_form(name="S. Durand"))
    assert post(technician("chloe"), "/admin/oncall/mine", SWAP)[0] == 302
    with session_scope(app) as session:
        draft = get_draft(session)
        assert draft is not None and draft.base_revision_id == 2  # not stale
        overrides = draft.document["oncall"]["schedule"]["overrides"]
        assert [o["technician"] for o in overrides] == ["bruno"]
        durand = next(r for r in draft.document["referents"] if r["id"] == "auvergne-durand")
        assert durand["name"] == "S. Durand"  # the admin's edit is kept
    assert audit_actions(app)[-2:] == [
        ("technician1", "config", "2", "publish"),
        ("technician1", "draft", "oncall/overrides", "edit"),
    ]
    assert post(admin, "/admin/publish", {"comment": "nom abrégé"})[0] == 302
    assert active_on_duty(app, SATURDAY) == "bruno"  # publishing the draft kept the swap


def test_a_bad_date_is_named_and_nothing_is_published(
    app: Flask, technician: Callable[[str], FlaskClient]
) -> None:
    chloe = technician("chloe")
    status, _, html = post(chloe, "/admin/oncall/mine", {**SWAP, "start": "samedi"})
    assert status == 422 and list(field_errors(html)) == ["start"]
    status, _, html = post(chloe, "/admin/oncall/mine", {**SWAP, "technician": "chloe"})
    assert status == 302  # chloe over her own duty: harmless
    status, _, html = post(chloe, "/admin/oncall/mine", {**SWAP, "start": "2026-12-26 12:00"})
    assert status == 422
    assert field_errors(html) == {"start": ["overrides for chloe and bruno overlap"]}
    with session_scope(app) as session:
        assert active_revision_id(session) == 2


def test_an_account_without_technician_and_other_roles(
    app: Flask,
    technician: Callable[[str], FlaskClient],
    login_as: Callable[[str], FlaskClient],
) -> None:
    unlinked = technician("")
    page = unlinked.get("/admin/oncall/mine").get_data(as_text=True)
    assert "lié à aucun technicien" in page
    assert post(unlinked, "/admin/oncall/mine", SWAP)[0] == 403
    assert unlinked.get("/admin/oncall").status_code == 403  # the whole rota is the admins'
    viewer = login_as("viewer")
    assert viewer.get("/admin/oncall/mine").status_code == 403
    assert viewer.get("/admin/oncall").status_code == 403
    nav = viewer.get("/admin/reports").get_data(as_text=True)
    assert 'href="/admin/reports"' in nav and "/admin/oncall" not in nav


def test_an_admin_links_an_account_to_a_technician(
    app: Flask, technician: Callable[[str], FlaskClient], login_as: Callable[[str], FlaskClient]
) -> None:
    technician("")
    admin = login_as("admin")
    form = {"role": "technician", "active": "1", "display_name": "Chloé", "technician": "chloe"}
    assert post(admin, "/admin/users/technician1", form)[0] == 302
    with session_scope(app) as session:
        user = get_user(session, "technician1")
        assert user is not None and user.technician == "chloe"
    assert audit_actions(app)[-1] == ("admin1", "user", "technician1", "update")
    assert 'value="chloe" selected' in admin.get("/admin/users").get_data(as_text=True)
