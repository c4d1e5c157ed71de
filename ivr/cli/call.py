"""`ivr call`: the console phone."""

from __future__ import annotations

import sys
from collections import deque
from datetime import datetime
from zoneinfo import ZoneInfo

import click


def _moment(text: str | None, zone: str) -> datetime | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.strip().replace(" ", "T", 1))
    except ValueError as exc:
        raise click.BadParameter(
            f"'{text}' is not a date and time (e.g. 2026-12-24 17:45)"
        ) from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo(zone))


@click.command("call")
@click.option("--at", "at", help="Moment of the call, e.g. '2026-12-24 17:45' (local time).")
@click.option("--from", "caller", default="+33612345678", show_default=True, help="Caller number.")
@click.option("--to", "called", default=None, help="Number called (default: the service's).")
@click.option(
    "--press", multiple=True, help="Keys (or a French phrase) for each menu, in order; repeatable."
)
@click.option(
    "--dial",
    multiple=True,
    type=click.Choice(["answer", "no-answer", "busy", "failed"]),
    help="Outcome of each transfer, in order; repeatable.",
)
@click.option("--message", "seconds", default=20, show_default=True, help="Voicemail length (s).")
def call(
    at: str | None,
    caller: str,
    called: str | None,
    press: tuple[str, ...],
    dial: tuple[str, ...],
    seconds: int,
) -> None:
    """Call the service from the terminal and print what the caller hears.

    Drives the real webhooks in-process with signed requests, so the call is
    routed by the active configuration and written to the call book. Without
    --press/--dial it asks on the terminal; with them it runs the script and
    exits non-zero if the service answers something Twilio could not use.
    """
    from ivr.app import create_app
    from ivr.cli.console import ConsoleCall, ProtocolError, Script
    from ivr.runtime import NoActiveConfig, current_config
    from ivr.settings import get_settings
    from schedules import clock

    settings = get_settings()
    moment = _moment(at, settings.default_timezone)
    app = create_app(settings)
    scripted = bool(press or dial)
    script = Script(deque(press), deque(dial), seconds, interactive=not scripted)
    with app.app_context():
        try:
            _, doc = current_config()
        except NoActiveConfig as exc:
            raise click.ClickException(str(exc)) from exc
        target = called or doc.service.numbers[0]
    session = ConsoleCall(app, caller, target, script, echo=click.echo)
    try:
        if moment is not None:
            click.echo(f"[{moment:%A %Y-%m-%d %H:%M} {moment.tzinfo}]")
            with clock.frozen_at(moment):
                session.run()
        else:
            session.run()
    except ProtocolError as exc:
        click.echo(f"protocol error: {exc}", err=True)
        sys.exit(1)
    except (EOFError, KeyboardInterrupt):
        click.echo("\n(raccroché)")
