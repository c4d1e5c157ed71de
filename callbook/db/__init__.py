"""The database: one declarative base, engines, sessions, Flask wiring.

Nothing here runs at import time: `init_app` builds the engine of one app and
keeps it in `app.extensions["callbook"]`.

Two ways to get a session:
- `session_scope()` for commands, jobs and anything that is one unit of work:
  committed when the block ends, rolled back if it raises;
- `get_session()` for request handlers: one session per app context, closed
  (and rolled back unless committed) when the context ends.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar

from flask import Flask, current_app, g
from sqlalchemy import DateTime, Engine, MetaData, create_engine, event, make_url
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.types import TypeDecorator

from callbook.db.sqlite_writers import QueuedConnection, connection_class

# Stable constraint names, so that later migrations can name what they alter
# (SQLite and PostgreSQL would otherwise each invent their own).
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

SQLITE_BUSY_TIMEOUT_MS = 5000

_deadline: ContextVar[tuple[float, float] | None] = ContextVar("callbook_deadline", default=None)
"""(deadline on the monotonic clock, length) of the current `time_budget`."""


@contextmanager
def time_budget(seconds: float) -> Iterator[None]:
    """No wait for the database in this block goes past `seconds` after it began.

    A voice webhook must answer Twilio in time even when the database is
    locked: a write transaction begun in the block waits for the writers'
    queue and for the database's locks only as long as the budget has left,
    then fails as a locked database does (SQLite: "database is locked";
    PostgreSQL: lock or statement timeout), which the caller takes for an
    unavailable database.
    """
    token = _deadline.set((time.monotonic() + seconds, seconds))
    try:
        yield
    finally:
        _deadline.reset(token)


def _budget_left_ms() -> int | None:
    """Milliseconds left of the current `time_budget`; None outside one."""
    budget = _deadline.get()
    if budget is None:
        return None
    return int((budget[0] - time.monotonic()) * 1000)


def budget_half_spent() -> bool:
    """True when half the current `time_budget` is gone (never outside one): time for
    optional work (a replay of the spool) to leave the rest to the webhook's own step."""
    budget = _deadline.get()
    return budget is not None and budget[0] - time.monotonic() < budget[1] / 2


def _budget_spent(statement: str) -> DBAPIError:
    error = sqlite3.OperationalError("database is locked (time budget spent)")
    return DBAPIError.instance(statement, (), error, sqlite3.Error)


class UTCDateTime(TypeDecorator[datetime]):
    """`DateTime(timezone=True)` that only accepts and only returns aware UTC values.

    PostgreSQL stores a `timestamptz` and answers in the session's zone; we
    convert to UTC. SQLite has no time zone type: values are written in UTC
    (enforced here) and read back naive, so reading marks them as UTC in this
    one place rather than wherever a value is used.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} refused: store aware UTC instants")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:  # SQLite: written as UTC by process_bind_param
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime}


def _sqlite_connect(dbapi_connection: Any, _record: object) -> None:
    # pysqlite opens transactions on its own (and not before DDL); we emit
    # BEGIN ourselves in _sqlite_begin so migrations are transactional too.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    # Wait for a concurrent writer instead of failing at once ("database is locked").
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    # WAL lets readers (web workers) run while one writer commits.
    cursor.execute("PRAGMA journal_mode=WAL")
    # In WAL mode NORMAL never corrupts the file and survives any process
    # crash; only an OS crash or power cut may drop the last commits. FULL
    # would fsync every webhook's commit.
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


READ_ONLY = "ivr_read_only"
"""Execution option of `read_connection`: on SQLite, no BEGIN (and so no write lock)."""


def _sqlite_begin(connection: Connection) -> None:
    if connection.get_execution_options().get(READ_ONLY):
        # No transaction: each read sees the last commit, taking no lock.
        return
    # IMMEDIATE takes the write lock at the start: a transaction that reads and
    # then writes cannot fail half-way with "database is locked" because
    # another connection wrote in between (SQLite cannot upgrade that read).
    # Waiting writers queue on busy_timeout instead, and before that in this
    # service's own queue (callbook.db.sqlite_writers).
    dbapi_connection = connection.connection.dbapi_connection
    if not isinstance(dbapi_connection, QueuedConnection):  # pragma: no cover - see make_engine
        connection.exec_driver_sql("BEGIN IMMEDIATE")
        return
    left = _budget_left_ms()
    if left is None:
        dbapi_connection.queue_for_write()
    elif left <= 0 or not dbapi_connection.queue_for_write(left / 1000):
        raise _budget_spent("BEGIN IMMEDIATE")
    try:
        # SQLite's own wait for its lock (held by a process outside the
        # queue): no longer than the budget has left.
        dbapi_connection.wait_for_lock_ms(_budget_left_ms(), SQLITE_BUSY_TIMEOUT_MS)
        # Straight on the driver: every webhook begins one (the statement
        # machinery would cost it more than SQLite takes to run it).
        dbapi_connection.execute("BEGIN IMMEDIATE")
    except BaseException as error:
        dbapi_connection.leave_queue()
        if isinstance(error, sqlite3.Error):
            # What exec_driver_sql would raise: SQLAlchemy's wrapper ("database is locked").
            raise DBAPIError.instance("BEGIN IMMEDIATE", (), error, sqlite3.Error) from error
        raise


def make_engine(url: str) -> Engine:
    """An engine for `url`; SQLite gets WAL, foreign keys and a busy timeout."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        factory = connection_class(parsed.database, SQLITE_BUSY_TIMEOUT_MS / 1000)
        engine = create_engine(url, connect_args={"check_same_thread": False, "factory": factory})
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    engine = create_engine(url)
    _ping_when_idle(engine)
    event.listen(engine, "begin", _server_begin)
    return engine


