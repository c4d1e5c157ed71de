"""A caller's rights: erasure (command line and admin page) and subject access.

One caller, Paul Morel (a known contact), left a voicemail and asked to be
called back, then called the hotline again; another caller did the same.
Erasing Paul leaves Alice untouched and the report's counts as they were.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from callbook.db import session_scope
from callbook.history.audit import AuditEntry
from callbook.history.drafts import get_draft
from callbook.history.revisions import active_revision
from callbook.privacy import access, subject_hash
from callbook.reports import Report, build_report, period
from schedules import clock
from tests.admin_data import phone
from tests.conftest import IvrRunner, paris
from tests.test_retention import deletions, stored_text, voicemail

Login = Callable[[str], FlaskClient]
PAUL, ALICE = "+33465719901", "+33612345678"  # Paul Morel is in the demo's contacts
PAUL_TYPED = "04 65 71 99 01"
TUESDAY_EVENING = paris(2026, 11, 24, 18, 30)  # closed: voicemail
WEDNESDAY = paris(2026, 11, 25, 10, 0)  # the hotline is open
LATER = paris(2026, 11, 30, 12, 0)


@pytest.fixture
def book(app: Flask, login_as: Login) -> dict[str, Any]:
    """Paul's and Alice's calls, voicemails and callbacks; a note on Paul's second call
    and an edit of his contact entry in the draft (both in the audit log)."""
    paul = voicemail(app, PAUL, TUESDAY_EVENING, text="Bonjour, c'est Paul Morel, serveur bloqué",
                     callback=True)  # fmt: skip
    alice = voicemail(app, ALICE, TUESDAY_EVENING + timedelta(minutes=10),
                      text="Alice Martin, la messagerie ne part plus", callback=True)  # fmt: skip
    again = phone(app, WEDNESDAY, PAUL, "1", dials=("answer",)).call_sid
    with clock.frozen_at(WEDNESDAY):
        tech, admin = login_as("technician"), login_as("admin")
        note = {"note": "Paul Morel rappellera", "csrf_token": tech.csrf_token}  # type: ignore[attr-defined]
        assert tech.post(f"/admin/calls/{again}/note", data=note).status_code == 302
        contact = {"number": PAUL_TYPED, "name": "Paul Morel", "structure": "auvergne",
                   "email": "p.morel@example.org", "was": PAUL,
                   "csrf_token": admin.csrf_token}  # type: ignore[attr-defined]  # fmt: skip
        assert admin.post("/admin/contacts/0", data=contact).status_code == 302
    return {"paul": [*paul, again], "alice": alice, "admin": admin, "tech": tech}


def november(app: Flask) -> Report:
    start, end = period("custom", date(2026, 11, 1), "Europe/Paris", last=date(2026, 11, 30))
    with session_scope(app) as session:
        return build_report(session, start, end, tz="Europe/Paris", now=LATER)


def held_about(app: Flask, number: str) -> dict[str, Any]:
    with session_scope(app) as session:
        return access.subject_access(session, number)


def paul_traces(book: dict[str, Any]) -> list[str]:
    return [PAUL, "Paul Morel", "p.morel@example.org", "serveur bloqué", *book["paul"]]


def test_erasure_from_the_command_line(app: Flask, runner: IvrRunner, book: dict[str, Any]) -> None:
    before, report = stored_text(app), november(app)
    alice = held_about(app, ALICE)
    assert all(trace in before for trace in paul_traces(book))
    with clock.frozen_at(LATER):
        dry = runner.invoke("callbook", "erase", "--caller", PAUL_TYPED, "--dry-run")
    assert dry.exit_code == 0, dry.output
    subject = subject_hash(PAUL)
    assert dry.output.startswith(f"would erase caller {subject}: 2 calls, "), dry.output
    assert (
        ", 2 motives, 1 tickets, 1 messages, 1 callbacks, 1 contacts, 0 outbox messages; "
        "1 recordings" in dry.output
    )
    assert stored_text(app) == before  # a dry run changes nothing

    with clock.frozen_at(LATER):
        done = runner.invoke("callbook", "erase", "--caller", PAUL_TYPED, "--author", "dpo")
    assert done.exit_code == 0, done.output
    assert f"erased caller {subject}: 2 calls" in done.output
    assert "configuration revision 2 stored without the contact" in done.output
    assert "1 recordings to delete at Twilio: they wait" in done.output
    after = stored_text(app)
    assert [trace for trace in paul_traces(book) if trace in after] == []
    assert held_about(app, ALICE) == alice  # the other caller is untouched
    assert all(trace in after for trace in [ALICE, "Alice Martin", *book["alice"]])
    expected = replace(report, callbacks=replace(
        report.callbacks, overdue=report.callbacks.overdue - 1,
        canceled=report.callbacks.canceled + 1,
    ))  # fmt: skip
    assert november(app) == expected  # Paul's callback is cancelled; every other count stays
    assert [row.recording_sid for row in deletions(app)] == [book["paul"][1]]
    assert deletions(app)[0].subject == subject
    with session_scope(app) as session:
        rev = active_revision(session)
        assert rev is not None and rev.id == 2 and rev.author == "cli:dpo"
        draft = get_draft(session)
        assert draft is not None and len(draft.document["contacts"]) == 3
        [entry] = session.scalars(select(AuditEntry).where(AuditEntry.entity == "caller")).all()
    assert (entry.actor, entry.entity_id, entry.action) == ("cli:dpo", subject, "erase")
    assert entry.after["counts"]["calls"] == 2 and entry.after["revision"] == 2
    with clock.frozen_at(LATER):
        again = runner.invoke("callbook", "erase", "--caller", PAUL)
    assert again.output == f"nothing is held about caller {subject}\n"


def test_a_wrong_number_is_refused(runner: IvrRunner) -> None:
    result = runner.invoke("callbook", "erase", "--caller", "04 65")
    assert result.exit_code == 2 and "'04 65' is not a phone number" in result.output
    assert runner.invoke("callbook", "subject-access", "--caller", "x").exit_code == 2
    own = runner.invoke("callbook", "erase", "--caller", "01 99 00 10 00")  # the service's number
    assert own.exit_code == 2 and "+33199001000 is one of the service's own numbers" in own.output


def test_subject_access_holds_that_number_only(
    app: Flask, runner: IvrRunner, book: dict[str, Any], tmp_path: Path
) -> None:
    out = tmp_path / "paul.json"
    with clock.frozen_at(LATER):
        result = runner.invoke("callbook", "subject-access", "--caller", PAUL_TYPED, str(out))
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    assert "serveur bloqué" in text  # UTF-8, not \\u escapes
    data = json.loads(text)
    assert data["number"] == PAUL
    assert [c["call_sid"] for c in data["calls"]] == [book["paul"][0], book["paul"][3]]
    assert {c["from"] for c in data["calls"]} == {PAUL}
    assert data["calls"][0]["motives"] == [
        {"position": 0, "motive": "incident", "family": "incident", "channel": "keypad"}
    ]
    assert any(e["kind"] == "voicemail.recorded" for e in data["calls"][0]["events"])
    [ticket] = data["tickets"]
    assert ticket["caller_number"] == PAUL and ticket["messages"][0]["transcription"]
    assert [h["action"] for h in ticket["history"]][:1] == ["created"]
    assert [c["caller_number"] for c in data["callbacks"]] == [PAUL]
    assert data["callbacks"][0]["ticket"] == ticket["number"]
    assert data["contacts"] == [{"number": PAUL, "name": "Paul Morel", "structure": "auvergne",
                                 "email": "paul.morel@example.org"}]  # fmt: skip
    assert datetime.fromisoformat(data["calls"][0]["started_at"]) == TUESDAY_EVENING
    assert ALICE not in text and "Alice" not in text and book["alice"][0] not in text
    with clock.frozen_at(LATER):
        to_stdout = runner.invoke("callbook", "subject-access", "--caller", PAUL)
    assert json.loads(to_stdout.output)["calls"] == data["calls"]
    with session_scope(app) as session:
        entries = session.scalars(select(AuditEntry).where(AuditEntry.entity == "caller")).all()
    assert [(e.entity_id, e.action) for e in entries] == [(subject_hash(PAUL), "access")] * 2


# -- the admin page ----------------------------------------------------------------------


@pytest.fixture
def at_noon() -> Iterator[None]:
    with clock.frozen_at(LATER):
        yield


def form(client: FlaskClient, **values: str) -> dict[str, str]:
    return {"csrf_token": client.csrf_token, **values}  # type: ignore[attr-defined]


def test_only_admins_may_erase(app: Flask, login_as: Login, book: dict[str, Any]) -> None:
    before = held_about(app, PAUL)
    for role in ("technician", "viewer"):
        client = login_as(role)
        assert client.get("/admin/privacy").status_code == 403
        erase = client.post("/admin/privacy/erase", data=form(client, number=PAUL, confirm="1"))
        assert erase.status_code == 403
        assert (
            client.post("/admin/privacy/access", data=form(client, number=PAUL)).status_code == 403
        )
    admin = book["admin"]
    no_token = admin.post("/admin/privacy/erase", data={"number": PAUL, "confirm": "1"})
    assert no_token.status_code == 400
    assert held_about(app, PAUL) == before
    assert "Données personnelles" not in login_as("technician").get("/admin/calls").get_data(
        as_text=True
    )


def test_admin_erases_after_confirming(app: Flask, book: dict[str, Any], at_noon: None) -> None:
    admin = book["admin"]
    page = admin.get("/admin/privacy").get_data(as_text=True)
    assert "Effacer les données d'un appelant" in page
    assert "Aucun enregistrement en attente de suppression." in page
    wrong = admin.post("/admin/privacy/erase", data=form(admin, number="06 12"))
    assert wrong.status_code == 422
    assert "« 06 12 » n&#39;est pas un numéro de téléphone" in wrong.get_data(as_text=True)
    own = admin.post("/admin/privacy/erase", data=form(admin, number="+33199001000", confirm="1"))
    assert own.status_code == 422 and "numéro du service lui-même" in own.get_data(as_text=True)

    before = stored_text(app)
    preview = admin.post("/admin/privacy/erase", data=form(admin, number=PAUL_TYPED))
    html = preview.get_data(as_text=True)
    assert preview.status_code == 200 and "Effacer définitivement" in html
    assert "<tr><td>2</td><td>appels" in html and "<tr><td>1</td><td>fiche de contact" in html
    assert stored_text(app) == before  # the preview erases nothing

    done = admin.post("/admin/privacy/erase", data=form(admin, number=PAUL, confirm="1"))
    assert (done.status_code, done.headers["Location"]) == (303, "/admin/privacy")
    after = stored_text(app)
    assert [trace for trace in paul_traces(book) if trace in after] == []
    page = admin.get("/admin/privacy").get_data(as_text=True)
    assert "Données de l&#39;appelant effacées" in page
    assert "1 enregistrement en attente de suppression chez Twilio." in page
    assert "Sans identifiants Twilio" in page
    with session_scope(app) as session:
        [entry] = session.scalars(select(AuditEntry).where(AuditEntry.entity == "caller")).all()
        log = json.dumps(
            [[e.entity_id, e.before, e.after] for e in session.scalars(select(AuditEntry))]
        )
    assert (entry.actor, entry.entity_id, entry.action) == ("admin1", subject_hash(PAUL), "erase")
    assert PAUL not in log and "Paul Morel" not in log and PAUL_TYPED not in log
    audit_page = admin.get("/admin/audit").get_data(as_text=True)
    assert subject_hash(PAUL) in audit_page and PAUL not in audit_page


def test_admin_exports_what_is_held(app: Flask, book: dict[str, Any], at_noon: None) -> None:
    admin = book["admin"]
    answer = admin.post("/admin/privacy/access", data=form(admin, number=PAUL_TYPED))
    assert answer.status_code == 200 and answer.mimetype == "application/json"
    assert "attachment" in answer.headers["Content-Disposition"]
    data = json.loads(answer.get_data(as_text=True))
    assert len(data["calls"]) == 2 and ALICE not in answer.get_data(as_text=True)


def test_erasure_deletes_the_messages_to_or_about_the_number(app: Flask) -> None:
    from callbook import outbox
    from callbook.outbox import OutboxMessage
    from callbook.outbox.store import NewMessage
    from callbook.privacy import erasure

    sms = NewMessage("sms", "call.missed", PAUL, "sms:paul", payload={"body": "Appel manqué"})
    notice = NewMessage("email", "ticket.created", "hotline@example.org", "mail:paul",
                        payload={"values": {"caller": f"Paul Morel ({PAUL})"}})  # fmt: skip
    other = NewMessage("email", "ticket.created", "hotline@example.org", "mail:alice",
                       payload={"values": {"caller": ALICE}})  # fmt: skip
    with clock.frozen_at(WEDNESDAY), session_scope(app) as session:
        assert outbox.enqueue(session, [sms, notice, other], clock.now()) == 3
        found = erasure.plan(session, PAUL)
        assert found.counts()["outbox"] == 2
        erasure.apply(session, found, actor="test", now=clock.now())
    with session_scope(app) as session:
        left = session.scalars(select(OutboxMessage.dedupe_key)).all()
    assert left == ["mail:alice"]
