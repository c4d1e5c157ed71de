"""The scheduler: its jobs, run in the app context, and `ivr jobs run`."""

from __future__ import annotations

from flask import Flask

from ivr.jobs.scheduler import build, jobs
from tests.conftest import IvrRunner


def test_scheduler_has_one_of_each_job(app: Flask) -> None:
    scheduler = build(app)
    assert sorted(job.id for job in scheduler.get_jobs()) == [
        "deadlines",
        "dispatch",
        "outbox",
        "purge",
        "queue",
        "recordings",
        "replay",
        "sweep",
    ]
    assert scheduler._job_defaults["max_instances"] == 1  # never two dispatches at once
    assert scheduler._job_defaults["coalesce"]


def test_jobs_run_in_the_app_context(app: Flask) -> None:
    work = jobs(app)
    with app.app_context():
        report = work["dispatch"]()
        assert report.due == 0  # type: ignore[attr-defined]
        assert work["deadlines"]().warned == 0  # type: ignore[attr-defined]


def test_jobs_run_command(runner: IvrRunner) -> None:
    result = runner.invoke("jobs", "run", "deadlines")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("deadlines: DeadlineReport(warned=0, overdue=0)")
    assert runner.invoke("jobs", "run", "nothing").exit_code == 2
    queue = runner.invoke("jobs", "run", "queue")  # nobody waits: nobody is called
    assert (queue.exit_code, queue.output) == (0, "queue: []\n"), queue.output
    replay = runner.invoke("jobs", "run", "replay")
    assert replay.exit_code == 0, replay.output
    assert replay.output.startswith("replay: ")
    outbox = runner.invoke("jobs", "run", "outbox")
    assert outbox.exit_code == 0, outbox.output
    assert outbox.output.startswith("outbox: 0 sent, 0 to retry, 0 failed")
