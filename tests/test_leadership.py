"""Scheduler leadership: one row lease in the database elects the active scheduler."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from unittest.mock import patch

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from apscheduler.schedulers.blocking import BlockingScheduler
from flask import Flask
from sqlalchemy.exc import OperationalError

from callbook.db import Base, database, lease, make_engine, session_scope
from callbook.db.lease import SCHEDULER, SchedulerLease, acquire, current, release
from ivr.jobs.scheduler import Leadership, _job, build
from schedules import clock
from tests.conftest import SECRET_KEY, TEST_URL

T0 = datetime(2026, 12, 24, 16, 0, tzinfo=UTC)
TTL = timedelta(seconds=30)


def test_migration_matches_the_lease_model(migrated_database: str) -> None:
    def mine(_obj: object, name: str | None, type_: str, *_: object) -> bool:
        return type_ != "table" or name == "scheduler_lease"

    engine = make_engine(migrated_database)
    try:
        with engine.connect() as connection:
            opts = {"compare_type": True, "include_object": mine}
            context = MigrationContext.configure(connection, opts=opts)
            assert compare_metadata(context, Base.metadata) == []
    finally:
        engine.dispose()


def test_one_holder_at_a_time_until_expiry(app: Flask) -> None:
    with session_scope(app) as session:
        assert acquire(session, SCHEDULER, "a", T0, TTL)
    with session_scope(app) as session:
        assert not acquire(session, SCHEDULER, "b", T0 + timedelta(seconds=29), TTL)
        assert acquire(session, SCHEDULER, "a", T0 + timedelta(seconds=10), TTL)  # renewed
    with session_scope(app) as session:
        assert not acquire(session, SCHEDULER, "b", T0 + timedelta(seconds=39), TTL)
        assert acquire(session, SCHEDULER, "b", T0 + timedelta(seconds=40), TTL)  # expired
    with session_scope(app) as session:
        lease = current(session, SCHEDULER, T0 + timedelta(seconds=41))
        assert lease is not None and lease.holder == "b"
        assert lease.acquired_at == T0 + timedelta(seconds=40)
        assert not acquire(session, SCHEDULER, "a", T0 + timedelta(seconds=41), TTL)


def test_release_frees_the_lease_at_once(app: Flask) -> None:
    with session_scope(app) as session:
        assert acquire(session, SCHEDULER, "a", T0, TTL)
    with session_scope(app) as session:
        assert not release(session, SCHEDULER, "b")
        assert release(session, SCHEDULER, "a")
    with session_scope(app) as session:
        assert current(session, SCHEDULER, T0) is None
        assert acquire(session, SCHEDULER, "b", T0, TTL)


# -- two schedulers on the same database -----------------------------------------


@pytest.fixture
def clock_at() -> Iterator[Callable[[datetime], None]]:
    with ExitStack() as stack:
        yield lambda moment: stack.enter_context(clock.frozen_at(moment))


def guarded_jobs(app: Flask, leadership: Leadership, runs: list[str]) -> BlockingScheduler:
    scheduler = build(app, leadership)
    for job in scheduler.get_jobs():
        if job.id != "lease":
            job.func = _job(app, job.id, lambda name=job.id: runs.append(name), leadership)
    return scheduler


def run_job(scheduler: BlockingScheduler, job_id: str) -> None:
    job = scheduler.get_job(job_id)
    assert job is not None
    job.func()


def test_two_schedulers_exactly_one_active_then_take_over(
    app: Flask, clock_at: Callable[[datetime], None], caplog: pytest.LogCaptureFixture
) -> None:
    clock_at(T0)
    first = Leadership(app, ttl=TTL, holder="host-a:101:aaaa")
    second = Leadership(app, ttl=TTL, holder="host-b:202:bbbb")
    first_runs: list[str] = []
    second_runs: list[str] = []
    first_jobs = guarded_jobs(app, first, first_runs)
    second_jobs = guarded_jobs(app, second, second_runs)
    with caplog.at_level(logging.INFO, logger="ivr.scheduler"):
        run_job(first_jobs, "lease")
        run_job(second_jobs, "lease")
    assert (first.active, second.active) == (True, False)
    assert "scheduler active: host-a:101:aaaa holds the lease" in caplog.messages
    assert any(
        m.startswith("scheduler standby: lease held by host-a:101:aaaa") for m in caplog.messages
    )
    for job_id in ("dispatch", "deadlines", "sweep", "purge"):
        run_job(first_jobs, job_id)
        run_job(second_jobs, job_id)
    assert first_runs == ["dispatch", "deadlines", "sweep", "purge"]
    assert second_runs == []  # the standby does nothing

    # The active one keeps renewing every 10 s: the standby never gets in.
    for seconds in (10, 20, 30, 40):
        clock_at(T0 + timedelta(seconds=seconds))
        run_job(first_jobs, "lease")
        run_job(second_jobs, "lease")
        assert (first.active, second.active) == (True, False)

    # Killed (no release): it stops renewing at +40 s; its lease ends at +70 s.
    clock_at(T0 + timedelta(seconds=69))
    run_job(second_jobs, "dispatch")
    assert second_runs == [] and not second.active
    clock_at(T0 + timedelta(seconds=70))
    run_job(second_jobs, "lease")
    assert second.active
    run_job(second_jobs, "dispatch")
    assert second_runs == ["dispatch"]

    # The old one, were it only frozen (a long pause), finds out before its next job.
    first_runs.clear()
    run_job(first_jobs, "dispatch")
    assert first_runs == [] and first.active is False


def test_clean_stop_hands_over_at_once(app: Flask, clock_at: Callable[[datetime], None]) -> None:
    clock_at(T0)
    first = Leadership(app, ttl=TTL, holder="a")
    second = Leadership(app, ttl=TTL, holder="b")
    assert first.check() and not second.check()
    first.release()
    assert second.check()  # same instant: no need to wait for the expiry
    assert first.active is False and not first.check()


def test_a_lost_database_means_standby(app: Flask, clock_at: Callable[[datetime], None]) -> None:
    clock_at(T0)
    leadership = Leadership(app, ttl=TTL, holder="a")
    assert leadership.check()
    database(app).engine.dispose()
    with patch.object(lease, "acquire", side_effect=OperationalError("UPDATE", {}, Exception())):
        assert not leadership.check()
    assert leadership.check()


def test_scheduler_renews_every_third_of_the_lease(app: Flask) -> None:
    leadership = Leadership(app, ttl=TTL)
    job = build(app, leadership).get_job("lease")
    assert job is not None and job.trigger.interval == timedelta(seconds=10)
    assert build(app).get_job("lease") is None  # `ivr jobs run` and tests: no election


# -- two real `ivr scheduler` processes --------------------------------------------

LEASE_SECONDS = 4.0  # short, yet long enough for a busy 2-core machine to renew in time


class SchedulerProcess:
    """`ivr scheduler` in a child process; its log lines are collected as they come."""

    def __init__(self, env: dict[str, str], cwd: Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "ivr.cli", "scheduler"],
            env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip())

    def said(self, text: str) -> bool:
        return any(text in line for line in self.lines)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        self.process.wait(timeout=20)
        self._reader.join(timeout=5)


def without_libfaketime(environ: Mapping[str, str]) -> dict[str, str]:
    """`environ` without libfaketime, which moves the clock of the CI's second run.

    libfaketime moves CLOCK_MONOTONIC with the wall clock but does not
    intercept sem_clockwait(), which Python 3.11+ uses for every timed wait:
    the kernel compares a deadline on the moved clock with the real one, so
    the scheduler's `Event.wait(timeout)` does not end when it should, and the
    lease is neither renewed nor taken over. These processes only compare the
    lease times they write themselves, so the real clock changes nothing to
    what is tested here (the election at given dates is tested above).
    """
    env = {k: v for k, v in environ.items() if not k.startswith(("FAKETIME", "LD_PRELOAD"))}
    kept = [
        library
        for library in environ.get("LD_PRELOAD", "").replace(":", " ").split()
        if not Path(library).name.startswith("libfaketime")
    ]
    if kept:
        env["LD_PRELOAD"] = " ".join(kept)
    return env


def wait_for(condition: Callable[[], bool], timeout: float, *logs: SchedulerProcess) -> float:
    """Seconds until `condition` held; fails after `timeout` or when one of `logs` exited."""
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > timeout or any(p.process.poll() is not None for p in logs):
            shown = "\n--\n".join("\n".join(p.lines[-30:]) for p in logs)
            pytest.fail(f"not true after {time.monotonic() - start:.1f} s:\n{shown}")
        time.sleep(0.05)
    return time.monotonic() - start


def test_kill_9_the_active_scheduler_process_and_the_standby_takes_over(
    app: Flask, tmp_path: Path
) -> None:
    env = {
        **{
            k: v
            for k, v in without_libfaketime(os.environ).items()
            if not k.startswith(("IVR_", "TWILIO_"))
        },
        "IVR_INSTANCE_DIR": str(tmp_path / "instance"),
        "IVR_DATABASE_URL": app.config["DATABASE_URL"],
        "IVR_SECRET_KEY": SECRET_KEY,
        "IVR_PUBLIC_URL": TEST_URL,
        "IVR_SCHEDULER_LEASE_SECONDS": str(LEASE_SECONDS),
        "PYTHONPATH": str(Path(__file__).resolve().parent.parent),  # this tree's code
    }
    started: list[SchedulerProcess] = []
    try:
        first = SchedulerProcess(env, tmp_path)
        started.append(first)
        wait_for(lambda: first.said("scheduler active:"), 30, first)
        second = SchedulerProcess(env, tmp_path)
        started.append(second)
        wait_for(lambda: second.said("scheduler standby:"), 30, first, second)
        time.sleep(LEASE_SECONDS * 2)  # several renewals: still one active
        assert not second.said("scheduler active:")

        first.stop(signal.SIGKILL)
        took = wait_for(lambda: second.said("scheduler active:"), 30, second)
        # Expiry of the last renewal, plus one polling period, plus slack for a busy machine.
        assert took <= LEASE_SECONDS + LEASE_SECONDS / 3 + 2.0

        second.stop(signal.SIGTERM)  # a clean stop releases the lease at once
        assert second.process.returncode == 0
        assert second.said("ivr: scheduler stopped")
        with session_scope(app) as session:
            assert session.get(SchedulerLease, SCHEDULER) is None
    finally:
        for process in started:
            process.stop(signal.SIGKILL)
