"""Load: concurrent simulated callers running complete calls, on SQLite and on PostgreSQL.

Run: .venv/bin/python bench/bench_load.py [--database sqlite|postgresql|both] [--callers 200]
     [--outbox] [--open-all-day]
(about two minutes per database; stops on its own; exit status 1 when a target is missed)

For each database, on 127.0.0.1 only (servers and requests: bench/_harness.py):

1. a fresh database: an embedded SQLite file in a temporary instance folder,
   or the PostgreSQL database of --postgresql-url emptied (every table
   dropped), migrated with `ivr db upgrade` and given the demo configuration
   with `ivr config import`;
2. two gunicorn servers with the same options: the service and the bare Flask
   endpoint of bench/bare_app.py (constant TwiML);
3. four phases, each with --callers simulated callers at once:
   - "bare": POST /voice/incoming to the bare endpoint, back to back;
   - "incoming": POST /voice/incoming to the service, back to back, each with a
     new CallSid (these calls are closed afterwards with a status callback,
     outside the measured window); its throughput against the bare
     endpoint's is the ratio of the target (these calls stay open during the
     phase, so every request also reads more open calls for the busy check);
   - "calls, paced": complete calls, a pause of --think seconds on average
     (0.5x to 1.5x) between the steps of a call, as a caller listens to the
     prompts; the latency target is read here;
   - "calls, saturated": complete calls back to back, which gives the most
     calls per second the server takes (latency there is mostly queueing);
4. a complete call is what Twilio sends for a caller with a usage question
   (keypad 2) who keys department 63 (structure Auvergne):
   /voice/incoming, /voice/menu (Digits=2), /voice/department (Digits=63),
   then, as the answer says: <Dial> (referents or hotline, open hours only)
   -> /voice/dial-result (DialCallStatus=completed), or <Enqueue> (the
   hotline open and every member busy) -> its wait URL once or twice
   (QueuePosition, QueueTime… as Twilio sends them; a pause between the two)
   and its action with QueueResult=hangup (the caller gave up waiting; after
   a <Leave>, QueueResult=leave and the voicemail it offers), or <Record>
   (closed, or everybody already on a call through us) -> /voice/voicemail
   (a 14 s message); and /voice/status (CallStatus=completed) last. Routing
   follows the real clock (nothing is frozen), so the share of the paths
   depends on the hour of the run (at night and at weekends every call leaves
   a message, as in the figures before the waiting line); all are counted and
   shown. --open-all-day makes the hotline open around the clock (like
   bench_queue.py), so the line is used whatever the hour;
5. after the run, the call book is read: every CallSid placed must have
   exactly one row in `calls`, closed (ended_at), with exactly one
   `call.started` and one `status` event (complete calls: also one
   `menu.choice` and one `structure`; calls that waited in the line: one
   `queue.entered`, one `queue.left` and one `queue_entries` row, ended); lost
   and duplicated rows and events are counted against the calls placed;
6. the outbox is read too: with --outbox (e-mail and one helpdesk receiver
   configured through the servers' environment: `_harness.outbox_env`;
   nothing listens there and no scheduler runs, so rows are queued and stay
   pending) every new ticket must have queued its e-mail notice (to
   IVR_HOTLINE_EMAIL, as the demo's referents have no address) and its
   `ticket.created` event, every call placed its `call.completed` event (the
   dedupe keys are computed from the ticket numbers and CallSids); without
   it, no e-mail and no event may be queued. Rows of other topics (the SMS
   of a missed call in the line, `ticket.updated` when a message joins a
   caller's open ticket) are counted and shown.

Targets (this 2-core machine): 200 callers with 0 lost and 0 duplicated rows,
p99 < 100 ms on PostgreSQL (paced calls), and the incoming webhook at >= 40%
of the bare endpoint's throughput.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import random
import shutil
import signal
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from _harness import (
    HOTLINE_EMAIL,
    RECEIVER,
    BadResponse,
    Client,
    Server,
    Timings,
    add_server_arguments,
    call_params,
    check_answer,
    interrupt,
    new_call_sid,
    open_all_day,
    outbox_env,
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

P99_TARGET_MS = 100.0  # on PostgreSQL, paced calls
RATIO_TARGET = 0.40
STEPS = (
    "incoming", "menu", "department", "dial-result", "queue-wait", "queue-done", "voicemail",
    "status",
)  # fmt: skip
MAX_DIALS = 6  # a call rings at most this many legs before the bench gives up on it


# -- the simulated callers -----------------------------------------------------------


@dataclass
class Phase:
    name: str
    seconds: float = 0.0
    timings: Timings = field(default_factory=Timings)
    calls_done: int = 0  # complete calls whose status callback was answered in the window
    paths: Counter[str] = field(default_factory=Counter)
    client_cpu: float = 0.0
    server_cpu: float = 0.0

    def rate(self, kind: str | None = None) -> float:
        return self.timings.count(kind) / self.seconds


@dataclass
class Book:
    """What the bench placed, to be checked against the call book."""

    placed: dict[str, str] = field(default_factory=dict)  # CallSid -> "incoming" or "call"
    failed: set[str] = field(default_factory=set)  # a request of the call went wrong
    queued: set[str] = field(default_factory=set)  # answered <Enqueue>


class Caller:
    def __init__(self, index: int, port: int, token: str, window: tuple[float, float]) -> None:
        self.rng = random.Random(index)
        self.client = Client(port)
        self.port, self.token = port, token
        self.start, self.end = window
        self.last = b""  # the body of the last answer

    def request(self, path: str, params: dict[str, str]) -> bytes:
        return signed_request(self.port, path, params, self.token)

    async def step(self, phase: Phase, kind: str, payload: bytes, expected: int = 200) -> list[str]:
        began = time.perf_counter()
        answer = await self.client.exchange(payload)
        done = time.perf_counter()
        verbs = check_answer(answer, expected)
        self.last = answer.body
        if self.start <= began and done <= self.end:
            phase.timings.add(kind, done - began)
        return verbs

    async def pause(self, think: float) -> None:
        if think:
            await asyncio.sleep(think * self.rng.uniform(0.5, 1.5))

    async def complete_call(self, phase: Phase, book: Book, think: float) -> None:
        sid = new_call_sid()
        common = call_params(sid, f"+336{self.rng.randrange(10**8):08d}")
        book.placed[sid] = "call"
        path = "?"
        try:
            ringing = common | {"CallStatus": "ringing"}
            await self.step(phase, "incoming", self.request("/voice/incoming", ringing))
            live = common | {"CallStatus": "in-progress"}
            await self.pause(think)
            menu = live | {"Digits": "2", "msg": "Gather End"}
            await self.step(phase, "menu", self.request("/voice/menu", menu))
            await self.pause(think)
            department = live | {"Digits": "63", "FinishedOnKey": "#", "msg": "Gather End"}
            verbs = await self.step(
                phase, "department", self.request("/voice/department", department)
            )
            path = await self.route(phase, book, live, verbs, think)
            await self.pause(think)
            status = common | {
                "CallStatus": "completed",
                "CallDuration": str(self.rng.randrange(20, 400)),
                "CallbackSource": "call-progress-events",
                "SequenceNumber": "0",
            }
            began = time.perf_counter()
            await self.step(phase, "status", self.request("/voice/status", status), 204)
            if self.start <= began and time.perf_counter() <= self.end:
                phase.calls_done += 1
                phase.paths[path] += 1
        except (OSError, BadResponse) as exc:
            book.failed.add(sid)
            name = str(exc) if isinstance(exc, BadResponse) else type(exc).__name__
            phase.timings.errors[name] += 1

    async def route(
        self, phase: Phase, book: Book, live: dict[str, str], verbs: list[str], think: float
    ) -> str:
        """Follow the answer of the department step: ring, wait in line, leave a message."""
        dials = 0
        while "Dial" in verbs and dials < MAX_DIALS:
            dials += 1
            await self.pause(think)
            result = live | {
                "DialCallStatus": "completed",
                "DialCallDuration": str(self.rng.randrange(30, 600)),
                "DialCallSid": new_call_sid(),
            }
            verbs = await self.step(
                phase, "dial-result", self.request("/voice/dial-result", result)
            )
        waited = "Enqueue" in verbs
        if waited:
            book.queued.add(live["CallSid"])
            verbs = await self.wait_in_line(phase, live, think)
        if "Record" in verbs:
            await self.pause(think)
            recording = "RE" + new_call_sid()[2:]
            message = live | {
                "RecordingSid": recording,
                "RecordingUrl": f"https://api.twilio.com/2010-04-01/Accounts/{live['AccountSid']}"
                f"/Recordings/{recording}",
                "RecordingDuration": "14",
                "Digits": "hangup",
            }
            await self.step(phase, "voicemail", self.request("/voice/voicemail", message))
            return ", then ".join(
                [*(["dial"] if dials else []), *(["line"] if waited else []), "voicemail"]
            )
        if waited:
            return "dial, then line" if dials else "line"
        return "dial" if dials else "other: " + " ".join(dict.fromkeys(verbs))

    async def wait_in_line(self, phase: Phase, live: dict[str, str], think: float) -> list[str]:
        """The Enqueue's wait URL once or twice, then its action: the caller hung up
        (or was told to leave). Answers the action's verbs."""
        enqueue = ET.fromstring(self.last).find("Enqueue")
        if enqueue is None or not enqueue.get("waitUrl") or not enqueue.get("action"):
            raise BadResponse("Enqueue without waitUrl or action")
        wait_url, done_url = enqueue.get("waitUrl", ""), enqueue.get("action", "")
        began = time.perf_counter()
        position = self.rng.randrange(1, 10)
        line = {"QueueSid": "QU" + "7" * 32, "CurrentQueueSize": str(position + 2)}
        result = "hangup"
        for turn in range(self.rng.choice((1, 2))):
            if turn:  # Twilio asks again once the announcement and the music are over
                await self.pause(think)
            waited = str(int(time.perf_counter() - began))
            params = live | line | {"QueuePosition": str(max(1, position - turn)),
                                    "QueueTime": waited, "AvgQueueTime": waited}  # fmt: skip
            verbs = await self.step(phase, "queue-wait", self.request(wait_url, params))
            if "Leave" in verbs:
                result = "leave"
                break
        await self.pause(think)
        left = live | line | {"QueueResult": result,
                              "QueueTime": str(int(time.perf_counter() - began))}  # fmt: skip
        return await self.step(phase, "queue-done", self.request(done_url, left))

    async def incoming_only(self, phase: Phase, book: Book | None) -> None:
        sid = new_call_sid()
        params = call_params(sid, f"+336{self.rng.randrange(10**8):08d}")
        if book is not None:
            book.placed[sid] = "incoming"
        try:
            payload = self.request("/voice/incoming", params | {"CallStatus": "ringing"})
            await self.step(phase, "incoming", payload)
        except (OSError, BadResponse) as exc:
            if book is not None:
                book.failed.add(sid)
            name = str(exc) if isinstance(exc, BadResponse) else type(exc).__name__
            phase.timings.errors[name] += 1


