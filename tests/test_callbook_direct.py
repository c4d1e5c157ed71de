"""`callbook.db.direct`: Core statements run on the driver must read and write exactly what
SQLAlchemy's own execution would, and fail the same way."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, String, insert, literal_column, select
from sqlalchemy.exc import DBAPIError, IntegrityError, StatementError

from callbook.calls import sql
from callbook.db import make_engine
from callbook.db.direct import Direct

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


def test_rows_read_directly_are_those_sqlalchemy_reads(engine: Engine) -> None:
    call_id = new_call(
        engine,
        "CA01",
        state={"motive": "incident", "tries": 2},
        in_hours=False,
        answered_at=NOW + timedelta(seconds=5),
    )
    with engine.begin() as conn:
        sql.INSERT_EVENTS.executemany(
            conn,
            [
                {"call_id": call_id, "seq": 1, "at": NOW, "kind": "call.started", "data": {}},
                {"call_id": call_id, "seq": 2, "at": NOW, "kind": "menu.choice", "data": {"a": 1}},
            ],
        )
    with engine.connect() as conn:
        direct = sql.FIND.execute(conn, {"sid": "CA01"}).first()
        ordinary = conn.execute(sql.FIND.statement, {"sid": "CA01"}).one()
    assert direct == tuple(ordinary)
    found = dict(zip(sql.FIND_COLUMNS, direct or (), strict=True))
    assert found["state"] == {"motive": "incident", "tries": 2}
    assert found["answered_at"] == NOW + timedelta(seconds=5)
    assert found["answered_at"].tzinfo == UTC
    assert found["in_hours"] is False
    assert found["last_seq"] == 2
    with engine.connect() as conn:
        assert sql.FIND.execute(conn, {"sid": "CA-unknown"}).first() is None


def test_left_out_columns_get_their_defaults(engine: Engine) -> None:
    params = {"call_sid": "CA02", "started_at": NOW, "updated_at": NOW}
    with engine.begin() as conn:
        new_id = sql.INSERT_CALL[conn.dialect.name].execute(conn, params).scalar()
        # The same CallSid again: no row, and so no id.
        assert sql.INSERT_CALL[conn.dialect.name].execute(conn, params).scalar() is None
    with engine.connect() as conn:
        row = conn.execute(select(sql.CALLS).where(sql.CALLS.c.id == new_id)).one()
    assert (row.status, row.route, row.direction, row.note) == ("in-progress", "", "inbound", "")
    assert (row.state, row.dialing, row.urgent) == ({}, [], False)
    assert row.started_at == NOW


def test_update_reports_its_row_count(engine: Engine) -> None:
    call_id = new_call(engine, "CA03")
    params = {"call_id": call_id, "request_key": "k1", "seen_last_seq": 0, "route": "hotline"}
    with engine.begin() as conn:
        assert sql.UPDATE_STEP.execute(conn, params | {"last_request_key": "k1"}).rowcount == 1
        # The same request again: the row holds it already, the guard refuses it.
        assert sql.UPDATE_STEP.execute(conn, params).rowcount == 0
    with engine.connect() as conn:
        assert sql.FIND.execute(conn, {"sid": "CA03"}).first()[6] == "hotline"  # type: ignore[index]


def test_values_that_cannot_be_bound_fail_as_sqlalchemy_does(engine: Engine) -> None:
    """A naive datetime, data that is not JSON, a missing parameter: the same error
    as SQLAlchemy's own execution raises on this database, and nothing written."""
    call_id = new_call(engine, "CA05")
    naive = NOW.replace(tzinfo=None)
    cases: list[tuple[Direct, dict[str, object], str]] = [
        (sql.TOUCH, {"sid": "CA05", "now": naive}, "naive datetime"),
        (sql.UPDATE_STEP, {**_step(call_id), "state": {"at": object()}}, "not JSON serializable"),
        (sql.UPDATE_STEP, {"call_id": call_id, "seen_last_seq": 0, "route": "x"}, "request_key"),
    ]
    for statement, params, message in cases:
        raised = []
        for run in (statement.execute, lambda c, p, s=statement: c.execute(s.statement, p)):
            with pytest.raises(Exception, match=message) as error, engine.begin() as conn:
                run(conn, params)
            raised.append(type(error.value))
        assert raised[0] is raised[1], message
        assert issubclass(raised[0], StatementError) or engine.dialect.name == "postgresql"
    with engine.connect() as conn:
        row = conn.execute(select(sql.CALLS).where(sql.CALLS.c.id == call_id)).one()
    assert (row.route, row.state, row.updated_at) == ("", {}, NOW)


def test_none_into_json_is_json_null_as_with_sqlalchemy(engine: Engine) -> None:
    direct_id, ordinary_id = new_call(engine, "CA06"), new_call(engine, "CA07")
    with engine.begin() as conn:
        assert sql.UPDATE_STEP.execute(conn, {**_step(direct_id), "dialing": None}).rowcount == 1
        conn.execute(sql.UPDATE_STEP.statement, {**_step(ordinary_id), "dialing": None})
    with engine.connect() as conn:
        stored = conn.execute(
            select(sql.CALLS.c.call_sid, sql.CALLS.c.dialing.cast(String)).order_by("call_sid")
        ).all()
    assert [text for _sid, text in stored] == ["null", "null"]


def _step(call_id: int) -> dict[str, object]:
    return {"call_id": call_id, "request_key": "k", "seen_last_seq": 0}


def test_driver_errors_are_sqlalchemy_errors_and_roll_back(engine: Engine) -> None:
    call_id = new_call(engine, "CA04")
    row = {"call_id": call_id, "seq": 1, "at": NOW, "kind": "call.started", "data": {}}
    with pytest.raises(IntegrityError), engine.begin() as conn:
        sql.INSERT_EVENTS.executemany(conn, [row])
        # Not a call of the book: the foreign key refuses it, and the event above goes too.
        Direct(insert(sql.EVENTS)).execute(conn, {**row, "call_id": call_id + 1000, "seq": 2})
    with engine.connect() as conn:
        assert sql.LAST_SEQ.execute(conn, {"call_id": call_id}).scalar() is None
        unknown = Direct(select(literal_column("no_such_column")).select_from(sql.CALLS))
        with pytest.raises(DBAPIError) as raised:
            unknown.execute(conn, {})
    assert not raised.value.connection_invalidated


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
        assert sql.FIRST_STEP_PG.execute(conn, params).scalar() is not None
        conn.commit()
        assert sql.FIRST_STEP_PG.execute(conn, params).first() is None  # the CallSid is in
        conn.commit()
    with engine.connect() as conn:
        row = conn.execute(select(sql.CALLS).where(sql.CALLS.c.call_sid == "CA08")).one()
        events = conn.execute(select(sql.EVENTS).where(sql.EVENTS.c.call_id == row.id)).all()
    assert (row.status, row.route, row.direction, row.note) == ("in-progress", "", "inbound", "")
    assert (row.state, row.dialing, row.urgent, row.revision) == ({}, [], False, None)
    assert [(e.seq, e.kind, e.data) for e in events] == [
        (1, "call.started", {"caller": "+33612345678"})
    ]