def _server_begin(connection: Connection) -> None:
    """In a `time_budget`, the transaction's lock waits and statements end with it."""
    left = _budget_left_ms()
    if left is None:
        return
    if left <= 0:
        raise _budget_spent("BEGIN")
    timeout = f"{left}ms"
    connection.exec_driver_sql(
        "SELECT set_config('lock_timeout', %(t)s, true), "
        "set_config('statement_timeout', %(t)s, true)",
        {"t": timeout},
    )


PING_AFTER_IDLE_S = 1.0
"""A pooled server connection unused for this long is checked before it is handed out."""
_CHECKED_IN = "ivr_checked_in"


def _ping_when_idle(engine: Engine) -> None:
    """`pool_pre_ping`, but only for connections that sat idle in the pool.

    A connection handed back less than `PING_AFTER_IDLE_S` ago was working
    then; pinging it anyway would cost every webhook a round trip. One that
    broke since (the server restarted under load) fails its statement with
    `connection_invalidated` set, the pool drops every connection older than
    that, and the voice steps run once more on a new one (`ivr.voice.steps`).
    """
    dialect = engine.dialect

    def working(_dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        record.info[_CHECKED_IN] = time.monotonic()

    def checked_out(dbapi_connection: Any, record: ConnectionPoolEntry, _proxy: object) -> None:
        if time.monotonic() - record.info.get(_CHECKED_IN, 0.0) < PING_AFTER_IDLE_S:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as error:
            # The pool discards this connection and hands out a new one.
            raise DisconnectionError(f"pooled connection lost: {error}") from error

    event.listen(engine.pool, "connect", working)
    event.listen(engine.pool, "checkin", working)
    event.listen(engine.pool, "checkout", checked_out)


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    # Rows stay readable after commit: handlers commit, then answer with them.
    return sessionmaker(bind=engine, expire_on_commit=False)


@dataclass(frozen=True, slots=True)
class Database:
    engine: Engine
    sessions: sessionmaker[Session]

    @contextmanager
    def session_scope(self) -> Iterator[Session]:
        """One unit of work: commit when the block ends, roll back if it raises."""
        with self.sessions.begin() as session:
            yield session

    @contextmanager
    def write_connection(self) -> Iterator[Connection]:
        """A transaction without the ORM (hot paths): committed when the block ends."""
        with self.engine.begin() as connection:
            yield connection

    @contextmanager
    def read_connection(self) -> Iterator[Connection]:
        """A connection to read from, in no transaction (`read_options`)."""
        options = read_options(self.engine.dialect.name)
        with self.engine.connect().execution_options(**options) as connection:
            yield connection


def read_options(dialect_name: str) -> dict[str, Any]:
    """Execution options of `read_connection`: each read sees the last commit.

    SQLite: no BEGIN, so no write lock (`_sqlite_begin`). PostgreSQL:
    autocommit, so a read is one round trip (no BEGIN, no ROLLBACK), and a
    single-statement write is its own transaction.
    """
    if dialect_name == "sqlite":
        return {READ_ONLY: True}
    return {"isolation_level": "AUTOCOMMIT"}


def write_options(connection: Connection) -> dict[str, Any]:
    """Execution options that turn a `read_connection` back into transactions."""
    if connection.dialect.name == "sqlite":
        return {READ_ONLY: False}
    return {"isolation_level": connection.default_isolation_level}


def init_app(app: Flask) -> Database:
    """Build the engine for `app.config["DATABASE_URL"]` and register teardown."""
    db = Database(engine := make_engine(app.config["DATABASE_URL"]), make_sessionmaker(engine))
    app.extensions["callbook"] = db
    app.teardown_appcontext(_close_session)
    return db


def database(app: Flask | None = None) -> Database:
    return (app or current_app).extensions["callbook"]  # type: ignore[no-any-return]


def session_scope(app: Flask | None = None) -> AbstractContextManager[Session]:
    """`Database.session_scope` of `app` (default: the current app)."""
    return database(app).session_scope()


def write_connection(app: Flask | None = None) -> AbstractContextManager[Connection]:
    """`Database.write_connection` of `app` (default: the current app)."""
    return database(app).write_connection()


def read_connection(app: Flask | None = None) -> AbstractContextManager[Connection]:
    """`Database.read_connection` of `app` (default: the current app)."""
    return database(app).read_connection()


def get_session() -> Session:
    """The session of the current app context (request), created on first use."""
    if "callbook_session" not in g:
        g.callbook_session = database().sessions()
    return g.callbook_session  # type: ignore[no-any-return]


def _close_session(_exc: BaseException | None) -> None:
    session = g.pop("callbook_session", None)
    if session is not None:
        session.close()
