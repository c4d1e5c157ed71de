"""`ivr scheduler` and `ivr jobs run`: the background work (`ivr.jobs`)."""

from __future__ import annotations

import logging

import click

JOB_NAMES = ("dispatch", "queue", "deadlines", "sweep", "purge", "recordings", "replay", "outbox")


@click.command("scheduler")
def scheduler() -> None:
    """Run the scheduler: callbacks, waiting callers, deadlines, sweep, purge, recording deletions.

    Several may run (one per machine): a lease in the database elects the
    active one and the others wait as hot standbys, taking over within
    IVR_SCHEDULER_LEASE_SECONDS when it stops. `ivr serve` starts one unless
    --no-scheduler. SIGTERM or Ctrl-C stops it cleanly and hands over at once.
    """
    import signal
    from datetime import timedelta

    from ivr.app import create_app
    from ivr.jobs.scheduler import Leadership, build

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
    from ivr.jobs.scheduler import jobs

    app = create_app()
    with app.app_context():
        result = jobs(app)[name]()
    click.echo(f"{name}: {result}")
