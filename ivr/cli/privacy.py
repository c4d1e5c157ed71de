"""`ivr callbook erase` and `ivr callbook subject-access`: a caller's rights (GDPR).

Registered on the `callbook` group by `ivr.cli`. Both take the caller's
number as typed (`06 12 34 56 78`, `+33612345678`) and work on its E.164
form, the one calls are stored with. The number itself never reaches the
audit log: only its hash (`callbook.privacy.subject_hash`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ivr.cli.kit import AUTHOR, app_context

if TYPE_CHECKING:
    from flask import Flask

    from ivr.privacy import Erasure

KINDS = ("calls", "events", "motives", "tickets", "messages", "callbacks", "contacts", "outbox")


def _number(text: str) -> str:
    from ivr.privacy import InvalidNumber, normalise_caller

    try:
        return normalise_caller(text)
    except InvalidNumber as exc:
        raise click.BadParameter(
            f"{text!r} is not a phone number (e.g. 06 12 34 56 78 or +33612345678)",
            param_hint="'--caller'",
        ) from exc


def _service_number(number: str) -> click.BadParameter:
    return click.BadParameter(
        f"{number} is one of the service's own numbers, not a caller's", param_hint="'--caller'"
    )


CALLER = click.option(
    "--caller", required=True, help="The caller's number: 06 12 34 56 78 or +33612345678."
)


def say_recordings_wait(app: Flask) -> None:
    """Say, on standard error, how many recordings wait for deletion at Twilio, and why."""
    from callbook.db import session_scope
    from callbook.privacy.recordings import waiting_count

    with session_scope(app) as session:
        waiting = waiting_count(session)
    if not waiting:
        return
    settings = app.config["IVR_SETTINGS"]
    why = (
        "the scheduler's recordings job deletes them (or `ivr jobs run recordings`)"
        if settings.twilio_configured
        else "they wait: set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN"
    )
    click.echo(f"{waiting} recordings to delete at Twilio: {why}", err=True)


def describe(result: Erasure) -> str:
    counts = ", ".join(
        f"{result.counts.get(kind, 0)} {'outbox messages' if kind == 'outbox' else kind}"
        for kind in KINDS
    )
    recordings = result.counts.get("recordings", 0)
    if result.dry_run:
        text = f"would erase caller {result.subject}: {counts}; {recordings} recordings to delete"
        return text + " at Twilio (dry run: nothing changed)"
    text = f"erased caller {result.subject}: {counts}; {recordings} recordings queued for deletion"
    text += " at Twilio"
    if result.revision is not None:
        text += f"; configuration revision {result.revision} stored without the contact"
    return text


@click.command("erase")
@CALLER
@click.option("--dry-run", is_flag=True, help="Count what would be erased; change nothing.")
@AUTHOR
def erase(caller: str, dry_run: bool, author: str) -> None:
    """Erase everything held about one caller's number (right to erasure).

    Calls, motive lines, tickets and callbacks stay for the figures with every
    personal field blanked (an open ticket stays open); call events, recording
    links and transcriptions go; waiting callbacks are cancelled; the contact
    entry leaves the configuration (a new revision); recordings are queued for
    deletion at Twilio. The audit log names the caller by a hash only.
    """
    from callbook.db import session_scope
    from ivr.privacy import ServiceNumber, erase_caller
    from schedules import clock

    number = _number(caller)
    with app_context() as app:
        try:
            with session_scope() as session:
                result = erase_caller(
                    session, number, author=f"cli:{author}", now=clock.now(), dry_run=dry_run
                )
        except ServiceNumber as exc:
            raise _service_number(number) from exc
        if result.nothing:
            click.echo(f"nothing is held about caller {result.subject}")
            return
        click.echo(describe(result))
        if not dry_run:
            say_recordings_wait(app)


@click.command("subject-access")
@CALLER
@AUTHOR
@click.argument("file", type=click.Path(dir_okay=False, writable=True, path_type=Path), default="-")
def subject_access(caller: str, author: str, file: Path) -> None:
    """Write everything held about one caller's number to FILE as JSON (right of access).

    Calls with their events and motives, tickets with their messages and
    history, callbacks, the contact entry and the recordings waiting for
    deletion at Twilio. UTF-8, instants in ISO 8601 (UTC); FILE '-' (the
    default) writes to standard output.
    """
    from callbook.db import session_scope
    from ivr.privacy import ServiceNumber
    from ivr.privacy import subject_access as gather
    from schedules import clock

    number = _number(caller)
    try:
        with app_context(), session_scope() as session:
            data = gather(session, number, author=f"cli:{author}", now=clock.now())
    except ServiceNumber as exc:
        raise _service_number(number) from exc
    text = json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    if str(file) == "-":
        click.echo(text, nl=False)
        return
    try:
        file.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise click.ClickException(f"cannot write {file}: {exc}") from exc
    click.echo(
        f"{len(data['calls'])} calls, {len(data['tickets'])} tickets written to {file}", err=True
    )


COMMANDS = (erase, subject_access)
