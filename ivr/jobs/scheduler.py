"""The scheduler process: one active per deployment, never one per web worker.

Each job runs inside the app context and reads its work from the database,
which is the source of truth: a job that was missed while the process was
down runs at start (due callbacks first, bounded by their grace period).

Several scheduler processes may run (on several machines): a lease row in
the database (`callbook.db.lease`) elects the active one; the others are hot
standbys. Every job renews the lease before it runs and is skipped unless
this process holds it; a "lease" job renews it (or, on a standby, tries to
take it) every third of its duration. A killed scheduler's lease expires and
a standby takes over within `IVR_SCHEDULER_LEASE_SECONDS` plus a third.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import timedelta

from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from flask import Flask
from sqlalchemy.exc import SQLAlchemyError

from callbook.db import lease, session_scope
from ivr import privacy
from ivr.jobs.callbacks import Dispatcher
from ivr.jobs.deadlines import check_deadlines
from ivr.jobs.outbox import Deliverer
from ivr.jobs.recordings import delete_recordings
from ivr.jobs.sweep import sweep_stale_calls
from ivr.runtime import active_config
from schedules import clock

log = logging.getLogger("ivr.scheduler")  # a stable name for log filters


class Leadership:
    """This process's hold on the scheduler lease: active, or standby.

    `check` takes or renews the lease and says whether this process may run
    jobs now; it logs "active" / "standby" when that changes. A database
    error counts as standby: the lease may have expired meanwhile.
    """

    def __init__(
        self,
        app: Flask,
        *,
        ttl: timedelta,
        holder: str | None = None,
        name: str = lease.SCHEDULER,
        on_active: Callable[[], None] | None = None,
    ) -> None:
        self.app = app
        self.ttl = ttl
        self.holder = holder or lease.new_holder_id()
        self.name = name
        self.on_active = on_active
        self.active: bool | None = None  # unknown until the first check
        self._lock = threading.Lock()

    @property
    def renew_every(self) -> timedelta:
        return self.ttl / 3

    def check(self) -> bool:
        """Take or renew the lease now; True while this process is the active scheduler."""
        with self._lock:
            now = clock.now()
            other: str = "unknown (database error)"
            try:
                with session_scope(self.app) as session:
                    held = lease.acquire(session, self.name, self.holder, now, self.ttl)
                    if not held and (row := lease.current(session, self.name, now)):
                        other = f"{row.holder} until {row.expires_at:%Y-%m-%d %H:%M:%S} UTC"
            except SQLAlchemyError as exc:
                log.warning("scheduler lease not renewed: %s", exc)
                held = False
            took_over = held and self.active is False  # at start the jobs run anyway
            if held != self.active:
                if held:
                    log.info("scheduler active: %s holds the lease", self.holder)
                else:
                    log.info("scheduler standby: lease held by %s", other)
            self.active = held
        if took_over and self.on_active is not None:
            self.on_active()
        return held

    def release(self) -> None:
        """Give the lease up at once (clean stop), so a standby takes over without waiting."""
        with self._lock:
            try:
                with session_scope(self.app) as session:
                    released = lease.release(session, self.name, self.holder)
            except SQLAlchemyError as exc:
                log.warning("scheduler lease not released (it will expire): %s", exc)
                return
            if released:
                log.info("scheduler lease released by %s", self.holder)
            self.active = False


def _job(
    app: Flask, name: str, work: Callable[[], object], leadership: Leadership | None = None
) -> Callable[[], None]:
    def run() -> None:
        if leadership is not None and not leadership.check():
            return  # standby: the active scheduler does this work
        with app.app_context():
            try:
                result = work()
            except Exception:  # a failing job must not stop the scheduler
                log.exception("scheduler job %s failed", name)
                return
            if result:
                log.info("scheduler job %s: %s", name, result)

    return run


def jobs(
    app: Flask, dispatcher: Dispatcher | None = None, deliverer: Deliverer | None = None
) -> dict[str, Callable[[], object]]:
    """The scheduler's work, by name (also run directly by tests and `ivr jobs run`)."""
    dispatcher = dispatcher or Dispatcher(app)
    deliverer = deliverer or Deliverer(app)
    settings = app.config["IVR_SETTINGS"]

    def deadlines() -> object:
        _, doc = active_config(app).get()
        with session_scope(app) as session:
            return check_deadlines(session, doc, clock.now(), settings)

    def sweep() -> object:  # calls whose final status never came: Twilio is asked
        return sweep_stale_calls(app, clock.now())

    def purge() -> object:  # personal data past its retention: deleted or anonymised
        with session_scope(app) as session:
            return privacy.purge(session, settings, clock.now())

    def recordings() -> object:  # recordings queued by the purge or an erasure, at Twilio
        return delete_recordings(app)

    def queue() -> object:  # callers waiting while a member is free (a lost status callback)
        from ivr.voice.members import safety_net

        return safety_net(app)

    def replay() -> object:  # the local spool of webhooks that met a database outage
        from ivr.voice.replay import replay as replay_spool

        return replay_spool(app)

    return {"dispatch": dispatcher.run_once, "deadlines": deadlines, "sweep": sweep, "purge": purge,
            "recordings": recordings, "replay": replay, "queue": queue,
            "outbox": deliverer.run_once}  # fmt: skip


def build(app: Flask, leadership: Leadership | None = None) -> BlockingScheduler:
    """The scheduler's jobs; with `leadership`, they only run while it holds the lease."""
    scheduler = BlockingScheduler(
        timezone="UTC",
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 300},
    )
    work = jobs(app)
    start = clock.now()
    ld = leadership
    scheduler.add_job(_job(app, "dispatch", work["dispatch"], ld), "interval", seconds=15,
                      id="dispatch", next_run_time=start)  # fmt: skip
    scheduler.add_job(_job(app, "queue", work["queue"], ld), "interval", seconds=15,
                      id="queue", next_run_time=start)  # fmt: skip
    scheduler.add_job(_job(app, "deadlines", work["deadlines"], ld), "interval", minutes=5,
                      id="deadlines", next_run_time=start)  # fmt: skip
    scheduler.add_job(_job(app, "outbox", work["outbox"], ld), "interval", seconds=10,
                      id="outbox", next_run_time=start)  # fmt: skip
    scheduler.add_job(_job(app, "sweep", work["sweep"], ld), "interval", minutes=10, id="sweep")
    scheduler.add_job(_job(app, "purge", work["purge"], ld), "cron", hour=3, minute=17,
                      id="purge")  # fmt: skip
    scheduler.add_job(_job(app, "recordings", work["recordings"], ld), "interval", minutes=10,
                      id="recordings", next_run_time=start)  # fmt: skip
    # The spool is this machine's own disk: every scheduler replays it, active or standby.
    scheduler.add_job(_job(app, "replay", work["replay"]), "interval", seconds=30, id="replay")
    if leadership is not None:
        leadership.on_active = lambda: _catch_up(scheduler)
        scheduler.add_job(leadership.check, "interval", id="lease", next_run_time=start,
                          seconds=leadership.renew_every.total_seconds())  # fmt: skip
    return scheduler


def _catch_up(scheduler: BaseScheduler) -> None:
    """A scheduler that just became active dispatches, checks deadlines and delivers at once."""
    if not scheduler.running:
        return
    for job_id in ("dispatch", "deadlines", "outbox"):
        job = scheduler.get_job(job_id)
        if job is not None:
            job.modify(next_run_time=clock.now())
