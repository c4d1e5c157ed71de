"""`ivr config`: the routing configuration's revisions, from a YAML file and back."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import click

from ivr.cli.kit import AUTHOR, app_context, progress

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from callbook.history.models import ConfigRevision
    from ivr.config import ConfigDocument, ConfigInvalid

INPUT_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


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


# -- ivr config -------------------------------------------------------------------


@click.group("config")
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

    # Problems are listed before any bar starts: they must not share its line.
    doc = _validate(file, refused=f"{file} is refused; {UNCHANGED}")
    with progress(2, f"Importing {file.name}") as step:
        with app_context(), session_scope() as session:
            step(1)
            previous = active_revision(session)
            rev = save_revision(
                session, doc, author=author, comment=comment or f"imported from {file.name}"
            )
            record_publication(session, rev, previous=previous, actor=author)
            number = rev.id
        step(1)
    click.echo(f"revision {number} active")
    _warn_coverage(doc)


@config_group.command("export")
@click.option("--revision", "number", type=int, help="Revision number (default: the active one).")
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write to this file instead of standard output.",
)
def config_export(number: int | None, output: Path | None) -> None:
    """Print the canonical YAML of the active revision (or of --revision N).

    With --output, a progress bar shows on a terminal.
    """
    if output is None:  # the YAML goes to standard output: nothing else is written
        click.echo(_revision_yaml(number)[1], nl=False)
        return
    with progress(2, f"Exporting to {output.name}") as step:
        number, text = _revision_yaml(number)
        step(1)
        try:
            output.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise click.ClickException(f"cannot write {output}: {exc}") from exc
        step(1)
    click.echo(f"revision {number} written to {output}", err=True)


def _revision_yaml(number: int | None) -> tuple[int, str]:
    """(number, canonical YAML) of revision `number`, or of the active one."""
    from callbook.db import session_scope
    from callbook.history.revisions import active_revision
    from ivr.config.revisions import canonical_yaml

    with app_context(), session_scope() as session:
        rev = active_revision(session) if number is None else _revision(session, number)
        if rev is None:
            raise click.ClickException("no revision is active: run `ivr config import FILE`")
        return rev.id, canonical_yaml(rev)


@config_group.command("history")
def config_history() -> None:
    """List every revision, oldest first: number, date (local time), author, comment.

    The revision in force is marked 'active'.
    """
    from zoneinfo import ZoneInfo

    from callbook.db import session_scope
    from callbook.history.revisions import active_revision_id, list_revisions

    with app_context() as app, session_scope() as session:
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

    with app_context(), session_scope() as session:
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

    with app_context(), session_scope() as session:
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
