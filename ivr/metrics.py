"""/metrics: the live contact-centre figures and the webhooks' latency, for Prometheus.

Off by default (404). `IVR_METRICS=true` serves it to anyone who reaches it
(a scraper on a private network); `IVR_METRICS_TOKEN` requires
`Authorization: Bearer <token>` (and turns it on by itself).

- The gauges are computed at scrape time (`BoardCollector`, a custom
  collector over `ivr.board`): a few indexed queries per scrape, the same
  figures as the wallboard, identical whichever worker answers.
- `ivr_webhook_duration_seconds` is a histogram of the time each `/voice/*`
  request took in Flask (from the first before-request hook to the last
  after-request hook, signature check included), labelled by endpoint only
  (a few dozen fixed values; an unknown path is `not_found`).

Several gunicorn workers: a histogram lives in each worker's memory, and a
scrape reaches one worker. With the environment variable
`PROMETHEUS_MULTIPROC_DIR` set to an empty directory (prometheus_client's
multiprocess mode, chosen when the library is first imported), every worker
writes its samples there and any worker answers the sum of all of them;
`ivr serve` empties the directory at start and forgets the workers that
exit. Without it each worker reports its own histogram, which is exact only
with one worker (`IVR_WORKERS=1`, the default).
"""

from __future__ import annotations

import hmac
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from flask import Flask, Response, abort, current_app, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from prometheus_client.registry import Collector
from sqlalchemy.exc import SQLAlchemyError

from callbook.db import session_scope
from ivr import runtime
from ivr.board import build_board
from schedules import clock

EXTENSION = "ivr.metrics"
MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"
STARTED = "ivr.webhook_started"
"""WSGI environ key: when the request reached the first hook (perf_counter)."""
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 15.0)
"""Seconds; Twilio gives up on a webhook after 15 s."""


class BoardCollector(Collector):
    """The wallboard's figures as gauges, read from the database at each scrape."""

    def __init__(self, app: Flask) -> None:
        self._app = app

    def collect(self) -> Iterator[Metric]:
        settings = self._app.config["IVR_SETTINGS"]
        _, doc = runtime.active_config(self._app).get()
        with session_scope(self._app) as session:
            board = build_board(
                session,
                doc,
                clock.now(),
                max_talk=settings.max_talk,
                threshold=settings.service_level_seconds,
            )
        waiting = GaugeMetricFamily(
            "ivr_queue_waiting_callers", "Callers waiting in a team's queue now", labels=["team"]
        )
        longest = GaugeMetricFamily(
            "ivr_queue_longest_wait_seconds",
            "How long the first caller still waiting in a team's queue has waited",
            labels=["team"],
        )
        for team in board.teams:
            waiting.add_metric([team.team], team.waiting)
            longest.add_metric([team.team], team.longest_wait)
        yield waiting
        yield longest
        yield GaugeMetricFamily(
            "ivr_hotline_members", "Numbers of the hotline", value=len(board.members)
        )
        yield GaugeMetricFamily(
            "ivr_hotline_members_busy",
            "Numbers of the hotline on a line now (ringing or talking)",
            value=board.busy,
        )
        yield from _today(board.today_by_team, board.threshold)


def _today(teams: list[Any], threshold: int) -> Iterator[Metric]:
    """Today's figures per team (the local day of the hotline's calendar)."""
    families = {
        "offered": GaugeMetricFamily(
            "ivr_calls_offered_today",
            "Calls offered today (waits and direct answers)",
            labels=["team"],
        ),
        "answered": GaugeMetricFamily(
            "ivr_calls_answered_today", "Calls answered today", labels=["team"]
        ),
        "abandoned": GaugeMetricFamily(
            "ivr_calls_abandoned_today", "Callers who hung up while waiting today", labels=["team"]
        ),
        "service_level": GaugeMetricFamily(
            "ivr_service_level_today",
            f"Share of today's settled offered calls answered within {threshold} s",
            labels=["team"],
        ),
    }
    for figures in teams:
        for name, family in families.items():
            value = getattr(figures, name)
            if value is not None:  # no service level without a settled call
                family.add_metric([figures.team], float(value))
    yield from families.values()


def enabled(app: Flask) -> bool:
    settings = app.config["IVR_SETTINGS"]
    return bool(settings.metrics or settings.metrics_token.get_secret_value())


def init_app(app: Flask) -> None:
    """Register /metrics (answering 404 when off) and, when on, the webhooks' timing."""
    app.add_url_rule("/metrics", "metrics", metrics)
    if not enabled(app):
        return  # nothing on the webhooks' path at all
    private = CollectorRegistry()
    histogram = Histogram(
        "ivr_webhook_duration_seconds",
        "Time a /voice/* request took in the web service",
        ["endpoint"],
        buckets=BUCKETS,
        registry=private,
    )
    if os.environ.get(MULTIPROCESS_ENV):
        exposed = CollectorRegistry()
        MultiProcessCollector(exposed)  # every worker's histogram, summed
    else:
        exposed = private
    exposed.register(BoardCollector(app))
    app.extensions[EXTENSION] = exposed

    per_endpoint: dict[str, Any] = {}  # bounded: the URL map's endpoints and `not_found`

    @app.before_request
    def _start_clock() -> None:
        environ = request.environ
        if environ.get("PATH_INFO", "").startswith("/voice/"):
            environ[STARTED] = time.perf_counter()

    @app.after_request
    def _observe(response: Response) -> Response:
        started = request.environ.get(STARTED)
        if started is not None:
            endpoint = request.endpoint or "not_found"
            child = per_endpoint.get(endpoint)
            if child is None:
                child = per_endpoint.setdefault(endpoint, histogram.labels(endpoint))
            child.observe(time.perf_counter() - started)
        return response


def gunicorn_options() -> dict[str, Any]:
    """For `ivr serve`, in multiprocess mode: start from an empty directory (the files of
    a previous run would add up), and forget each worker that exits (its gauges; its
    histogram's samples stay counted, as Prometheus counters must)."""
    directory = os.environ.get(MULTIPROCESS_ENV)
    if not directory:
        return {}
    path = Path(directory)
    path.mkdir(parents=True, exist_ok=True)
    for stale in path.glob("*.db"):
        stale.unlink()

    def child_exit(_server: object, worker: Any) -> None:
        mark_process_dead(worker.pid)

    return {"child_exit": child_exit}


def _authorised() -> bool:
    token = current_app.config["IVR_SETTINGS"].metrics_token.get_secret_value()
    if not token:
        return True
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    # Constant-time comparison: the answer time must not tell how much matched.
    return scheme.lower() == "bearer" and hmac.compare_digest(
        given.strip().encode("utf-8"), token.encode("utf-8")
    )


def metrics() -> Response:
    registry: CollectorRegistry | None = current_app.extensions.get(EXTENSION)
    if registry is None:
        abort(404)
    if not _authorised():
        return Response(
            "missing or wrong bearer token\n",
            status=401,
            mimetype="text/plain",
            headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
        )
    try:
        body = generate_latest(registry)
    except (SQLAlchemyError, runtime.NoActiveConfig) as exc:
        current_app.logger.warning("/metrics: the figures cannot be read: %s", exc)
        return Response("the database cannot be read\n", status=503, mimetype="text/plain")
    return Response(
        body, headers={"Content-Type": CONTENT_TYPE_LATEST, "Cache-Control": "no-store"}
    )
