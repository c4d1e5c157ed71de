"""What the command modules share: the app in its context, the author of a change."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from flask import Flask


def default_author() -> str:
    return os.environ.get("USER") or "cli"


AUTHOR = click.option(
    "--author",
    default=default_author,
    help="Name recorded with the change (default: $USER, else 'cli').",
)


@contextmanager
def app_context() -> Iterator[Flask]:
    """The app, in its context; database failures become a message and exit code 1."""
    from alembic.util import CommandError
    from sqlalchemy.exc import SQLAlchemyError

    from callbook.db import database
    from ivr.app import create_app

    try:
        app = create_app()
    except (SQLAlchemyError, CommandError) as exc:
        raise click.ClickException(f"database error: {reason(exc)}") from exc
    try:
        with app.app_context():
            yield app
    except SQLAlchemyError as exc:
        raise click.ClickException(
            f"database error: {reason(exc)} (has `ivr db upgrade` been run?)"
        ) from exc
    finally:
        database(app).engine.dispose()


def reason(exc: Exception) -> str:
    """The driver's own message, without SQLAlchemy's statement and help link."""
    return str(getattr(exc, "orig", None) or exc).strip()
