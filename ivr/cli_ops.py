"""`ivr scheduler` and `ivr jobs run`: the background work."""

from __future__ import annotations

import logging

import click

JOB_NAMES = ("dispatch", "deadlines", "sweep", "purge", "recordings", "replay")


@click.command("scheduler")
def scheduler() -> None:
    """Run the scheduler: callbacks, deadline warnings, call sweep, purge, recording deletions.

    Several may run (one per machine): a lease in the database elects the
    active one and the others wait as hot standbys, taking over within
    IVR_SCHEDULER_LEASE_SECONDS when it stops. `ivr serve` starts one unless
    --no-scheduler. SIGTERM or Ctrl-C stops it cleanly and hands over at once.
    """
    import signal
    from datetime import timedelta

    from ivr.app import create_app
    from ivr.scheduler import Leadership, build

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # not a line per lease renewal
    app = create_app()
    seconds = app.config["IVR_SETTINGS"].scheduler_lease_seconds
    leadership = Leadership(app, ttl=timedelta(seconds=seconds))
    background = build(app, leadership)
    signal.signal(signal.SIGTERM, _stop)
    click.echo(f"ivr: scheduler {leadership.holder} started")
    try:
        background.start()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        if background.running:
            background.shutdown(wait=True)  # let a running job finish first
        leadership.release()
        click.echo("ivr: scheduler stopped")


def _stop(_signum: int, _frame: object) -> None:
    raise SystemExit(0)


@click.group("jobs")
def jobs_group() -> None:
    """Run one scheduler job now, in this process."""


@jobs_group.command("run")
@click.argument("name", type=click.Choice(JOB_NAMES))
def jobs_run(name: str) -> None:
    """Run job NAME once and print its result."""
    from ivr.app import create_app
    from ivr.scheduler import jobs

    app = create_app()
    with app.app_context():
        result = jobs(app)[name]()
    click.echo(f"{name}: {result}")


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
    statuses = None if show_all else ("pending", "claimed", "dialing")
    with session_scope(app) as session:
        rows = dispatch.listing(session, statuses)
        for cb in rows:
            ticket = session.get(Ticket, cb.ticket_id) if cb.ticket_id else None
            click.echo(
                f"{cb.id:>6}  {cb.status:<9} {cb.due_at.astimezone(zone):%Y-%m-%d %H:%M}  "
                f"{cb.attempts} try  {cb.kind:<8} {cb.caller_number:<16} "
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
    from ivr.cli import _default_author
    from schedules import clock

    app = create_app()
    zone = ZoneInfo(app.config["IVR_SETTINGS"].default_timezone)
    now, actor = clock.now(), f"cli:{_default_author()}"
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
        click.echo(f"callback {callback_id}: {callback.status}, due {due_text}")


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
