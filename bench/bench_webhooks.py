"""Webhook latency and throughput under gunicorn, against a bare Flask endpoint.

Run: .venv/bin/python bench/bench_webhooks.py   (about two minutes; stops on its own)

What it does, in one process, on 127.0.0.1 only:

1. makes a temporary instance folder, creates the app once there (migration
   and demo configuration, so workers do not race for them), and reads the
   local webhook token the app wrote (TWILIO_* and IVR_* variables of the
   caller's environment are dropped, and servers run in the temporary folder
   so no `.env` is read);
2. starts two gunicorn servers with the same settings, on free ports: the
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
5. prints the tables, the ratio of the two saturated throughputs, and PASS or
   FAIL against the targets: p99 of /voice/incoming and /voice/menu < 50 ms,
   webhook throughput >= 40% of the bare endpoint's; exit status 1 on a FAIL;
6. stops the servers and removes the folder, also on errors and Ctrl-C.

Server settings (the same for both apps): `--workers 3 --threads 1`, that is
3 sync workers, gunicorn's default worker class, as `ivr serve --workers 3`
runs it, with the app created in the master before the fork (`--preload`,
like `ivr serve`) and the access log on (to a file). On this 2-core machine
they gave the best webhook throughput and p99 among 2-4 sync workers and
2-4 gthread workers with 2-8 threads; `--threads N` (N > 1) switches to gthread.

Under saturation, latency is queueing: 50 callers with no pause keep 50
requests in flight, so (Little's law) the mean latency is 50 / throughput,
and a p99 under 50 ms there would need well over 1,000 requests/s.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import http.client
import math
import os
import random
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

from ivr.twilio_adapter import sign

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO / "bench"
HOST = "127.0.0.1"

P99_TARGET_MS = 50.0
RATIO_TARGET = 0.40
TIMED = ("incoming", "menu")  # the steps the latency target is about

ACCOUNT_SID = "AC" + "5" * 32
CALLED = "+33199001000"  # the demo's published number


# -- servers ------------------------------------------------------------------------


@dataclass
class Server:
    name: str
    port: int
    proc: subprocess.Popen[bytes]
    log: Path
    log_offset: int = 0

    @property
    def base(self) -> str:
        return f"http://{HOST}:{self.port}"

    def new_log_lines(self) -> bytes:
        with self.log.open("rb") as handle:
            handle.seek(self.log_offset)
            data = handle.read()
        self.log_offset += len(data)
        return data

    def cpu_seconds(self) -> float:
        """User + system CPU of the master and its workers, from /proc."""
        pids = [self.proc.pid, *children(self.proc.pid)]
        return sum(process_cpu(pid) for pid in pids)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def children(parent: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == parent:
            found.append(int(entry.name))
    return found


def process_cpu(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def server_env(instance: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IVR_", "TWILIO_"))}
    env["IVR_INSTANCE_DIR"] = str(instance)
    return env


def prepare_instance(workdir: Path, env: dict[str, str]) -> str:
    """Create the app once (migration, demo configuration); answer the webhook token."""
    subprocess.run(
        [sys.executable, "-c", "from ivr.app import create_app; create_app()"],
        cwd=workdir,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return (Path(env["IVR_INSTANCE_DIR"]) / "webhook-token").read_text(encoding="ascii").strip()


def start_server(
    name: str, spec: str, workdir: Path, env: dict[str, str], args: argparse.Namespace
) -> Server:
    port = free_port()
    log = workdir / f"{name}.log"
    worker = ["--worker-class", "sync"]
    if args.threads > 1:
        worker = ["--worker-class", "gthread", "--threads", str(args.threads)]
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        spec,
        "--bind",
        f"{HOST}:{port}",
        "--workers",
        str(args.workers),
        *worker,
        "--preload",
        "--pythonpath",
        str(BENCH),
        "--access-logfile",
        str(workdir / f"{name}-access.log"),
        "--error-logfile",
        "-",
    ]
    with log.open("wb") as out:
        proc = subprocess.Popen(
            command, cwd=workdir, env=env, stdout=out, stderr=out, start_new_session=True
        )
    return Server(name, port, proc, log)


def wait_ready(server: Server, method: str, path: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            tail = server.log.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"{server.name} exited with {server.proc.returncode}:\n{tail}")
        conn = http.client.HTTPConnection(HOST, server.port, timeout=2)
        try:
            conn.request(method, path)
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        finally:
            conn.close()
        time.sleep(0.1)
    raise RuntimeError(f"{server.name} not ready after {timeout:.0f} s")


def stop_server(server: Server) -> None:
    """SIGTERM to the master (graceful), then SIGKILL to its process group if needed."""
    if server.proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            server.proc.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            server.proc.wait(timeout=10)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(server.proc.pid, signal.SIGKILL)  # stray workers (own session)
    with contextlib.suppress(subprocess.TimeoutExpired):
        server.proc.wait(timeout=5)


# -- requests, built and signed before the clock starts -----------------------------


@dataclass(frozen=True, slots=True)
class Step:
    kind: str
    payload: bytes
    status: int


Call = tuple[Step, ...]


def http_request(port: int, path: str, params: dict[str, str], token: str) -> bytes:
    body = urllib.parse.urlencode(params).encode("ascii")
    signature = sign(token, f"http://{HOST}:{port}{path}", params)
    head = (
        f"POST {path} HTTP/1.1\r\n"
        f"Host: {HOST}:{port}\r\n"
        "User-Agent: TwilioProxy/1.1\r\n"
        "Accept: */*\r\n"
        "Content-Type: application/x-www-form-urlencoded; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\n"
        f"X-Twilio-Signature: {signature}\r\n"
        "\r\n"
    )
    return head.encode("ascii") + body


def make_call(port: int, token: str, rng: random.Random, status_code: int) -> Call:
    """The three webhooks Twilio sends for a caller who presses 1, then hangs up.

    `status_code` is what the status callback should answer: 204 from the
    service, 200 (the constant TwiML) from the bare endpoint.
    """
    sid = "CA" + secrets.token_hex(16)
    caller = f"+336{rng.randrange(10**8):08d}"
    common = {
        "AccountSid": ACCOUNT_SID,
        "ApiVersion": "2010-04-01",
        "CallSid": sid,
        "Called": CALLED,
        "CalledCountry": "FR",
        "Caller": caller,
        "CallerCountry": "FR",
        "Direction": "inbound",
        "From": caller,
        "FromCountry": "FR",
        "To": CALLED,
        "ToCountry": "FR",
    }
    return (
        Step(
            "incoming",
            http_request(port, "/voice/incoming", common | {"CallStatus": "ringing"}, token),
            200,
        ),
        Step(
            "menu",
            http_request(
                port,
                "/voice/menu",
                common | {"CallStatus": "in-progress", "Digits": "1", "msg": "Gather End"},
                token,
            ),
            200,
        ),
        Step(
            "status",
            http_request(
                port,
                "/voice/status",
                common
                | {
                    "CallStatus": "completed",
                    "CallDuration": str(rng.randrange(20, 400)),
                    "CallbackSource": "call-progress-events",
                    "SequenceNumber": "0",
                },
                token,
            ),
            status_code,
        ),
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


class BadResponse(Exception):
    pass


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
        values = (
            sorted(v for vs in self.latencies.values() for v in vs)
            if kind is None
            else sorted(self.latencies.get(kind, []))
        )
        if not values:
            return math.nan
        return values[min(len(values) - 1, math.ceil(q * len(values)) - 1)] * 1000


# What the service logs when it answered degraded TwiML, lost a callback, or crashed.
SERVER_ERRORS = (
    b"voice step failed",
    b"could not record",
    b"degraded answer failed",
    b"Exception on ",
    b"Error handling request",
    b"WORKER TIMEOUT",
)
VERB = re.compile(rb"<(Dial|Record|Gather|Hangup|Redirect|Enqueue|Say)\b")


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    content_type: bytes
    body: bytes
    keep_alive: bool


class Connection(asyncio.Protocol):
    """One HTTP/1.1 client connection, at the transport level (streams cost twice the CPU).

    `send` writes a request and answers a future for the whole response; the
    parser knows what the two servers send: Content-Length, or no body (204).
    """

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.waiter: asyncio.Future[Answer] | None = None
        self.head: tuple[int, dict[bytes, bytes], int] | None = None  # status, headers, end
        self.closed = False
        self.answered = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        self._check()

    def eof_received(self) -> bool:
        self.closed = True
        self._check()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._check()

    def send(self, payload: bytes) -> asyncio.Future[Answer]:
        assert self.transport is not None
        self.buffer.clear()
        self.head = None
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(payload)
        return self.waiter

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def _check(self) -> None:
        waiter = self.waiter
        if waiter is None or waiter.done():
            return
        try:
            answer = self._parse()
        except (ValueError, IndexError, BadResponse) as exc:
            waiter.set_exception(BadResponse(f"unreadable answer: {exc}"))
            return
        if answer is not None:
            self.answered += 1
            waiter.set_result(answer)
        elif self.closed:
            waiter.set_exception(ConnectionResetError("closed before a whole answer"))

    def _parse(self) -> Answer | None:
        if self.head is None:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return None
            lines = bytes(self.buffer[:end]).split(b"\r\n")
            headers = {}
            for line in lines[1:]:
                name, _, value = line.partition(b":")
                headers[name.strip().lower()] = value.strip()
            if b"chunked" in headers.get(b"transfer-encoding", b""):
                raise BadResponse("chunked")
            self.head = (int(lines[0].split(b" ", 2)[1]), headers, end + 4)
        status, headers, start = self.head
        length = int(headers.get(b"content-length", b"0"))
        if len(self.buffer) < start + length:
            return None
        keep = headers.get(b"connection", b"").lower() != b"close"
        body = bytes(self.buffer[start : start + length])
        return Answer(status, headers.get(b"content-type", b""), body, keep)


async def exchange(
    conn: Connection | None, port: int, payload: bytes, phase: Phase
) -> tuple[Connection | None, Answer]:
    """Send one request and read its answer, on `conn` or a new connection.

    A kept-alive connection the server closed while idle is retried once on a
    new one, only when nothing at all was answered on it.
    """
    loop = asyncio.get_running_loop()
    for _ in range(2):
        reused = conn is not None
        if conn is None:
            _, conn = await loop.create_connection(Connection, HOST, port)
            phase.connections += 1
        try:
            answer = await conn.send(payload)
        except ConnectionError:
            nothing = not conn.buffer
            conn.close()
            conn = None
            if reused and nothing:
                continue
            raise
        if not answer.keep_alive or conn.closed:
            conn.close()
            conn = None
        return conn, answer
    raise AssertionError("unreachable")


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
    conn: Connection | None = None
    if think:  # spread the callers' first steps over one pause
        await asyncio.sleep(rng.uniform(0, think))
    try:
        while time.perf_counter() < end:
            for step in pool.next():
                began = time.perf_counter()
                try:
                    conn, answer = await exchange(conn, port, step.payload, phase)
                except (OSError, BadResponse) as exc:
                    phase.errors[f"{step.kind}: {type(exc).__name__}"] += 1
                    conn = None
                    break  # this call is lost; the caller dials again
                done = time.perf_counter()
                if answer.status != step.status:
                    phase.errors[f"{step.kind}: HTTP {answer.status}"] += 1
                elif answer.status == 200 and not answer.content_type.startswith(b"text/xml"):
                    shown = answer.content_type.decode(errors="replace")
                    phase.errors[f"{step.kind}: {shown}"] += 1
                elif start <= began and done <= end:
                    phase.latencies.setdefault(step.kind, []).append(done - began)
                    if step.kind == "menu" and sum(phase.shapes.values()) < 200:
                        verbs = dict.fromkeys(m.decode() for m in VERB.findall(answer.body))
                        phase.shapes[" ".join(verbs)] += 1
                if think and done < end:
                    await asyncio.sleep(think * rng.uniform(0.5, 1.5))
    finally:
        if conn is not None:
            conn.close()


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
    log = server.new_log_lines()
    for marker in SERVER_ERRORS:
        if marker in log:
            phase.errors[f"server log: {marker.decode()}"] += log.count(marker)
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
    for label in ("saturated, webhooks", "paced, webhooks"):
        worst = max(med(label, "p99", kind) for kind in TIMED)
        text = f"p99 incoming/menu < {P99_TARGET_MS:.0f} ms, {label}"
        verdicts.append((text, worst < P99_TARGET_MS, f"{worst:.1f} ms"))
    text = f"throughput >= {RATIO_TARGET:.0%} of bare"
    verdicts.append((text, ratio >= RATIO_TARGET, f"{ratio:.0%}"))
    errors = sum(sum(p.errors.values()) for r in rounds for p in r.values())
    verdicts.append(("every answer 200 text/xml (status 204)", errors == 0, f"{errors} errors"))
    for text, ok, value in verdicts:
        print(f"  {'PASS' if ok else 'FAIL'}  {text}: {value}")
    return all(ok for _, ok, _ in verdicts)


# -- main ----------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers (default 3)")
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


def interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main() -> int:
    args = parse_args()
    signal.signal(signal.SIGTERM, interrupt)
    workdir = Path(tempfile.mkdtemp(prefix="bench-webhooks-"))
    servers: list[Server] = []
    try:
        env = server_env(workdir / "instance")
        token = prepare_instance(workdir, env)
        ours = start_server("webhooks", args.app, workdir, env, args)
        servers.append(ours)
        bare = start_server("bare", "bare_app:create_app()", workdir, env, args)
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
