"""The scheduler process: one per deployment, never one per web worker.

Each job runs inside the app context and reads its work from the database,
which is the source of truth: a job that was missed while the process was
down runs at start (due callbacks first, bounded by their grace period).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

from apscheduler.schedulers.blocking import BlockingScheduler
from flask import Flask

from callbook import retention
from callbook.db import session_scope
from ivr import clock
from ivr.callbacks import Dispatcher
from ivr.deadlines import check_deadlines
from ivr.runtime import active_config

log = logging.getLogger(__name__)


def _job(app: Flask, name: str, work: Callable[[], object]) -> Callable[[], None]:
    def run() -> None:
        with app.app_context():
            try:
                result = work()
            except Exception:  # a failing job must not stop the scheduler
                log.exception("scheduler job %s failed", name)
                return
            if result:
                log.info("scheduler job %s: %s", name, result)

    return run


def jobs(app: Flask, dispatcher: Dispatcher | None = None) -> dict[str, Callable[[], object]]:
    """The scheduler's work, by name (also run directly by tests and `ivr jobs run`)."""
    dispatcher = dispatcher or Dispatcher(app)
    settings = app.config["IVR_SETTINGS"]

    def deadlines() -> object:
        _, doc = active_config(app).get()
        with session_scope(app) as session:
            return check_deadlines(session, doc, clock.now())

    def sweep() -> object:
        with session_scope(app) as session:
            return retention.sweep_open_calls(session, clock.now())

    def purge() -> object:
        cutoff = clock.now() - timedelta(days=settings.retention_days)
        with session_scope(app) as session:
            return retention.purge_older_than(session, cutoff)

    return {"dispatch": dispatcher.run_once, "deadlines": deadlines, "sweep": sweep, "purge": purge}


def build(app: Flask) -> BlockingScheduler:
    scheduler = BlockingScheduler(
        timezone="UTC",
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 300},
    )
    work = jobs(app)
    start = clock.now()
    scheduler.add_job(_job(app, "dispatch", work["dispatch"]), "interval", seconds=15,
                      id="dispatch", next_run_time=start)  # fmt: skip
    scheduler.add_job(_job(app, "deadlines", work["deadlines"]), "interval", minutes=5,
                      id="deadlines", next_run_time=start)  # fmt: skip
    scheduler.add_job(_job(app, "sweep", work["sweep"]), "interval", minutes=10, id="sweep")
    scheduler.add_job(_job(app, "purge", work["purge"]), "cron", hour=3, minute=17, id="purge")
    return scheduler
