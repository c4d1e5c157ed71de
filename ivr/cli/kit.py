"""What the command modules share: the app in its context, the author of a change,
a progress bar for long work."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, TextIO

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


Step = Callable[[int], None]


def on_terminal(stream: TextIO | None = None) -> bool:
    """Whether `stream` (default: standard error, where bars go) is a terminal."""
    return (stream or sys.stderr).isatty()


def _quiet(steps: int) -> None:
    """What advances no bar."""


@contextmanager
def progress(length: int, label: str, stream: TextIO | None = None) -> Iterator[Step]:
    """A progress bar of `length` steps on standard error when it is a terminal.

    Yields the function that advances the bar by n steps. When standard
    error is not a terminal (a pipe, a file, cron, a test runner) that
    function does nothing: the command stays quiet instead of writing bar
    lines into a log.
    """
    out = stream or sys.stderr
    if not on_terminal(out):
        yield _quiet
        return
    with click.progressbar(length=length, label=label, file=out, show_eta=True) as bar:
        yield bar.update
