"""No voice webhook waits long for the database: a budget, then the spool answers.

Twilio gives up on a webhook after 15 s; a caller hears silence long before.
Whatever holds the database (SQLite's lock taken by a process outside the
writers' queue, the queue itself held, a PostgreSQL row lock), a voice
webhook waits at most `IVR_VOICE_DB_BUDGET_SECONDS` in all, then answers
from the spool; /healthz/voice says `degraded` while the spool holds entries.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from flask import Flask
from sqlalchemy import make_url, text

from callbook.db import database
from ivr.voice.replay import replay
from ivr.voice.spool import spool_of
from schedules import clock
from tests.conftest import paris
from tests.voice_client import Twilio

TUESDAY_10H = paris(2026, 12, 1, 10, 0)
HOTLINE = ["+33199002000", "+33199002001"]
BUDGET = 0.5
# The budget, plus what the step itself costs on a busy 2-core machine: far below the
# five seconds of SQLite's busy timeout (or the writers' queue) that applied before.
BOUND = BUDGET + 1.0


@pytest.fixture
def budget_app(app: Flask) -> Flask:
    settings = app.config["IVR_SETTINGS"]
    app.config["IVR_SETTINGS"] = settings.model_copy(update={"voice_db_budget_seconds": BUDGET})
    return app


def sqlite_file(app: Flask) -> str:
    url = make_url(app.config["DATABASE_URL"])
    if url.get_backend_name() != "sqlite":
        pytest.skip("an SQLite lock")
    return str(url.database)


@contextmanager
def sqlite_lock_outside_the_queue(app: Flask) -> Iterator[None]:
    """SQLite's write lock held as the `sqlite3` shell would hold it."""
    holder = sqlite3.connect(sqlite_file(app), isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        yield
    finally:
        holder.execute("ROLLBACK")
        holder.close()


@contextmanager
def writers_queue_held(app: Flask) -> Iterator[None]:
    """The writers' queue held by a stuck process of this service."""
    fd = os.open(sqlite_file(app) + "-writers", os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


@contextmanager
def call_row_locked(app: Flask, call_sid: str) -> Iterator[None]:
    """A PostgreSQL transaction holding the call's row lock."""
    if make_url(app.config["DATABASE_URL"]).get_backend_name() != "postgresql":
        pytest.skip("a PostgreSQL row lock")
    with database(app).engine.connect() as holder, holder.begin():
        holder.execute(
            text("SELECT id FROM calls WHERE call_sid = :sid FOR UPDATE"), {"sid": call_sid}
        )
        yield


def timed_menu_choice(phone: Twilio) -> tuple[float, list[str]]:
    started = time.monotonic()
    twiml = phone.step("/voice/menu", {"Digits": "1"})
    return time.monotonic() - started, twiml.dialed


def health(app: Flask) -> dict[str, object]:
    return app.test_client().get("/healthz/voice").get_json()  # type: ignore[no-any-return]


@pytest.mark.parametrize("hold", [sqlite_lock_outside_the_queue, writers_queue_held])
def test_a_locked_sqlite_costs_a_webhook_its_budget_then_the_spool_answers(
    budget_app: Flask, hold: object
) -> None:
    phone = Twilio(budget_app)
    with clock.frozen_at(TUESDAY_10H):
        phone.step("/voice/incoming")
        assert health(budget_app)["status"] == "ok"
        with hold(budget_app):  # type: ignore[operator]
            took, dialed = timed_menu_choice(phone)
        assert took < BOUND
        assert dialed == HOTLINE  # the caller is routed all the same
        status = health(budget_app)
        assert status["status"] == "degraded"
        assert status["spool"]["pending"] == 1  # type: ignore[index]
        spool_of(budget_app).mark_up()
        assert replay(budget_app).replayed == 1
    assert health(budget_app)["status"] == "ok"


def test_a_row_lock_on_postgresql_costs_a_webhook_its_budget(budget_app: Flask) -> None:
    phone = Twilio(budget_app)
    with clock.frozen_at(TUESDAY_10H):
        phone.step("/voice/incoming")
        with call_row_locked(budget_app, phone.call_sid):
            took, dialed = timed_menu_choice(phone)
        assert took < BOUND
        assert dialed == HOTLINE
        assert health(budget_app)["status"] == "degraded"
