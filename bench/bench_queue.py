"""Waiting callers: 200 callers in the hotline's line at once, the wait URL under gunicorn.

Run: .venv/bin/python bench/bench_queue.py [--database sqlite|postgresql|both] [--callers 200]
(about half a minute per database; exit status 1 when a target is missed)

For each database (servers, databases and signed requests: bench/_harness.py):

1. a fresh database with the demo configuration, its hotline calendar then
   replaced by one open around the clock (imported with `ivr config import`),
   so the line is open whatever the hour of the run;
2. the service under gunicorn (--workers, sync workers);
3. --callers simulated callers at once, each: /voice/incoming, /voice/menu
   (an incident: the hotline), then the Enqueue's wait URL
   (/voice/queue/wait?team=hotline, with QueuePosition, QueueTime,
   AvgQueueTime, CurrentQueueSize as Twilio sends them) again and again, a
   pause of --think seconds on average (0.5x to 1.5x) between two requests
   (Twilio asks again once the announcement and its pause are over; the
   pause is shortened here to load the server), for --duration seconds after
   --warmup; then the Enqueue action (/voice/queue/done, QueueResult=hangup)
   and the final status callback, outside the measured window;
4. the wait URL's latency is measured (every answer checked: 200, TwiML, the
   place said in a <Gather>, no <Leave>);
5. after the run, `queue_entries` is read: every caller must have exactly one
   row (0 lost, 0 duplicated), with the place first announced, ended
   `abandoned` by the action request.

Targets: wait URL p99 < 50 ms with 200 callers waiting; 0 lost, 0 duplicated rows.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import shutil
import signal
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from _harness import (
    BadResponse,
    Client,
    Timings,
    add_server_arguments,
    call_params,
    check_answer,
    interrupt,
    new_call_sid,
    open_all_day,
    prepare_database,
    server_env,
    server_errors,
    signed_request,
    start_server,
    stop_server,
    wait_ready,
)
from sqlalchemy import text

from callbook.db import make_engine

WAIT = "/voice/queue/wait?team=hotline"
SLOW = 0.05
"""Seconds: the target; the moments of slower requests are shown (a stall or a spread)."""


@dataclass
class Run:
    timings: Timings = field(default_factory=Timings)
    placed: dict[str, int] = field(default_factory=dict)  # CallSid -> place announced first
    left: set[str] = field(default_factory=set)  # action request answered
    slow: list[float] = field(default_factory=list)  # when requests over SLOW began


async def caller(
    index: int,
    port: int,
    token: str,
    args: argparse.Namespace,
    run: Run,
    window: tuple[float, float],
) -> None:
    rng = random.Random(index)
    client = Client(port)
    sid = new_call_sid()
    common = call_params(sid, f"+336{rng.randrange(10**8):08d}")
    place = index + 1
    run.placed[sid] = place

    async def post(path: str, params: dict[str, str], status: int = 200) -> list[str]:
        return check_answer(
            await client.exchange(signed_request(port, path, params, token)), status
        )

    try:
        await asyncio.sleep(rng.uniform(0, args.think))
        await post("/voice/incoming", common | {"CallStatus": "ringing"})
        await post("/voice/menu", common | {"CallStatus": "in-progress", "Digits": "1"})
        began_waiting = time.perf_counter()
        queue = {"QueueSid": "QU" + "7" * 32, "CurrentQueueSize": str(args.callers)}
        while time.perf_counter() < window[1]:
            waited = int(time.perf_counter() - began_waiting)
            params = common | queue | {"QueuePosition": str(place), "QueueTime": str(waited),
                                       "AvgQueueTime": str(waited)}  # fmt: skip
            began = time.perf_counter()
            verbs = await post(WAIT, params)
            done = time.perf_counter()
            if "Leave" in verbs or "Gather" not in verbs:
                raise BadResponse(f"wait URL answered {verbs}")
            if window[0] <= began and done <= window[1]:
                run.timings.add("wait", done - began)
                if done - began > SLOW:
                    run.slow.append(round(began - window[0], 1))
            await asyncio.sleep(args.think * rng.uniform(0.5, 1.5))
        waited = str(int(time.perf_counter() - began_waiting))
        left = common | queue | {"QueueResult": "hangup", "QueueTime": waited}
        await post("/voice/queue/done?step=2", left)
        run.left.add(sid)
        await post("/voice/status", common | {"CallStatus": "completed", "CallDuration": waited},
                   204)  # fmt: skip
    except (OSError, BadResponse) as exc:
        run.timings.errors[str(exc) if isinstance(exc, BadResponse) else type(exc).__name__] += 1
    finally:
        client.close()


async def drive(port: int, token: str, args: argparse.Namespace, run: Run) -> None:
    start = time.perf_counter() + args.warmup
    window = (start, start + args.duration)
    await asyncio.gather(*(caller(i, port, token, args, run, window) for i in range(args.callers)))


@dataclass
class Audit:
    rows: int = 0
    lost: int = 0
    duplicated: int = 0
    wrong_place: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)


def audit(url: str, run: Run) -> Audit:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT call_sid, position, outcome FROM queue_entries")).all()
    finally:
        engine.dispose()
    result = Audit(rows=len(rows))
    seen = Counter(sid for sid, _, _ in rows)
    result.lost = sum(1 for sid in run.placed if sid not in seen)
    result.duplicated = sum(n - 1 for n in seen.values() if n > 1)
    result.wrong_place = sum(1 for sid, place, _ in rows if run.placed.get(sid) != place)
    result.outcomes = Counter(outcome for sid, _, outcome in rows if sid in run.left)
    return result


def run_database(kind: str, args: argparse.Namespace) -> bool:
    workdir = Path(tempfile.mkdtemp(prefix=f"bench-queue-{kind}-"))
    instance = workdir / "instance"
    url = args.postgresql_url if kind == "postgresql" else ""
    server = None
    try:
        env = server_env(instance, url)
        token = prepare_database(workdir, env)
        open_all_day(workdir, env)
        server = start_server("queue", args.app, workdir, env, args.workers, 1)
        wait_ready(server, "GET", "/healthz")
        run = Run()
        cpu = server.cpu_seconds()
        asyncio.run(drive(server.port, token, args, run))
        cpu = server.cpu_seconds() - cpu
        found = audit(url or f"sqlite:///{instance / 'ivr.sqlite3'}", run)
        errors = server_errors(server.new_log_lines())
    finally:
        if server is not None:
            stop_server(server)
        shutil.rmtree(workdir, ignore_errors=True)
    t = run.timings
    p99 = t.percentile_ms("wait", 0.99)
    print(f"{kind}: gunicorn {args.workers} sync workers, {args.callers} callers waiting,"
          f" think {args.think:g} s")  # fmt: skip
    print(f"  wait URL: {t.count('wait')} requests, {t.count('wait') / args.duration:.0f} req/s,"
          f" p50 {t.percentile_ms('wait', 0.5):.1f} ms, p99 {p99:.1f} ms;"
          f" server CPU {cpu:.1f} s")  # fmt: skip
    print(f"  queue_entries: {found.rows} rows for {len(run.placed)} callers, {found.lost} lost,"
          f" {found.duplicated} duplicated, {found.wrong_place} with another place;"
          f" outcomes after the action request {dict(found.outcomes)}")  # fmt: skip
    if run.slow:
        moments = ", ".join(f"{m:g}" for m in sorted(set(run.slow))[:12])
        print(f"  over {SLOW * 1000:.0f} ms: {len(run.slow)} requests, begun at +{moments} s")
    if t.errors or errors:
        print(f"  ERRORS client {dict(t.errors)} server {dict(errors)}")
    settled = found.outcomes.get("abandoned", 0) == len(run.left) == len(run.placed)
    ok = p99 < 50 and not (found.lost or found.duplicated or found.wrong_place or t.errors)
    return ok and settled


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    add_server_arguments(parser)
    parser.set_defaults(database="sqlite")
    parser.add_argument("--callers", type=int, default=200, help="callers waiting (default 200)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    parser.add_argument("--duration", type=float, default=20.0, help="measured seconds (20)")
    parser.add_argument("--warmup", type=float, default=5.0, help="unmeasured seconds first (5)")
    parser.add_argument(
        "--think", type=float, default=2.0, help="mean pause between wait requests (2 s)"
    )
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    signal.signal(signal.SIGTERM, interrupt)
    kinds = ["sqlite", "postgresql"] if args.database == "both" else [args.database]
    try:
        results = [run_database(kind, args) for kind in kinds]
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    print("targets met" if all(results) else "TARGET MISSED")
    return 0 if all(results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
