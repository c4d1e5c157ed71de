"""The `ivr` command line: verb-noun commands, one group per surface."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import click

from ivr.settings import SettingsRefused, get_settings

if TYPE_CHECKING:
    from flask import Flask
    from sqlalchemy.orm import Session

    from callbook.history.models import ConfigRevision
    from ivr.config import ConfigDocument, ConfigInvalid


class _Group(click.Group):
    """Settings that do not let the service start: their message and exit code 1."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except SettingsRefused as exc:
            raise click.ClickException(str(exc)) from exc


@click.group(cls=_Group)
def main() -> None:
    """IVR hotline service: webhooks for Twilio, call book, schedules."""


@main.command()
@click.option("--host", default=None, help="Address to listen on (default: IVR_HOST).")
@click.option("--port", default=None, type=int, help="Port (default: IVR_PORT).")
@click.option("--workers", default=None, type=int, help="Web workers (default: IVR_WORKERS).")
@click.option(
    "--scheduler/--no-scheduler",
    default=True,
    show_default=True,
    help="Also run the scheduler (one process, beside the web workers).",
)
def serve(host: str | None, port: int | None, workers: int | None, scheduler: bool) -> None:
    """Run the web service under gunicorn (embedded SQLite and demo configuration by default)."""
    import subprocess
    import sys

    from ivr.app import create_app
    from ivr.server import GunicornServer

    settings = get_settings()
    app = create_app(settings)
    bind = f"{host or settings.host}:{port or settings.port}"
    click.echo(f"ivr: serving on http://{bind}  (database: {settings.effective_database_url})")
    # The scheduler is its own process, never one per web worker.
    child = subprocess.Popen([sys.executable, "-m", "ivr.cli", "scheduler"]) if scheduler else None
    try:
        GunicornServer(
            app, {"bind": bind, "workers": workers or settings.workers, "accesslog": "-"}
        ).run()
    finally:
        if child is not None:
            child.terminate()
            child.wait(timeout=10)


# -- helpers shared by the commands below --------------------------------------


def _default_author() -> str:
    return os.environ.get("USER") or "cli"


AUTHOR = click.option(
    "--author",
    default=_default_author,
    help="Name recorded with the change (default: $USER, else 'cli').",
)
INPUT_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


@contextmanager
def _app_context() -> Iterator[Flask]:
    """The app, in its context; database failures become a message and exit code 1."""
    from alembic.util import CommandError
    from sqlalchemy.exc import SQLAlchemyError

    from callbook.db import database
    from ivr.app import create_app

    try:
        app = create_app()
    except (SQLAlchemyError, CommandError) as exc:
        raise click.ClickException(f"database error: {_reason(exc)}") from exc
    try:
        with app.app_context():
            yield app
    except SQLAlchemyError as exc:
        raise click.ClickException(
            f"database error: {_reason(exc)} (has `ivr db upgrade` been run?)"
        ) from exc
    finally:
        database(app).engine.dispose()


def _reason(exc: Exception) -> str:
    """The driver's own message, without SQLAlchemy's statement and help link."""
    return str(getattr(exc, "orig", None) or exc).strip()


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise click.ClickException(f"cannot read {path}: {exc}") from exc


UNCHANGED = "the active revision is unchanged"


def _validate(path: Path, *, refused: str) -> ConfigDocument:
    """The document of FILE; on problems, list them all on stderr and exit 1."""
    from ivr.config import ConfigInvalid, load_yaml_text

    try:
        return load_yaml_text(_read(path))
    except ConfigInvalid as exc:
        _refuse(exc, refused)


def _refuse(exc: ConfigInvalid, summary: str) -> NoReturn:
    """Every problem on its own line (path: message), then `summary`; exit code 1."""
    for problem in exc.problems:
        click.echo(str(problem), err=True)
    count = len(exc.problems)
    click.echo(f"{summary} ({count} problem{'s' if count > 1 else ''})", err=True)
    raise click.exceptions.Exit(1)


def _warn_coverage(doc: ConfigDocument) -> None:
    from ivr.config import coverage_warnings
    from schedules import clock

    for problem in coverage_warnings(doc, clock.now()):
        click.echo(f"warning: {problem}", err=True)


# -- ivr db ---------------------------------------------------------------------


@main.group("db")
def db_group() -> None:
    """The database: schema migrations."""


@db_group.command("upgrade")
def db_upgrade() -> None:
    """Bring the database schema up to date; running it again changes nothing."""
    from sqlalchemy import make_url

    from callbook.db import database
    from callbook.db.schema import schema_version, upgrade_database

    with _app_context() as app:
        url = app.config["DATABASE_URL"]
        upgrade_database(url)
        version = schema_version(database(app).engine)
        shown = make_url(url).render_as_string(hide_password=True)
        click.echo(f"database {shown} at schema version {version}")


# -- ivr config -------------------------------------------------------------------


@main.group("config")
def config_group() -> None:
    """Routing configuration: validate, import, export, history, roll back.

    Every import is validated as a whole and stored as a new numbered
    revision; calls use the active one.
    """


