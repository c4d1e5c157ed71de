"""Webhook latency and throughput under gunicorn, against a bare Flask endpoint.

Run: .venv/bin/python bench/bench_webhooks.py   (about two minutes; stops on its own)

What it does, in one process, on 127.0.0.1 only:

1. makes a temporary instance folder, creates the app once there (migration
   and demo configuration, so workers do not race for them), and reads the
   local webhook token the app wrote (TWILIO_* and IVR_* variables of the
   caller's environment are dropped, and servers run in the temporary folder
   so no `.env` is read); servers and client are in bench/_harness.py;
2. starts two gunicorn servers (CLI) with the same settings, on free ports: the
   service (`ivr.app:create_app()`) and `bench/bare_app.py` (one route
   answering a constant `<Response><Say>` document);
3. simulates 50 callers (asyncio, raw sockets, requests built and signed with
   `ivr.twilio_adapter.sign` before the clock starts). A simulated call is
   what Twilio sends for a caller who presses 1 and hangs up:
   POST /voice/incoming, POST /voice/menu (Digits=1), POST /voice/status
   (CallStatus=completed); each with a new CallSid, From +336…, the usual
   Twilio form fields and X-Twilio-Signature on http://127.0.0.1:PORT/voice/….
   The status callback is part of every call so open calls do not pile up in
   the call book (a real hotline has at most about 50 open at once);
4. per round: the 50 callers back to back with no pause ("saturated", which
   gives the throughput) on the service, then on the bare endpoint (the same
   bytes), then on the service with a pause between steps ("paced": 50 calls
   in progress, each step about `--think` seconds after the previous answer,
   which gives the latency a caller gets when the service is not saturated);
   round order alternates, 3 rounds, figures are the medians of the rounds;
   every answer is checked: HTTP 200 (204 for the status callback),
   `text/xml`, and a TwiML `<Response>` document that parses;
5. prints the tables, the ratio of the two saturated throughputs, and PASS or
   FAIL against the targets: p99 of /voice/incoming and /voice/menu < 50 ms
   with 50 callers in calls (paced: what callers hear), webhook throughput
   >= 40% of the bare endpoint's (saturated); exit status 1 on a FAIL;
6. stops the servers and removes the folder, also on errors and Ctrl-C.

Server settings (the same for both apps): `--workers 2 --threads 1`, that is
2 sync workers, gunicorn's default worker class, as `ivr serve --workers 2`
runs it, with the app created in the master before the fork (`--preload`,
like `ivr serve`) and the access log on (to a file). On the embedded SQLite
every webhook writes the call book, and SQLite takes one writer at a time
(the workers queue for it, callbook/db/sqlite_writers.py): 1 worker gives about
500 req/s, 2 about 800; a third adds little to the service and much to the
bare endpoint; gthread workers keep connections alive, which the bare
endpoint gains most from (3,000 req/s against 850).

Under saturation, latency is queueing: 50 callers with no pause keep 50
requests in flight, so (Little's law) the mean latency is 50 / throughput,
and a p99 under 50 ms there would need well over 1,000 requests/s.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import random
import shutil
import signal
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from _harness import (
    BadResponse,
    Client,
    Server,
    call_params,
    check_answer,
    interrupt,
    new_call_sid,
    percentile_ms,
    prepare_database,
    server_env,
    server_errors,
    signed_request,
    start_server,
    stop_server,
    wait_ready,
)

P99_TARGET_MS = 50.0
RATIO_TARGET = 0.40
TIMED = ("incoming", "menu")  # the steps the latency target is about


# -- requests, built and signed before the clock starts -----------------------------


@dataclass(frozen=True, slots=True)
class Step:
    kind: str
    payload: bytes
    status: int


Call = tuple[Step, ...]


def make_call(port: int, token: str, rng: random.Random, status_code: int) -> Call:
    """The three webhooks Twilio sends for a caller who presses 1, then hangs up.

    `status_code` is what the status callback should answer: 204 from the
    service, 200 (the constant TwiML) from the bare endpoint.
    """
    caller = f"+336{rng.randrange(10**8):08d}"
    common = call_params(new_call_sid(), caller)
    incoming = common | {"CallStatus": "ringing"}
    menu = common | {"CallStatus": "in-progress", "Digits": "1", "msg": "Gather End"}
    status = common | {
        "CallStatus": "completed",
        "CallDuration": str(rng.randrange(20, 400)),
        "CallbackSource": "call-progress-events",
        "SequenceNumber": "0",
    }
    return (
        Step("incoming", signed_request(port, "/voice/incoming", incoming, token), 200),
        Step("menu", signed_request(port, "/voice/menu", menu, token), 200),
        Step("status", signed_request(port, "/voice/status", status, token), status_code),
    )


class CallPool:
    """Calls made ahead; should the pool run dry, more are made on the spot (and counted)."""

    def __init__(self, port: int, token: str, size: int, seed: int, status_code: int) -> None:
        self.port, self.token, self.status_code = port, token, status_code
        self.rng = random.Random(seed)
        self.calls: Iterator[Call] = iter(
            [make_call(port, token, self.rng, status_code) for _ in range(size)]
        )
        self.made_late = 0

    def next(self) -> Call:
        call = next(self.calls, None)
        if call is None:
            self.made_late += 1
            call = make_call(self.port, self.token, self.rng, self.status_code)
        return call


# -- the simulated callers -------------------------------------------------------------


@dataclass
class Phase:
    """What one load phase measured."""

    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: Counter[str] = field(default_factory=Counter)
    shapes: Counter[str] = field(default_factory=Counter)
    connections: int = 0
    seconds: float = 0.0
    elapsed: float = 0.0
    client_cpu: float = 0.0
    server_cpu: float = 0.0
    made_late: int = 0

    def count(self, kind: str | None = None) -> int:
        if kind is None:
            return sum(len(v) for v in self.latencies.values())
        return len(self.latencies.get(kind, []))

    def rate(self, kind: str | None = None) -> float:
        return self.count(kind) / self.seconds

    def percentile_ms(self, kind: str | None, q: float) -> float:
        if kind is None:
            return percentile_ms([v for vs in self.latencies.values() for v in vs], q)
        return percentile_ms(self.latencies.get(kind, []), q)


async def caller(
    index: int,
    pool: CallPool,
    port: int,
    window: tuple[float, float],
    think: float,
    phase: Phase,
) -> None:
    start, end = window
    rng = random.Random(index)
    client = Client(port)
    if think:  # spread the callers' first steps over one pause
        await asyncio.sleep(rng.uniform(0, think))
    try:
        while time.perf_counter() < end:
            for step in pool.next():
                began = time.perf_counter()
                try:
                    answer = await client.exchange(step.payload)
                    done = time.perf_counter()
                    verbs = check_answer(answer, step.status)
                except (OSError, BadResponse) as exc:
                    name = str(exc) if isinstance(exc, BadResponse) else type(exc).__name__
                    phase.errors[f"{step.kind}: {name}"] += 1
                    break  # this call is lost; the caller dials again
                if start <= began and done <= end:
                    phase.latencies.setdefault(step.kind, []).append(done - began)
                    if step.kind == "menu":
                        phase.shapes[" ".join(dict.fromkeys(verbs))] += 1
                if think and done < end:
                    await asyncio.sleep(think * rng.uniform(0.5, 1.5))
    finally:
        phase.connections += client.connections
        client.close()


async def load(
    pool: CallPool, port: int, callers: int, warmup: float, duration: float, think: float
) -> Phase:
    phase = Phase()
    start = time.perf_counter() + warmup
    end = start + duration
    await asyncio.gather(
        *(caller(i, pool, port, (start, end), think, phase) for i in range(callers))
    )
    phase.seconds = duration
    phase.elapsed = time.perf_counter() - start + warmup
    return phase


def run_phase(
    server: Server, pool: CallPool, args: argparse.Namespace, think: float, duration: float
) -> Phase:
    server.new_log_lines()
    client_before = time.process_time()
    server_before = server.cpu_seconds()
    phase = asyncio.run(load(pool, server.port, args.callers, args.warmup, duration, think))
    phase.client_cpu = time.process_time() - client_before
    phase.server_cpu = server.cpu_seconds() - server_before
    phase.made_late = pool.made_late
    for marker, count in server_errors(server.new_log_lines()).items():
        phase.errors[f"server log: {marker}"] += count
    return phase


# -- report ------------------------------------------------------------------------


def row(label: str, kind: str | None, phase: Phase, wall: float) -> str:
    return (
        f"  {label:<22}{kind or 'all':<10}{phase.count(kind):>9}{phase.rate(kind):>9.0f}"
        f"{phase.percentile_ms(kind, 0.50):>9.1f}{phase.percentile_ms(kind, 0.99):>9.1f}"
        + (
            f"{phase.server_cpu / wall * 100:>8.0f}%{phase.client_cpu / wall * 100:>8.0f}%"
            if kind is None
            else ""
        )
    )


HEADER = (
    f"  {'phase':<22}{'endpoint':<10}{'requests':>9}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}"
    f"{'server':>9}{'client':>9}"
)


def print_round(number: int, phases: dict[str, Phase], args: argparse.Namespace) -> None:
    print(f"round {number}/{args.rounds}  (CPU: % of one core over the measured window)")
    print(HEADER)
    for label, phase in phases.items():
        kinds = [None] if label.startswith("bare") else [*TIMED, "status", None]
        for kind in kinds:
            print(row(label, kind, phase, phase.elapsed))
    notes = []
    for label, phase in phases.items():
        if phase.errors:
            notes.append(f"{label}: ERRORS {dict(phase.errors)}")
        if phase.made_late:
            notes.append(f"{label}: {phase.made_late} calls signed during the run (pool too small)")
    shapes = phases["saturated, webhooks"].shapes
    notes.append("menu answers: " + ", ".join(f"{s} ×{n}" for s, n in shapes.most_common(3)))
    for note in notes:
        print(f"  {note}")
    print(flush=True)


def median(values: list[float]) -> float:
    return statistics.median(values)


def summary(rounds: list[dict[str, Phase]], args: argparse.Namespace) -> bool:
    def med(label: str, fn: str, kind: str | None) -> float:
        phases = [r[label] for r in rounds]
        if fn == "rate":
            return median([p.rate(kind) for p in phases])
        q = 0.50 if fn == "p50" else 0.99
        return median([p.percentile_ms(kind, q) for p in phases])

    ratios = [r["saturated, webhooks"].rate() / r["saturated, bare"].rate() for r in rounds]
    worker = "sync" if args.threads == 1 else f"gthread, {args.threads} threads"
    print(
        f"medians of {len(rounds)} rounds: gunicorn {args.workers} workers ({worker}), "
        f"{args.callers} callers, {args.duration:g} s measured per phase"
    )
    print(f"  {'phase':<22}{'endpoint':<10}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}")
    for label in rounds[0]:
        kinds = [None] if label.startswith("bare") else [*TIMED, "status", None]
        for kind in kinds:
            print(
                f"  {label:<22}{kind or 'all':<10}{med(label, 'rate', kind):>9.0f}"
                f"{med(label, 'p50', kind):>9.1f}{med(label, 'p99', kind):>9.1f}"
            )
    ratio = median(ratios)
    print(f"  throughput ratio webhooks / bare (saturated): {ratio:.2f}")
    print()
    verdicts = []
    worst = max(med("paced, webhooks", "p99", kind) for kind in TIMED)
    text = f"p99 incoming/menu < {P99_TARGET_MS:.0f} ms, 50 callers in calls (paced)"
    verdicts.append((text, worst < P99_TARGET_MS, f"{worst:.1f} ms"))
    saturated = med("saturated, webhooks", "rate", None)
    print(
        f"  (saturated p99 {max(med('saturated, webhooks', 'p99', k) for k in TIMED):.1f} ms is "
        f"queueing, not a target: {args.callers} requests always in flight at "
        f"{saturated:.0f} req/s wait {args.callers / saturated * 1000:.0f} ms on average)"
    )
    text = f"throughput >= {RATIO_TARGET:.0%} of bare"
    verdicts.append((text, ratio >= RATIO_TARGET, f"{ratio:.0%}"))
    errors = sum(sum(p.errors.values()) for r in rounds for p in r.values())
    verdicts.append(
        ("every answer 200 with valid TwiML (status: 204)", errors == 0, f"{errors} errors")
    )
    for text, ok, value in verdicts:
        print(f"  {'PASS' if ok else 'FAIL'}  {text}: {value}")
    return all(ok for _, ok, _ in verdicts)


# -- main ----------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    parser.add_argument(
        "--threads", type=int, default=1, help="threads per worker; > 1 uses gthread (default 1)"
    )
    parser.add_argument(
        "--app",
        default="ivr.app:create_app()",
        help="the service's app factory for gunicorn (default: ivr.app:create_app())",
    )
    parser.add_argument("--callers", type=int, default=50, help="simulated callers (default 50)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds (default 3)")
    parser.add_argument(
        "--duration", type=float, default=8.0, help="measured seconds per phase (default 8)"
    )
    parser.add_argument(
        "--warmup", type=float, default=1.5, help="unmeasured seconds first (default 1.5)"
    )
    parser.add_argument(
        "--think",
        type=float,
        default=1.0,
        help="mean pause in s between steps of a call in the paced phase (default 1)",
    )
    parser.add_argument(
        "--paced-duration",
        type=float,
        default=12.0,
        help="measured seconds of the paced phase (default 12)",
    )
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    signal.signal(signal.SIGTERM, interrupt)
    workdir = Path(tempfile.mkdtemp(prefix="bench-webhooks-"))
    servers: list[Server] = []
    try:
        env = server_env(workdir / "instance")
        token = prepare_database(workdir, env)
        ours = start_server("webhooks", args.app, workdir, env, args.workers, args.threads)
        servers.append(ours)
        bare = start_server(
            "bare", "bare_app:create_app()", workdir, env, args.workers, args.threads
        )
        servers.append(bare)
        wait_ready(ours, "GET", "/healthz")
        wait_ready(bare, "POST", "/voice/ready")
        rounds: list[dict[str, Phase]] = []
        # Pools: calls for the expected rate (x2), refreshed each phase (CallSids never repeat).
        expected = {"webhooks": 600.0, "bare": 3000.0}
        span = args.warmup + args.duration
        for number in range(1, args.rounds + 1):
            order = [ours, bare] if number % 2 else [bare, ours]
            phases: dict[str, Phase] = {}
            for server in order:
                size = int(expected[server.name] * span / 3 * 2) + args.callers
                pool = CallPool(server.port, token, size, number, 200 if server is bare else 204)
                phase = run_phase(server, pool, args, 0.0, args.duration)
                expected[server.name] = max(expected[server.name], phase.rate())
                phases[f"saturated, {server.name}"] = phase
            paced_span = args.warmup + args.paced_duration
            per_caller = math.ceil(paced_span / (3 * args.think) * 1.5) + 2 if args.think else 1
            paced_pool = CallPool(ours.port, token, args.callers * per_caller, 100 + number, 204)
            phases["paced, webhooks"] = run_phase(
                ours, paced_pool, args, args.think, args.paced_duration
            )
            rounds.append(phases)
            print_round(number, phases, args)
        return 0 if summary(rounds, args) else 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    finally:
        for server in servers:
            stop_server(server)
        if os.environ.get("BENCH_KEEP"):
            print(workdir)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
