"""No NUL character reaches the database: admin forms get 400, the API 422 with the field."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask
from flask.testing import FlaskClient
from pydantic import SecretStr

from tests.api_helpers import token_for
from tests.test_admin_config import draft_data
from tests.test_callbook_book import march_book, the_call


def test_admin_form_with_a_nul_is_refused_and_stores_nothing(
    app: Flask, login_as: Callable[[str], FlaskClient]
) -> None:
    admin = login_as("admin")
    form = {
        "csrf_token": admin.csrf_token,  # type: ignore[attr-defined]
        "number": "04 65 71 99 05",
        "name": "Lucie\x00Girard",
        "structure": "auvergne",
        "email": "",
        "was": "",
    }
    answer = admin.post("/admin/contacts/new", data=form)
    assert answer.status_code == 400
    assert answer.get_data(as_text=True) == "name: the NUL character is not allowed\n"
    assert draft_data(app) is None
    assert admin.get("/admin/calls?number=06%00").status_code == 400


def test_api_refuses_a_nul_after_the_token_check(app: Flask) -> None:
    client = app.test_client()
    auth = token_for(app, "technician")
    assert client.get("/api/v1/tickets?status=new%00").status_code == 401
    listed = client.get("/api/v1/tickets?status=new%00", headers=auth)
    assert listed.status_code == 422 and listed.json == {
        "error": "status: the NUL character is not allowed",
        "fields": ["status"],
        "message": "Certaines valeurs sont refusées.",
    }
    body = client.put("/api/v1/calls/CA1/note", json={"note": "a\u0000b"}, headers=auth)
    assert body.status_code == 422 and body.json["fields"] == ["body"]


def test_the_call_book_names_the_token_user_or_the_person_a_script_acts_for(
    app: Flask,
) -> None:
    march_book(app)
    client = app.test_client()
    auth = token_for(app, "technician", "ana")
    note = "/api/v1/calls/C4/note"
    # A personal token cannot sign for somebody else; it signs as its user.
    other = client.put(note, json={"note": "x", "author": "bob"}, headers=auth)
    assert other.status_code == 422 and other.json["fields"] == ["author"]
    assert client.put(note, json={"note": "rappelé"}, headers=auth).status_code == 200
    # The shared scripts' token may name the person it acts for.
    app.config["IVR_SETTINGS"] = app.config["IVR_SETTINGS"].model_copy(
        update={"api_token": SecretStr("scripts")}
    )
    shared = {"Authorization": "Bearer scripts"}
    done = client.put(note, json={"note": "fait", "author": "bob"}, headers=shared)
    assert done.status_code == 200
    call = the_call(app, "C4")[0]
    assert [e.data["author"] for e in call.events if e.kind == "note.set"] == ["ana", "bob"]
