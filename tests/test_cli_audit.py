"""Changes made on the command line are in the audit log, as those made on the admin pages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import select

from callbook.db import session_scope
from callbook.history.audit import AuditEntry
from callbook.history.revisions import get_revision
from ivr.admin.diffs import summarize
from tests.api_helpers import token_for
from tests.conftest import IvrRunner, paris
from tests.test_callbook_reports import add_call
from tests.test_cli_config import demo_data, write_yaml

Entry = tuple[str, str, str, Any, Any]


def audit(app: Flask, entity: str) -> list[Entry]:
    """(actor, entity id, action, before, after) of every entry about `entity`, oldest first."""
    with session_scope(app) as session:
        rows = session.scalars(
            select(AuditEntry).where(AuditEntry.entity == entity).order_by(AuditEntry.id)
        )
        return [(e.actor, e.entity_id, e.action, e.before, e.after) for e in rows]


def test_config_import_is_audited_as_a_publication(
    app: Flask, runner: IvrRunner, tmp_path: Path
) -> None:
    data = demo_data()
    data["referents"][0]["numbers"][0] = "04 65 71 10 99"
    source = write_yaml(tmp_path / "routing.yaml", data)
    result = runner.invoke("config", "import", str(source), "--comment", "nouvelle ligne")
    assert result.exit_code == 0, result.output
    (entry,) = audit(app, "config")
    with session_scope(app) as session:
        first, second = get_revision(session, 1), get_revision(session, 2)
        assert first is not None and second is not None
        expected = [[c.path, c.old, c.new] for c in summarize(first.document, second.document)]
    assert len(expected) == 1 and "+33465711099" in expected[0][2]
    after = {"revision": 2, "comment": "nouvelle ligne", "changes": expected}
    assert entry == ("tester", "2", "publish", {"revision": 1}, after)

    data["menu"]["attempts"] = 2
    again = write_yaml(tmp_path / "menu.yaml", data)
    assert runner.invoke("config", "import", str(again), "--author", "Alice Martin").exit_code == 0
    actor, number, action, before, after = audit(app, "config")[-1]
    assert (actor, number, action, before) == ("Alice Martin", "3", "publish", {"revision": 2})
    assert after["comment"] == "imported from menu.yaml"
    assert after["changes"] == [["menu.attempts", 3, 2]]

    data["structures"][0]["calendar"] = "atlantide"
    refused = write_yaml(tmp_path / "broken.yaml", data)
    assert runner.invoke("config", "import", str(refused)).exit_code == 1
    assert len(audit(app, "config")) == 2  # nothing stored, nothing audited


def test_config_activate_is_audited_as_a_rollback(
    app: Flask, runner: IvrRunner, tmp_path: Path
) -> None:
    source = write_yaml(tmp_path / "demo.yaml", demo_data() | {"closure": {"active": True}})
    assert runner.invoke("config", "import", str(source)).exit_code == 0
    result = runner.invoke("config", "activate", "1", "--author", "bruno")
    assert result.exit_code == 0, result.output
    assert audit(app, "config")[-1] == ("bruno", "1", "rollback", {"revision": 2}, {"revision": 1})
    assert runner.invoke("config", "activate", "9").exit_code == 1
    assert len(audit(app, "config")) == 2


def test_callbook_note_and_motives_are_audited(app: Flask, runner: IvrRunner) -> None:
    add_call(app, "CA7", paris(2026, 12, 21, 10, 0), route="hotline", in_hours=True,
             motives=[("incident", "incident", "keypad")])  # fmt: skip
    motives = runner.invoke("callbook", "motives", "CA7", "incident", "account")
    assert motives.exit_code == 0, motives.output
    note = runner.invoke("callbook", "note", "CA7", "rappelé", "--author", "Chloé")
    assert note.exit_code == 0, note.output
    assert runner.invoke("callbook", "note", "CA7", "rappelé").exit_code == 0  # no change
    cleared = runner.invoke("callbook", "motives", "CA7", "usage", "--replace-caller")
    assert cleared.exit_code == 0, cleared.output
    assert audit(app, "call") == [
        ("tester", "CA7", "motives", ["incident"], ["incident", "account"]),
        ("Chloé", "CA7", "note", "", "rappelé"),
        ("tester", "CA7", "motives", ["incident", "account"], ["usage"]),
    ]


def test_the_api_audits_notes_under_the_token_user(app: Flask) -> None:
    add_call(app, "CA8", paris(2026, 12, 21, 11, 0), route="hotline", in_hours=True)
    auth = token_for(app, "technician", "theo")
    client = app.test_client()
    assert client.put("/api/v1/calls/CA8/note", json="à rappeler", headers=auth).status_code == 200
    assert audit(app, "call") == [("theo", "CA8", "note", "", "à rappeler")]
