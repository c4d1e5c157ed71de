"""The call book's hot statements (`callbook.calls.sql`): defaults, guards, the
PostgreSQL first step."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, insert, select

from callbook.calls import sql
from callbook.db import make_engine

NOW = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)  # the night France moves to summer time


@pytest.fixture
def engine(migrated_database: str) -> Iterator[Engine]:
    engine = make_engine(migrated_database)
    yield engine
    engine.dispose()


def new_call(engine: Engine, sid: str, **values: object) -> int:
    """A call row written the ordinary way (SQLAlchemy's execution)."""
    with engine.begin() as conn:
        row = {"call_sid": sid, "started_at": NOW, "updated_at": NOW, **values}
        return int(conn.execute(insert(sql.CALLS).returning(sql.CALLS.c.id), row).scalar_one())


def test_left_out_columns_get_their_defaults(engine: Engine) -> None:
    params = {"call_sid": "CA02", "started_at": NOW, "updated_at": NOW}
    with engine.begin() as conn:
        new_id = conn.execute(sql.INSERT_CALL[conn.dialect.name], params).scalar()
        # The same CallSid again: no row, and so no id.
        assert conn.execute(sql.INSERT_CALL[conn.dialect.name], params).scalar() is None
    with engine.connect() as conn:
        row = conn.execute(select(sql.CALLS).where(sql.CALLS.c.id == new_id)).one()
    assert (row.status, row.route, row.direction, row.note) == ("in-progress", "", "inbound", "")
    assert (row.state, row.dialing, row.urgent) == ({}, [], False)
    assert row.started_at == NOW


def test_update_reports_its_row_count(engine: Engine) -> None:
    call_id = new_call(engine, "CA03")
    params = {"call_id": call_id, "request_key": "k1", "seen_last_seq": 0, "route": "hotline"}
    with engine.begin() as conn:
        assert conn.execute(sql.UPDATE_STEP, params | {"last_request_key": "k1"}).rowcount == 1
        # The same request again: the row holds it already, the guard refuses it.
        assert conn.execute(sql.UPDATE_STEP, params).rowcount == 0
    with engine.connect() as conn:
        assert conn.execute(sql.FIND, {"sid": "CA03"}).one().route == "hotline"


def test_first_step_statement_writes_the_call_with_its_defaults(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("a PostgreSQL statement (data-modifying CTE)")
    params = {
        "new_call_sid": "CA08",
        "new_started_at": NOW,
        "new_updated_at": NOW,
        "events": [{"kind": "call.started", "data": {"caller": "+33612345678"}}],
        "at": NOW,
    }
    with engine.connect() as conn:
        assert conn.execute(sql.FIRST_STEP_PG, params).scalar() is not None
        conn.commit()
        assert conn.execute(sql.FIRST_STEP_PG, params).first() is None  # the CallSid is in
        conn.commit()
    with engine.connect() as conn:
        row = conn.execute(select(sql.CALLS).where(sql.CALLS.c.call_sid == "CA08")).one()
        events = conn.execute(select(sql.EVENTS).where(sql.EVENTS.c.call_id == row.id)).all()
    assert (row.status, row.route, row.direction, row.note) == ("in-progress", "", "inbound", "")
    assert (row.state, row.dialing, row.urgent, row.revision) == ({}, [], False, None)
    assert [(e.seq, e.kind, e.data) for e in events] == [
        (1, "call.started", {"caller": "+33612345678"})
    ]
