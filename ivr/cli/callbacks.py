"""`ivr callbacks …`: the callbacks to place, listed, started now, rescheduled or cancelled."""

from __future__ import annotations

import click

from callbook.labels import label
from ivr.cli.kit import default_author


@click.group("callbacks")
def callbacks_group() -> None:
    """Callbacks to place: list them, start one now, reschedule or cancel it."""


@callbacks_group.command("list")
@click.option("--all", "show_all", is_flag=True, help="Include done, failed and cancelled ones.")
def callbacks_list(show_all: bool) -> None:
    """One line per callback: id, status, due (local time), attempts, caller, ticket."""
    from zoneinfo import ZoneInfo

    from callbook.db import session_scope
    from callbook.tickets import Ticket, dispatch
    from ivr.app import create_app

    app = create_app()
    zone = ZoneInfo(app.config["IVR_SETTINGS"].default_timezone)
    statuses = None if show_all else ("held", "pending", "claimed", "dialing")
    with session_scope(app) as session:
        rows = dispatch.listing(session, statuses)
        for cb in rows:
            ticket = session.get(Ticket, cb.ticket_id) if cb.ticket_id else None
            status, kind = (
                label("callback_status", cb.status, "en"),
                label("callback_kind", cb.kind, "en"),
            )
            click.echo(
                f"{cb.id:>6}  {status:<14} {cb.due_at.astimezone(zone):%Y-%m-%d %H:%M}  "
                f"{cb.attempts} try  {kind:<18} {cb.caller_number:<16} "
                f"ticket {ticket.number if ticket else '-'}  {cb.last_error}"
            )
        if not rows:
            click.echo("no callback")


def _change(callback_id: int, change: str, when: str | None = None) -> None:
    """Cancel or reschedule one callback, audited under `cli:$USER` as on the admin pages."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from callbook.db import session_scope
    from callbook.tickets import actions, dispatch
    from ivr.app import create_app
    from schedules import clock

    app = create_app()
    zone = ZoneInfo(app.config["IVR_SETTINGS"].default_timezone)
    now, actor = clock.now(), f"cli:{default_author()}"
    with session_scope(app) as session:
        callback = dispatch.get(session, callback_id)
        if callback is None:
            raise click.ClickException(f"no callback {callback_id}: see `ivr callbacks list`")
        try:
            if change == "cancel":
                actions.cancel(session, callback, actor=actor, now=now)
            elif when is None:
                actions.call_now(session, callback, actor=actor, now=now)
            else:
                try:
                    due = datetime.fromisoformat(when.replace(" ", "T", 1))
                except ValueError as exc:
                    raise click.BadParameter(f"'{when}' is not a date and time") from exc
                due = due if due.tzinfo else due.replace(tzinfo=zone)
                actions.reschedule(session, callback, due, actor=actor, now=now)
        except actions.ActionRefused as exc:
            # The cause is the refusal in English, as every message of the command line.
            raise click.ClickException(str(exc.__cause__ or exc)) from exc
        due_text = f"{callback.due_at.astimezone(zone):%Y-%m-%d %H:%M}"
        shown = label("callback_status", callback.status, "en")
        click.echo(f"callback {callback_id}: {shown}, due {due_text}")


@callbacks_group.command("call-now")
@click.argument("callback_id", type=int)
def callbacks_call_now(callback_id: int) -> None:
    """Place callback CALLBACK_ID at the next dispatch (within seconds): click-to-call."""
    _change(callback_id, "now")


@callbacks_group.command("reschedule")
@click.argument("callback_id", type=int)
@click.argument("when")
def callbacks_reschedule(callback_id: int, when: str) -> None:
    """Make callback CALLBACK_ID due at WHEN ('2026-12-28 14:00', local time)."""
    _change(callback_id, "reschedule", when)


@callbacks_group.command("cancel")
@click.argument("callback_id", type=int)
def callbacks_cancel(callback_id: int) -> None:
    """Cancel callback CALLBACK_ID (the ticket stays open)."""
    _change(callback_id, "cancel")