async def drive(
    port: int, token: str, args: argparse.Namespace, phase: Phase, mode: str, book: Book | None
) -> None:
    start = time.perf_counter() + args.warmup
    end = start + phase.seconds

    async def one(index: int) -> None:
        caller = Caller(index, port, token, (start, end))
        think = args.think if mode == "paced" else 0.0
        if think:  # spread the first calls over one pause
            await asyncio.sleep(caller.rng.uniform(0, think))
        try:
            while time.perf_counter() < end:
                if mode == "incoming":
                    await caller.incoming_only(phase, book)
                else:
                    assert book is not None
                    await caller.complete_call(phase, book, think)
        finally:
            caller.client.close()

    await asyncio.gather(*(one(i) for i in range(args.callers)))


def run_phase(
    server: Server,
    token: str,
    args: argparse.Namespace,
    phase: Phase,
    mode: str,
    book: Book | None,
) -> Phase:
    server.new_log_lines()
    client_before, server_before = time.process_time(), server.cpu_seconds()
    wall = time.perf_counter()
    asyncio.run(drive(server.port, token, args, phase, mode, book))
    wall = time.perf_counter() - wall
    phase.client_cpu = (time.process_time() - client_before) / wall
    phase.server_cpu = (server.cpu_seconds() - server_before) / wall
    for marker, count in server_errors(server.new_log_lines()).items():
        phase.timings.errors[f"server log: {marker}"] += count
    return phase