@config_group.command("check")
@click.argument("file", type=INPUT_FILE)
def config_check(file: Path) -> None:
    """Validate FILE without storing it: list every problem, then coverage warnings.

    Exits 1 when the file is invalid. Needs no database.
    """
    doc = _validate(file, refused=f"{file} is invalid")
    click.echo(f"{file}: valid")
    _warn_coverage(doc)


@config_group.command("import")
@click.argument("file", type=INPUT_FILE)
@click.option("--comment", default=None, help="Why (default: 'imported from FILE').")
@AUTHOR
def config_import(file: Path, comment: str | None, author: str) -> None:
    """Validate FILE and store it as a new revision, active at once.

    An invalid file is refused with every problem listed (path: message),
    exit code 1, and the active revision is left as it was. The audit log
    names AUTHOR, as for a publication on the admin pages.
    """
    from callbook.db import session_scope
    from callbook.history.revisions import active_revision
    from ivr.admin.drafts import record_publication
    from ivr.config.revisions import save_revision

    doc = _validate(file, refused=f"{file} is refused; {UNCHANGED}")
    with _app_context(), session_scope() as session:
        previous = active_revision(session)
        rev = save_revision(
            session, doc, author=author, comment=comment or f"imported from {file.name}"
        )
        record_publication(session, rev, previous=previous, actor=author)
        click.echo(f"revision {rev.id} active")
    _warn_coverage(doc)


@config_group.command("export")
@click.option("--revision", "number", type=int, help="Revision number (default: the active one).")
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write to this file instead of standard output.",
)
def config_export(number: int | None, output: Path | None) -> None:
    """Print the canonical YAML of the active revision (or of --revision N)."""
    from callbook.db import session_scope
    from callbook.history.revisions import active_revision
    from ivr.config.revisions import canonical_yaml

    with _app_context(), session_scope() as session:
        rev = active_revision(session) if number is None else _revision(session, number)
        if rev is None:
            raise click.ClickException("no revision is active: run `ivr config import FILE`")
        text = canonical_yaml(rev)
    if output is None:
        click.echo(text, nl=False)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise click.ClickException(f"cannot write {output}: {exc}") from exc
    click.echo(f"revision {rev.id} written to {output}", err=True)


@config_group.command("history")
def config_history() -> None:
    """List every revision, oldest first: number, date (local time), author, comment.

    The revision in force is marked 'active'.
    """
    from zoneinfo import ZoneInfo

    from callbook.db import session_scope
    from callbook.history.revisions import active_revision_id, list_revisions

    with _app_context() as app, session_scope() as session:
        zone = ZoneInfo(app.config["IVR_SETTINGS"].default_timezone)
        active = active_revision_id(session)
        revisions = list_revisions(session)
    if not revisions:
        click.echo("no revision yet: run `ivr config import FILE`", err=True)
    width = max((len(r.author) for r in revisions), default=0)
    for rev in revisions:
        when = rev.created_at.astimezone(zone)
        marker = "active" if rev.id == active else ""
        line = f"{rev.id:>4}  {when:%Y-%m-%d %H:%M %Z}  {rev.author:<{width}}  {marker:<6}  "
        click.echo((line + rev.comment).rstrip())


@config_group.command("diff")
@click.argument("a", type=int)
@click.argument("b", type=int)
def config_diff(a: int, b: int) -> None:
    """Show what changed from revision A to revision B (unified diff of their YAML)."""
    from callbook.db import session_scope
    from ivr.config.revisions import diff_revisions

    with _app_context(), session_scope() as session:
        text = diff_revisions(_revision(session, a), _revision(session, b))
    if text:
        click.echo(text, nl=False)
    else:
        click.echo(f"revisions {a} and {b} are identical", err=True)


@config_group.command("activate")
@click.argument("number", type=int)
@AUTHOR
def config_activate(number: int, author: str) -> None:
    """Make revision NUMBER the active one again: the way to roll back.

    A revision whose document no longer validates is refused with its problems.
    The audit log names AUTHOR, as for a rollback on the admin pages.
    """
    from callbook.db import session_scope
    from callbook.history.revisions import UnknownRevision
    from ivr.admin.drafts import roll_back
    from ivr.config import ConfigInvalid

    with _app_context(), session_scope() as session:
        try:
            roll_back(session, number, actor=author)
        except UnknownRevision as exc:
            raise click.ClickException(f"{exc}: see `ivr config history`") from exc
        except ConfigInvalid as exc:
            _refuse(exc, f"revision {number} is refused; {UNCHANGED}")
    click.echo(f"revision {number} active")


def _revision(session: Session, number: int) -> ConfigRevision:
    from callbook.history.revisions import get_revision

    rev = get_revision(session, number)
    if rev is None:
        raise click.ClickException(f"no revision {number}: see `ivr config history`")
    return rev


def _register() -> None:
    from ivr.cli_call import call
    from ivr.cli_callbook import callbook
    from ivr.cli_ops import callbacks_group, jobs_group, scheduler
    from ivr.cli_users import users_group

    main.add_command(call)
    main.add_command(callbook)
    main.add_command(scheduler)
    main.add_command(jobs_group)
    main.add_command(callbacks_group)
    main.add_command(users_group)


_register()

if __name__ == "__main__":  # pragma: no cover
    main()
