"""Alembic, run from our code: the migrations ship inside the package.

A "schema version" here is an Alembic revision id (0001, 0002…), not to be
confused with the configuration revisions stored in the database.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from callbook.db import make_engine

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str) -> Config:
    """An Alembic configuration without alembic.ini, for the database at `url`."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("path_separator", "os")
    # The option value goes through configparser interpolation: a '%' of a
    # percent-encoded password must be doubled.
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade_database(url: str) -> None:
    """Bring the database at `url` to the newest schema; a no-op when it is current."""
    config = alembic_config(url)
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    finally:
        engine.dispose()


def schema_version(engine: Engine) -> str | None:
    """The schema version of the database; None when it was never migrated."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def expected_schema_version() -> str | None:
    """The newest schema version this code ships."""
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