async def close_calls(port: int, token: str, sids: list[str], callers: int) -> int:
    """Status callbacks for the incoming-only calls; answers how many failed."""
    queue = list(sids)
    failed = 0

    async def worker() -> None:
        nonlocal failed
        client = Client(port)
        try:
            while queue:
                sid = queue.pop()
                params = call_params(sid, "+33600000000") | {
                    "CallStatus": "completed",
                    "CallDuration": "3",
                }
                try:
                    answer = await client.exchange(
                        signed_request(port, "/voice/status", params, token)
                    )
                    check_answer(answer, 204)
                except (OSError, BadResponse):
                    failed += 1
        finally:
            client.close()

    await asyncio.gather(*(worker() for _ in range(callers)))
    return failed


# -- the call book against what was placed ------------------------------------------------


@dataclass
class Audit:
    placed: int
    rows: int
    lost: int
    duplicated: int
    open_calls: int
    events: int
    events_missing: int
    events_duplicated: int
    failed_calls: int
    queued: int = 0  # calls that waited in the line
    line_rows: int = 0
    line_lost: int = 0
    line_duplicated: int = 0
    line_open: int = 0  # rows still `waiting`
    tickets: int = 0
    outbox: Counter[str] = field(default_factory=Counter)  # "kind topic" -> rows
    outbox_expected: int = 0
    outbox_lost: int = 0
    outbox_unexpected: int = 0


