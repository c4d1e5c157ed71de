"""Several web workers on one database: a configuration revision reaches all of them."""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from callbook.db import database, session_scope
from ivr.app import create_app
from ivr.config import demo_yaml_text, load_yaml_text, to_data, validate_document
from ivr.config.revisions import save_revision
from ivr.runtime import ActiveConfig
from tests.conftest import deployment_settings


def test_a_new_revision_reaches_every_worker_within_a_second(app: Flask, tmp_path: Path) -> None:
    """Two web workers (two apps on one database): an import in one is seen by both."""
    other = create_app(
        deployment_settings(
            instance_dir=tmp_path / "other", database_url=app.config["DATABASE_URL"]
        )
    )
    try:
        ticks = [0.0]
        workers = [
            ActiveConfig(database(a).sessions, monotonic=lambda: ticks[0]) for a in (app, other)
        ]
        assert [w.get()[0] for w in workers] == [1, 1]
        data = to_data(load_yaml_text(demo_yaml_text()))
        data["referents"][0]["numbers"][0] = "+33465711099"
        with session_scope(other) as session:
            save_revision(session, validate_document(data), author="alice")
        ticks[0] = 0.999
        assert [w.get()[0] for w in workers] == [1, 1]  # each still serves its cached copy
        ticks[0] = 1.0
        assert [w.get()[0] for w in workers] == [2, 2]
        assert all(w.get()[1].referents[0].numbers[0] == "+33465711099" for w in workers)
    finally:
        database(other).engine.dispose()
