"""Configuration revisions in the database: migrations, save, activate, cache."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from flask import Flask
from sqlalchemy import event, func, inspect, select, update

from callbook.db import Base, database, get_session, make_engine, session_scope
from callbook.db.schema import expected_schema_version, schema_version, upgrade_database
from callbook.history.models import ConfigRevision, ConfigState
from callbook.history.revisions import (
    UnknownRevision,
    active_revision,
    active_revision_id,
    get_revision,
    list_revisions,
)
from ivr.app import create_app
from ivr.config import (
    ConfigDocument,
    ConfigInvalid,
    demo_yaml_text,
    load_yaml_text,
    to_data,
    validate_document,
)
from ivr.config.revisions import activate_revision, diff_revisions, revision_document, save_revision
from ivr.runtime import (
    ActiveConfig,
    NoActiveConfig,
    active_config,
    current_config,
    last_known_config,
)
from ivr.settings import Settings
from tests.conftest import deployment_settings

MY_TABLES = {"config_revisions", "config_state"}
STORED_AT = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)  # revisions written by hand, as of old


def demo_data() -> dict[str, Any]:
    """The demo as stored: canonical JSON-able data."""
    return to_data(load_yaml_text(demo_yaml_text()))


def with_referent_number(number: str) -> ConfigDocument:
    data = demo_data()
    data["referents"][0]["numbers"][0] = number
    return validate_document(data)


# -- migrations ---------------------------------------------------------------------


def test_upgrade_creates_the_tables_and_twice_is_a_no_op(empty_database: str) -> None:
    upgrade_database(empty_database)
    engine = make_engine(empty_database)
    try:
        assert schema_version(engine) == expected_schema_version()
        assert set(inspect(engine).get_table_names()) >= MY_TABLES
        upgrade_database(empty_database)
        assert schema_version(engine) == expected_schema_version()
        with engine.connect() as connection:
            assert connection.scalar(select(func.count()).select_from(ConfigState)) == 1
    finally:
        engine.dispose()


def test_migrations_match_the_models(migrated_database: str) -> None:
    def mine(_obj: object, name: str | None, type_: str, *_: object) -> bool:
        # Other tables are checked with their own migrations.
        return type_ != "table" or name in MY_TABLES

    engine = make_engine(migrated_database)
    try:
        with engine.connect() as connection:
            opts = {"compare_type": True, "include_object": mine}
            context = MigrationContext.configure(connection, opts=opts)
            assert compare_metadata(context, Base.metadata) == []
    finally:
        engine.dispose()


def test_sqlite_connections_use_wal_and_foreign_keys(app: Flask) -> None:
    engine = database(app).engine
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite only")
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 5000


# -- the application factory ---------------------------------------------------


def test_embedded_database_is_migrated_and_starts_on_the_demo(tmp_path: Path) -> None:
    settings = Settings(instance_dir=tmp_path, database_url="")
    create_app(settings)
    app = create_app(settings)  # a second start adds nothing
    with session_scope(app) as session:
        revisions = list_revisions(session)
        assert [(r.id, r.author, r.comment) for r in revisions] == [
            (1, "system", "demo configuration")
        ]
        assert active_revision_id(session) == 1
    with app.app_context():
        number, doc = current_config()
    assert number == 1
    assert doc.service.name.startswith("l'assistance nationale")


def test_explicit_database_is_not_migrated_but_the_app_starts(
    empty_database: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        app = create_app(deployment_settings(instance_dir=tmp_path, database_url=empty_database))
    assert "run `ivr db upgrade`" in caplog.text
    engine = database(app).engine
    assert "config_revisions" not in inspect(engine).get_table_names()
    assert app.test_client().get("/healthz").status_code == 200
    with app.app_context(), pytest.raises(NoActiveConfig, match="cannot read"):
        current_config()
    engine.dispose()


# -- save, activate, roll back ----------------------------------------------------


def test_save_activate_and_roll_back(app: Flask) -> None:
    with session_scope(app) as session:
        demo = active_revision(session)
        assert demo is not None and demo.id == 1
        rev = save_revision(
            session, with_referent_number("04 65 71 10 99"), author="alice", comment="new"
        )
        assert rev.id == 2
        assert active_revision_id(session) == 2
    with session_scope(app) as session:
        activate_revision(session, 1, author="bruno")
    with session_scope(app) as session:
        assert active_revision_id(session) == 1
        state = session.get(ConfigState, ConfigState.ROW_ID)
        assert state is not None and state.activated_by == "bruno"
        first, second = list_revisions(session)
        assert revision_document(first).referents[0].numbers[0] == "+33465711020"
        assert revision_document(second).referents[0].numbers[0] == "+33465711099"
        assert (second.author, second.comment) == ("alice", "new")
        # Read back as aware UTC, on SQLite as on PostgreSQL.
        assert second.created_at.tzinfo is UTC
        assert second.created_at >= first.created_at


def test_save_without_activating(app: Flask) -> None:
    with session_scope(app) as session:
        rev = save_revision(
            session, with_referent_number("04 65 71 10 99"), author="a", activate=False
        )
        assert rev.id == 2
        assert active_revision_id(session) == 1


def test_unknown_revision_cannot_be_activated(app: Flask) -> None:
    with (
        pytest.raises(UnknownRevision, match="no configuration revision 42"),
        session_scope(app) as session,
    ):
        activate_revision(session, 42, author="alice")
    with session_scope(app) as session:
        assert active_revision_id(session) == 1
        assert get_revision(session, 42) is None


def test_a_stored_document_that_no_longer_validates_is_refused(app: Flask) -> None:
    broken = demo_data()
    broken["motives"][1]["digit"] = "1"
    with session_scope(app) as session:
        rev = ConfigRevision(document=broken, author="old", comment="", created_at=STORED_AT)
        session.add(rev)
        session.flush()
        number = rev.id
    with (
        pytest.raises(ConfigInvalid, match="la touche 1 sert à plusieurs motifs"),
        session_scope(app) as session,
    ):
        activate_revision(session, number, author="alice")
    with session_scope(app) as session:
        assert active_revision_id(session) == 1


def test_revisions_are_immutable(app: Flask) -> None:
    with pytest.raises(ValueError, match="immutable"), session_scope(app) as session:
        rev = get_revision(session, 1)
        assert rev is not None
        rev.comment = "rewritten"
        session.flush()
    with session_scope(app) as session:
        assert get_revision(session, 1).comment == "demo configuration"  # type: ignore[union-attr]


def test_naive_datetimes_are_refused(app: Flask) -> None:
    with pytest.raises(Exception, match="naive datetime"), session_scope(app) as session:
        session.add(
            ConfigRevision(document={}, author="a", comment="", created_at=datetime(2026, 1, 1))  # noqa: DTZ001
        )
        session.flush()


def test_diff_is_labelled_and_shows_the_change(app: Flask) -> None:
    with session_scope(app) as session:
        save_revision(session, with_referent_number("04 65 71 10 99"), author="alice")
        first, second = get_revision(session, 1), get_revision(session, 2)
        assert first is not None and second is not None
        text = diff_revisions(first, second)
        assert diff_revisions(first, first) == ""
    lines = text.splitlines()
    assert lines[:2] == ["--- revision 1", "+++ revision 2"]
    assert "-  - '+33465711020'" in lines
    assert "+  - '+33465711099'" in lines


# -- the in-memory cache of the active revision ------------------------------------


class FakeMonotonic:
    def __init__(self) -> None:
        self.value = 100.0

    def __call__(self) -> float:
        return self.value


def count_selects(app: Flask) -> list[str]:
    seen: list[str] = []

    def listener(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append(statement)

    event.listen(database(app).engine, "before_cursor_execute", listener)
    return seen


def test_active_config_notices_a_new_active_revision(app: Flask) -> None:
    clock = FakeMonotonic()
    cache = ActiveConfig(database(app).sessions, monotonic=clock)
    assert cache.get()[0] == 1
    selects = count_selects(app)
    clock.value += 0.5
    assert cache.get()[0] == 1
    assert selects == []  # within the second: no query at all
    with session_scope(app) as session:
        save_revision(session, with_referent_number("04 65 71 10 99"), author="alice")
    selects.clear()
    clock.value += 0.4
    assert cache.get()[0] == 1  # still cached
    clock.value += 0.1
    number, doc = cache.get()
    assert number == 2
    assert doc.referents[0].numbers[0] == "+33465711099"
    clock.value += 1
    selects.clear()
    assert cache.get()[0] == 2
    assert len(selects) == 1  # unchanged: one cheap query


def test_active_config_keeps_the_previous_revision_when_the_new_one_is_invalid(
    app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FakeMonotonic()
    cache = ActiveConfig(database(app).sessions, monotonic=clock)
    assert cache.get()[0] == 1
    broken = demo_data()
    broken["calendars"] = {}
    with session_scope(app) as session:
        rev = ConfigRevision(document=broken, author="x", comment="", created_at=STORED_AT)
        session.add(rev)
        session.flush()
        # Bypasses activate_revision's check, as a hand-edited database would.
        session.execute(update(ConfigState).values(active_revision_id=rev.id))
    with caplog.at_level(logging.WARNING, logger="ivr.runtime"):
        clock.value += 1
        assert cache.get()[0] == 1
        clock.value += 1
        assert cache.get()[0] == 1
    refusals = [r for r in caplog.records if "keeping configuration revision 1" in r.message]
    assert len(refusals) == 1  # said once, not once a second


def test_active_config_without_any_revision(migrated_database: str, tmp_path: Path) -> None:
    app = create_app(deployment_settings(instance_dir=tmp_path, database_url=migrated_database))
    with app.app_context():
        assert last_known_config() is None
        with pytest.raises(NoActiveConfig, match="ivr config import"):
            current_config()
    database(app).engine.dispose()


def test_current_config_in_the_app_context(app: Flask) -> None:
    assert last_known_config() is None  # outside any app context
    with app.app_context():
        assert last_known_config() is None
        number, doc = current_config()
        assert number == 1
        assert last_known_config() is doc
        assert active_config().get() == (number, doc)


def test_one_session_per_request(app: Flask) -> None:
    with app.test_request_context():
        session = get_session()
        assert get_session() is session
        assert session.scalar(select(func.count()).select_from(ConfigRevision)) == 1
    with app.test_request_context():
        assert get_session() is not session