EXPECTED_EVENTS = {
    "incoming": ("call.started", "status"),
    "call": ("call.started", "menu.choice", "structure", "status"),
    "line": ("queue.entered", "queue.left"),
}
OTHER_TOPICS = ("event ticket.updated", "sms call.missed")
"""Outbox rows the bench does not predict: a message joining a caller's open ticket,
the SMS of a missed call in the line (once per caller and day)."""


def event_key(kind: str, key: str) -> str:
    """The dedupe key of an event row for the bench's receiver (`ivr.notify.events`)."""
    webhook_id = "msg_" + hashlib.sha256(f"{kind}:{key}".encode()).hexdigest()[:32]
    return f"event:{webhook_id}:{RECEIVER}"


def expected_outbox(book: Book, tickets: list[str]) -> set[str]:
    """Dedupe keys: per new ticket its e-mail notice and `ticket.created`, per call
    `call.completed` (calls with a failed request are not checked)."""
    keys = {f"ticket.created:{number}:{HOTLINE_EMAIL}" for number in tickets}
    keys |= {event_key("ticket.created", number) for number in tickets}
    keys |= {event_key("call.completed", sid) for sid in book.placed if sid not in book.failed}
    return keys


def audit_outbox(result: Audit, rows: list[tuple[str, str, str]], expected: set[str]) -> None:
    present = {key for _, _, key in rows}
    result.outbox = Counter(f"{kind} {topic}" for kind, topic, _ in rows)
    result.outbox_expected = len(expected)
    result.outbox_lost = len(expected - present)
    result.outbox_unexpected = sum(
        1
        for kind, topic, key in rows
        if key not in expected and f"{kind} {topic}" not in OTHER_TOPICS
    )


def audit(database_url: str, book: Book, outbox: bool) -> Audit:
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            rows = Counter(sid for (sid,) in conn.execute(text("SELECT call_sid FROM calls")))
            open_rows = {
                sid
                for (sid,) in conn.execute(
                    text("SELECT call_sid FROM calls WHERE ended_at IS NULL")
                )
            }
            counts = {
                (sid, kind): n
                for sid, kind, n in conn.execute(
                    text(
                        "SELECT c.call_sid, e.kind, COUNT(*) FROM call_events e "
                        "JOIN calls c ON c.id = e.call_id GROUP BY c.call_sid, e.kind"
                    )
                )
            }
            line = conn.execute(text("SELECT call_sid, outcome FROM queue_entries")).all()
            tickets = [n for (n,) in conn.execute(text("SELECT number FROM tickets"))]
            queued = conn.execute(text("SELECT kind, topic, dedupe_key FROM outbox")).all()
    finally:
        engine.dispose()
    missing = duplicated = 0
    for sid, kind in book.placed.items():
        if sid in book.failed:
            continue
        expected = EXPECTED_EVENTS[kind] + (EXPECTED_EVENTS["line"] if sid in book.queued else ())
        for event in expected:
            n = counts.get((sid, event), 0)
            missing += n == 0
            duplicated += max(0, n - 1)
    in_line = Counter(sid for sid, _ in line)
    result = Audit(
        placed=len(book.placed),
        rows=sum(rows.values()),
        lost=sum(1 for sid in book.placed if sid not in rows),
        duplicated=sum(n - 1 for n in rows.values() if n > 1)
        + sum(1 for sid in rows if sid not in book.placed),
        open_calls=len(open_rows & book.placed.keys()),
        events=sum(counts.values()),
        events_missing=missing,
        events_duplicated=duplicated,
        failed_calls=len(book.failed),
        queued=len(book.queued),
        line_rows=len(line),
        line_lost=sum(1 for sid in book.queued - book.failed if sid not in in_line),
        line_duplicated=sum(n - 1 for n in in_line.values() if n > 1),
        line_open=sum(1 for _, outcome in line if outcome == "waiting"),
        tickets=len(tickets),
    )
    audit_outbox(
        result, [tuple(r) for r in queued], expected_outbox(book, tickets) if outbox else set()
    )
    return result


