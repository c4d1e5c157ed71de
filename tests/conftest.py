"""Shared fixtures: the real calendars and rota of the hotline rules; app, database, CLI."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner, Result
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import MetaData

from callbook.db import database, make_engine, session_scope
from callbook.db.schema import upgrade_database
from ivr.app import create_app
from ivr.cli import main as cli_main
from ivr.runtime import install_demo_if_empty
from ivr.settings import Settings, get_settings
from schedules import Calendar, OnCallSchedule, Rota
from tests.smtp_server import SmtpServer

PARIS = ZoneInfo("Europe/Paris")
WORKING_WEEK = ("mon", "tue", "wed", "thu", "fri")


def paris(*args: int) -> datetime:
    return datetime(*args, tzinfo=PARIS)  # type: ignore[misc]


def weekdays(*ranges: str) -> dict[str, list[str]]:
    return {day: list(ranges) for day in WORKING_WEEK}


@pytest.fixture
def hotline() -> Calendar:
    """Source 000: Mon-Fri 09:00-12:00 and 14:00-17:30, French public holidays."""
    return Calendar.model_validate({"weekly": weekdays("09:00-12:00", "14:00-17:30")})


@pytest.fixture
def oncall() -> OnCallSchedule:
    """Source 000: three technicians, weekly handover on Monday 09:00."""
    return OnCallSchedule(
        rota=Rota(members=["alice", "bruno", "chloe"], anchor=date(2026, 1, 5)),
    )


# -- the database, the app and the command line ---------------------------------
#
# Tests run on an SQLite file in tmp_path, or on the database named by
# IVR_TEST_DATABASE_URL (for example postgresql+psycopg://postgres@127.0.0.1/test),
# which is emptied before each test that uses it.


SECRET_KEY = "tests-only-secret-key-0123456789abcdef"
TEST_URL = "http://localhost"
"""The base URL of Flask's test client: the public URL of the tests' deployments."""


def deployment_settings(**values: Any) -> Settings:
    """Settings of a deployment (explicit database or Twilio credentials).

    A deployment refuses to start without a secret key and a public URL (or
    a trusted proxy): these get the tests' own unless `values` give them.
    """
    values.setdefault("secret_key", SECRET_KEY)
    if not values.get("trust_proxy"):
        values.setdefault("public_url", TEST_URL)
    return Settings(**values)


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """IVR_TEST_DATABASE_URL if set, else a fresh SQLite file; contents unspecified."""
    return os.environ.get("IVR_TEST_DATABASE_URL") or f"sqlite:///{tmp_path / 'ivr.sqlite3'}"


@pytest.fixture
def empty_database(database_url: str) -> str:
    """The test database with every table dropped, alembic_version included."""
    engine = make_engine(database_url)
    try:
        with engine.begin() as connection:
            existing = MetaData()
            existing.reflect(connection)
            existing.drop_all(connection)
    finally:
        engine.dispose()
    return database_url


@pytest.fixture
def migrated_database(empty_database: str) -> str:
    """The test database at the newest schema, with no configuration revision."""
    upgrade_database(empty_database)
    return empty_database


@pytest.fixture
def app(migrated_database: str, tmp_path: Path) -> Iterator[Flask]:
    """The service on the test database, the demo configuration active as revision 1."""
    settings = deployment_settings(
        instance_dir=tmp_path / "instance", database_url=migrated_database
    )
    app = create_app(settings)
    app.config["TESTING"] = True
    with session_scope(app) as session:
        install_demo_if_empty(session)
    yield app
    database(app).engine.dispose()


@pytest.fixture
def twilio_app(migrated_database: str, tmp_path: Path) -> Iterator[Flask]:
    """The service with Twilio credentials, the demo configuration active (its REST
    API answered by `tests.fake_twilio.fake_twilio`)."""
    settings = deployment_settings(
        instance_dir=tmp_path / "instance",
        database_url=migrated_database,
        twilio_account_sid="AC" + "0" * 32,
        twilio_auth_token="test-auth-token",  # type: ignore[arg-type]
    )
    app = create_app(settings)
    with session_scope(app) as session:
        install_demo_if_empty(session)
    yield app
    database(app).engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


class IvrRunner:
    """Runs `ivr ...` in-process against one instance folder and database.

    An exception other than an exit fails the test: commands must answer with
    a message and an exit code, never a traceback.
    """

    def __init__(self, instance_dir: Path, database_url: str) -> None:
        self.env: dict[str, str | None] = {
            "IVR_INSTANCE_DIR": str(instance_dir),
            "IVR_DATABASE_URL": database_url,
            "IVR_SECRET_KEY": SECRET_KEY,
            "IVR_PUBLIC_URL": TEST_URL,
            "USER": "tester",
        }
        self._runner = CliRunner()

    def invoke(
        self, *args: str, env: dict[str, str | None] | None = None, input: str | None = None
    ) -> Result:
        get_settings.cache_clear()  # the CLI reads settings from this environment
        try:
            result = self._runner.invoke(
                cli_main, list(args), env={**self.env, **(env or {})}, input=input
            )
        finally:
            get_settings.cache_clear()
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        return result


@pytest.fixture
def make_runner() -> Callable[[Path, str], IvrRunner]:
    return IvrRunner


@pytest.fixture
def runner(app: Flask) -> IvrRunner:
    """`ivr` commands on the same instance folder and database as `app`."""
    return IvrRunner(Path(app.instance_path), app.config["DATABASE_URL"])


# -- the admin interface ------------------------------------------------------------

ADMIN_PASSWORD = "correct horse battery"


@pytest.fixture
def login_as(app: Flask) -> Callable[..., FlaskClient]:
    """`login_as("viewer")`: a new client logged in as a fresh user with that role.

    The user is `<role>1` (display name "<Role> Test") with ADMIN_PASSWORD; the
    client carries a CSRF token, readable as `client.csrf_token`. A referent
    belongs to `structure` (the demo's "auvergne" unless given), and is
    `referent-<structure>` for another structure.
    """
    from callbook.accounts.users import create_user, get_user
    from ivr.admin.auth import SESSION_USER, SESSION_VERSION
    from schedules import clock

    def login(role: str, structure: str = "auvergne") -> FlaskClient:
        username = f"{role}1" if structure == "auvergne" else f"{role}-{structure}"
        with session_scope(app) as session:
            user = get_user(session, username) or create_user(
                session,
                username,
                ADMIN_PASSWORD,
                role=role,
                display_name=f"{role.title()} Test",
                structure=structure if role == "referent" else None,
                actor="test",
                now=clock.now(),
            )
            user_id, version = user.id, user.session_version
        client = app.test_client()
        with client.session_transaction() as flask_session:
            flask_session[SESSION_USER] = user_id
            flask_session[SESSION_VERSION] = version
            flask_session["csrf_token"] = f"token-of-{username}"
        client.csrf_token = f"token-of-{username}"  # type: ignore[attr-defined]
        return client

    return login


# -- e-mail: a real SMTP server started by the test ------------------------------


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    """An SMTP server on 127.0.0.1 and a free port; `.inbox` holds what it accepted."""
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def mail_app(migrated_database: str, tmp_path: Path, smtp: SmtpServer) -> Iterator[Flask]:
    """The service with e-mail through `smtp` (and Twilio credentials, its REST API faked
    by tests that send SMS), the demo configuration active."""
    settings = deployment_settings(
        instance_dir=tmp_path / "instance",
        database_url=migrated_database,
        twilio_account_sid="AC" + "0" * 32,
        twilio_auth_token="test-auth-token",  # type: ignore[arg-type]
        smtp_host="127.0.0.1",
        smtp_port=smtp.port,
        smtp_tls="none",
        smtp_from="Assistance <assistance@example.org>",
        hotline_email="hotline@example.org",
        outbox_max_attempts=3,
    )
    app = create_app(settings)
    app.config["TESTING"] = True
    with session_scope(app) as session:
        install_demo_if_empty(session)
    yield app
    database(app).engine.dispose()
