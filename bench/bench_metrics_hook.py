"""What the /metrics latency histogram costs each webhook.

Run: .venv/bin/python bench/bench_metrics_hook.py   (about half a minute)

1. The hook alone: the before-request and after-request functions that
   `ivr.metrics.init_app` registers (a clock read, a `g` entry, one
   `Histogram.labels(endpoint).observe`), timed with `timeit` inside a
   request context of a /voice/ path: microseconds per request.
2. A before/after on whole webhooks: two apps on fresh embedded SQLite files
   in a temporary folder, IVR_METRICS off and on, each answering signed
   POST /voice/incoming through Flask's test client (no network); rounds
   alternate between the two, and the figure is the median over rounds of
   the CPU time per request.
"""

from __future__ import annotations

import secrets
import statistics
import tempfile
import time
import timeit
from pathlib import Path

from flask import Flask

from ivr.app import create_app
from ivr.settings import Settings
from ivr.twilio_adapter import sign

BASE = "http://localhost"
REQUESTS = 200
ROUNDS = 5


def _app(folder: Path, metrics: bool) -> Flask:
    return create_app(Settings(instance_dir=folder, metrics=metrics))


def hook_alone(app: Flask) -> float:
    """Microseconds of the two hooks for one request."""
    before = next(f for f in app.before_request_funcs[None] if f.__name__ == "_start_clock")
    after = next(f for f in app.after_request_funcs[None] if f.__name__ == "_observe")
    response = app.response_class("")
    with app.test_request_context("/voice/incoming", method="POST", base_url=BASE):
        from flask import request

        request.url_rule = app.url_map.bind("localhost").match(
            "/voice/incoming", method="POST", return_rule=True
        )[0]

        def one() -> None:
            before()
            after(response)

        runs = 20_000
        best = min(timeit.repeat(one, number=runs, repeat=5))
    return best / runs * 1e6


def webhooks(app: Flask) -> float:
    """CPU milliseconds per signed POST /voice/incoming, REQUESTS of them."""
    client = app.test_client()
    token = app.extensions["twilio_token"]
    forms = [
        {"CallSid": "CA" + secrets.token_hex(16), "From": "+33612345678", "To": "+33199001000"}
        for _ in range(REQUESTS)
    ]
    started = time.process_time()
    for form in forms:
        signature = sign(token, BASE + "/voice/incoming", form)
        answer = client.post(
            "/voice/incoming", data=form, headers={"X-Twilio-Signature": signature}
        )
        assert answer.status_code == 200, answer.status_code
    return (time.process_time() - started) / REQUESTS * 1000


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        off = _app(Path(folder) / "off", metrics=False)
        on = _app(Path(folder) / "on", metrics=True)
        print(f"hooks alone: {hook_alone(on):.2f} µs per webhook (best of 5 × 20,000)")
        webhooks(off), webhooks(on)  # warm up both
        figures: dict[str, list[float]] = {"off": [], "on": []}
        for round_ in range(ROUNDS):
            order = (("off", off), ("on", on)) if round_ % 2 == 0 else (("on", on), ("off", off))
            for name, app in order:
                figures[name].append(webhooks(app))
    for name, values in figures.items():
        print(
            f"IVR_METRICS {name:>3}: {statistics.median(values):.3f} ms CPU per /voice/incoming "
            f"({min(values):.3f}-{max(values):.3f}, {ROUNDS} rounds of {REQUESTS})"
        )
    delta = statistics.median(figures["on"]) - statistics.median(figures["off"])
    print(f"difference: {delta * 1000:+.0f} µs per webhook")


if __name__ == "__main__":
    main()