# -- one database ------------------------------------------------------------------------


@dataclass
class Result:
    database: str
    phases: dict[str, Phase]
    audit: Audit
    ratio: float


def run_database(kind: str, args: argparse.Namespace) -> Result:
    workdir = Path(tempfile.mkdtemp(prefix=f"bench-load-{kind}-"))
    instance = workdir / "instance"
    url = args.postgresql_url if kind == "postgresql" else ""
    servers: list[Server] = []
    try:
        env = server_env(instance, url, outbox_env() if args.outbox else None)
        token = prepare_database(workdir, env)
        if args.open_all_day:
            open_all_day(workdir, env)
        ours = start_server("webhooks", args.app, workdir, env, args.workers, args.threads)
        servers.append(ours)
        bare = start_server(
            "bare", "bare_app:create_app()", workdir, env, args.workers, args.threads
        )
        servers.append(bare)
        wait_ready(ours, "GET", "/healthz")
        wait_ready(bare, "POST", "/voice/ready")
        book = Book()
        phases = {
            "bare": run_phase(bare, token, args, Phase("bare", args.duration), "incoming", None),
            "incoming": run_phase(
                ours, token, args, Phase("incoming", args.duration), "incoming", book
            ),
        }
        opened = [sid for sid, what in book.placed.items() if what == "incoming"]
        unclosed = asyncio.run(close_calls(ours.port, token, opened, args.callers))
        phases["calls, paced"] = run_phase(
            ours, token, args, Phase("calls, paced", args.paced_duration), "paced", book
        )
        phases["calls, saturated"] = run_phase(
            ours, token, args, Phase("calls, saturated", args.duration), "saturated", book
        )
        result = Result(
            kind,
            phases,
            audit(url or f"sqlite:///{instance / 'ivr.sqlite3'}", book, args.outbox),
            phases["incoming"].rate() / phases["bare"].rate(),
        )
        if unclosed:
            phases["incoming"].timings.errors["status callback after the phase"] += unclosed
        print_result(result, args)
        return result
    finally:
        for server in servers:
            stop_server(server)
        if os.environ.get("BENCH_KEEP"):
            print(workdir)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


# -- report -------------------------------------------------------------------------------


def print_result(result: Result, args: argparse.Namespace) -> None:
    worker = "sync" if args.threads == 1 else f"gthread, {args.threads} threads"
    print(
        f"{result.database}: gunicorn {args.workers} workers ({worker}), {args.callers} callers,"
        f" think {args.think:g} s (paced)"
        + (", outbox on" if args.outbox else "")
        + (", hotline open all day" if args.open_all_day else "")
    )
    print(
        f"  {'phase':<18}{'step':<13}{'requests':>9}{'req/s':>8}{'p50 ms':>9}{'p99 ms':>9}"
        f"{'server':>8}{'client':>8}"
    )
    for label, phase in result.phases.items():
        kinds = [k for k in STEPS if phase.timings.count(k)]
        for kind in [*kinds, None] if len(kinds) > 1 else kinds:
            t = phase.timings
            line = (
                f"  {label:<18}{kind or 'all':<13}{t.count(kind):>9}{phase.rate(kind):>8.0f}"
                f"{t.percentile_ms(kind, 0.5):>9.1f}{t.percentile_ms(kind, 0.99):>9.1f}"
            )
            if kind is None or len(kinds) == 1:
                line += f"{phase.server_cpu:>8.0%}{phase.client_cpu:>8.0%}"
            print(line)
    for label, phase in result.phases.items():
        if phase.calls_done:
            paths = ", ".join(f"{p} ×{n}" for p, n in phase.paths.most_common())
            print(f"  {label}: {phase.calls_done / phase.seconds:.1f} calls/s ({paths})")
        if phase.timings.errors:
            print(f"  {label}: ERRORS {dict(phase.timings.errors)}")
    a = result.audit
    print(f"  incoming / bare throughput: {result.ratio:.2f}")
    print(
        f"  call book: {a.placed} calls placed, {a.rows} rows, {a.lost} lost, "
        f"{a.duplicated} duplicated, {a.open_calls} left open; {a.events} events, "
        f"{a.events_missing} missing, {a.events_duplicated} duplicated"
        + (f" ({a.failed_calls} calls with a failed request not checked)" if a.failed_calls else "")
    )
    if a.queued or a.line_rows:
        print(
            f"  line: {a.queued} calls waited, {a.line_rows} queue_entries rows,"
            f" {a.line_lost} lost, {a.line_duplicated} duplicated, {a.line_open} still waiting"
        )
    queued = ", ".join(f"{what} ×{n}" for what, n in sorted(a.outbox.items())) or "none"
    print(
        f"  outbox: {a.outbox.total()} rows queued ({queued}) for {a.tickets} new tickets;"
        f" {a.outbox_expected} expected, {a.outbox_lost} lost, {a.outbox_unexpected} unexpected"
    )
    print(flush=True)


