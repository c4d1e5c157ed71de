"""SQLite's writers queue on a file lock: in turn, never waiting for themselves, bounded."""

from __future__ import annotations

import fcntl
import os
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from callbook.db import make_engine
from callbook.db.sqlite_writers import QueuedConnection, lock_path


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    engine = make_engine(f"sqlite:///{tmp_path / 'book.sqlite3'}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (n INTEGER)"))
    return engine


def test_the_queue_sits_beside_the_database_file() -> None:
    assert lock_path("/srv/ivr/ivr.sqlite3") == "/srv/ivr/ivr.sqlite3-writers"
    assert lock_path(":memory:") is None
    assert lock_path(None) is None


def test_a_second_writer_waits_for_the_first_commit(engine: Engine, tmp_path: Path) -> None:
    order: list[str] = []
    first_in = threading.Event()

    def first() -> None:
        with engine.begin() as connection:
            connection.execute(text("INSERT INTO t VALUES (1)"))
            assert isinstance(connection.connection.dbapi_connection, QueuedConnection)
            first_in.set()
            time.sleep(0.2)
            order.append("first commits")

    thread = threading.Thread(target=first)
    thread.start()
    assert first_in.wait(5)
    started = time.monotonic()
    with engine.begin() as connection:
        order.append("second writes")
        connection.execute(text("INSERT INTO t VALUES (2)"))
    waited = time.monotonic() - started
    thread.join()
    assert order == ["first commits", "second writes"]
    assert 0.05 < waited < 2  # woken by the first commit, well before SQLite's busy timeout
    assert (tmp_path / "book.sqlite3-writers").exists()
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM t")).scalar() == 2


def test_the_queue_is_left_on_rollback(engine: Engine) -> None:
    with pytest.raises(RuntimeError), engine.begin() as connection:
        connection.execute(text("INSERT INTO t VALUES (1)"))
        raise RuntimeError("the step failed")
    started = time.monotonic()
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO t VALUES (2)"))
    assert time.monotonic() - started < 1
    with engine.connect() as connection:
        assert connection.execute(text("SELECT n FROM t")).scalars().all() == [2]


def test_a_nested_writer_of_the_same_thread_does_not_wait_for_itself(engine: Engine) -> None:
    """It meets SQLite's own lock (busy timeout, shortened here), as without the queue."""
    with engine.begin() as outer:
        outer.execute(text("INSERT INTO t VALUES (1)"))
        inner = engine.connect()
        try:
            dbapi = inner.connection.dbapi_connection
            assert dbapi is not None
            dbapi.execute("PRAGMA busy_timeout=100")  # not through SQLAlchemy: no BEGIN
            started = time.monotonic()
            with pytest.raises(Exception, match="locked"):
                inner.execute(text("INSERT INTO t VALUES (2)"))
            assert time.monotonic() - started < 2
        finally:
            inner.close()


def test_a_lock_held_elsewhere_costs_at_most_the_wait(engine: Engine, tmp_path: Path) -> None:
    """A stuck holder of the lock file (not SQLite's lock): writers go on after the wait."""
    fd = os.open(tmp_path / "book.sqlite3-writers", os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        with engine.connect() as connection:
            dbapi = connection.connection.dbapi_connection
            assert isinstance(dbapi, QueuedConnection)
            dbapi.wait_seconds = 0.3
            started = time.monotonic()
            with connection.begin():
                connection.execute(text("INSERT INTO t VALUES (3)"))
            assert 0.25 < time.monotonic() - started < 2
    finally:
        os.close(fd)