def verdicts(results: list[Result], args: argparse.Namespace) -> bool:
    checks: list[tuple[str, bool, str]] = []
    for r in results:
        a = r.audit
        checks.append(
            (
                f"{r.database}: {args.callers} callers, 0 lost / 0 duplicated rows and events",
                a.lost == a.duplicated == a.events_missing == a.events_duplicated == 0
                and a.open_calls == 0
                and a.failed_calls == 0,
                f"{a.lost} lost, {a.duplicated} duplicated, {a.events_missing} events missing, "
                f"{a.events_duplicated} duplicated, {a.open_calls} open, {a.failed_calls} failed",
            )
        )
        if a.queued or args.outbox:
            checks.append(
                (
                    f"{r.database}: line and outbox rows, 0 lost / 0 duplicated / 0 unexpected",
                    a.line_lost == a.line_duplicated == a.line_open == 0
                    and a.outbox_lost == a.outbox_unexpected == 0,
                    f"line {a.line_lost} lost, {a.line_duplicated} duplicated, {a.line_open}"
                    f" waiting; outbox {a.outbox_lost} lost, {a.outbox_unexpected} unexpected",
                )
            )
        checks.append(
            (
                f"{r.database}: incoming >= {RATIO_TARGET:.0%} of bare",
                r.ratio >= RATIO_TARGET,
                f"{r.ratio:.0%}",
            )
        )
        if r.database == "postgresql":
            p99 = r.phases["calls, paced"].timings.percentile_ms(None, 0.99)
            checks.append(
                (
                    f"postgresql: p99 (paced calls) < {P99_TARGET_MS:.0f} ms",
                    p99 < P99_TARGET_MS,
                    f"{p99:.1f} ms",
                )
            )
        errors = sum(sum(p.timings.errors.values()) for p in r.phases.values())
        checks.append((f"{r.database}: every answer valid", errors == 0, f"{errors} errors"))
    for label, ok, value in checks:
        print(f"  {'PASS' if ok else 'FAIL'}  {label}: {value}")
    return all(ok for _, ok, _ in checks)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    add_server_arguments(parser)
    parser.add_argument("--callers", type=int, default=200, help="simulated callers (default 200)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    parser.add_argument(
        "--threads", type=int, default=1, help="threads per worker; > 1 uses gthread (default 1)"
    )
    parser.add_argument(
        "--duration", type=float, default=10.0, help="measured seconds of the back-to-back phases"
    )
    parser.add_argument(
        "--paced-duration", type=float, default=30.0, help="measured seconds of the paced calls"
    )
    parser.add_argument("--warmup", type=float, default=2.0, help="unmeasured seconds first")
    parser.add_argument(
        "--think", type=float, default=3.0, help="mean pause between steps, paced calls (3 s)"
    )
    parser.add_argument(
        "--outbox",
        action="store_true",
        help="e-mail and a helpdesk receiver configured: new tickets and calls queue outbox rows",
    )
    parser.add_argument(
        "--open-all-day",
        action="store_true",
        help="the hotline open around the clock, so callers wait in its line whatever the hour",
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
    print("summary")
    return 0 if verdicts(results, args) else 1


if __name__ == "__main__":
    raise SystemExit(main())
