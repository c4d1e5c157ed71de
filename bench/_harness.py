"""What the webhook benchmarks share: gunicorn servers, Twilio-signed requests, an HTTP client.

- servers: the service (`ivr.app:create_app()`) and `bench/bare_app.py` under
  the gunicorn CLI, in subprocesses, with the same options, on free ports of
  127.0.0.1; the caller's TWILIO_* and IVR_* variables are dropped and the
  servers run in a temporary folder (no `.env` is read), on the code of this
  checkout (PYTHONPATH);
- databases: a fresh embedded SQLite file (migrated, demo configuration), or a
  PostgreSQL database emptied, migrated with `ivr db upgrade` and given the
  demo configuration with `ivr config import`;
- requests: form posts signed with `ivr.twilio_adapter.sign` on the URL the
  server sees, with the fields Twilio sends;
- the client: asyncio at the transport level (a stream reader costs about
  twice the CPU, and the client shares this machine's cores with the servers);
  every answer is checked: HTTP status, `text/xml`, a TwiML `<Response>` that
  parses.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import math
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

from sqlalchemy import MetaData

from callbook.db import make_engine
from ivr.config import demo_yaml_text, load_yaml_text
from ivr.config.loader import to_data
from ivr.twilio_adapter import sign

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO / "bench"
HOST = "127.0.0.1"
DEMO_YAML = REPO / "ivr" / "demo" / "demo.yaml"
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"

ACCOUNT_SID = "AC" + "5" * 32
CALLED = "+33199001000"  # the demo's published number
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


# -- servers ------------------------------------------------------------------------


@dataclass
class Server:
    name: str
    port: int
    proc: subprocess.Popen[bytes]
    log: Path
    log_offset: int = 0

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


def processes() -> Iterator[tuple[int, str]]:
    """(pid, /proc/<pid>/stat) of every process of this machine that is still there."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        yield int(entry.name), stat


def children(parent: int) -> list[int]:
    return [pid for pid, stat in processes() if int(stat.rsplit(")", 1)[1].split()[1]) == parent]


def process_cpu(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def server_env(
    instance: Path, database_url: str = "", extra: dict[str, str] | None = None
) -> dict[str, str]:
    """The caller's environment without IVR_*/TWILIO_*, on this checkout's code.

    `extra` adds settings of the run (e.g. `outbox_env()`).
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IVR_", "TWILIO_"))}
    env.update(extra or {})
    env["IVR_INSTANCE_DIR"] = str(instance)
    env["PYTHONPATH"] = str(REPO)
    if database_url:  # a deployment: its own secret key, and the URL each request uses
        env["IVR_DATABASE_URL"] = database_url
        env["IVR_SECRET_KEY"] = secrets.token_hex(32)
        env["IVR_TRUST_PROXY"] = "true"  # no proxy sets X-Forwarded-*: the request's own URL
    return env


HOTLINE_EMAIL = "hotline@example.org"
RECEIVER = "helpdesk"


def outbox_env() -> dict[str, str]:
    """E-mail and one helpdesk receiver configured, so the webhooks queue outbox rows.

    Nothing listens on the SMTP port nor at the receiver's URL: no scheduler
    runs, so nothing is delivered; the rows stay pending.
    """
    secret = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode("ascii")
    receiver = {"name": RECEIVER, "url": f"http://{HOST}:{free_port()}/events", "secret": secret}
    return {
        "IVR_SMTP_HOST": HOST,
        "IVR_SMTP_PORT": str(free_port()),
        "IVR_SMTP_TLS": "none",
        "IVR_SMTP_FROM": "Assistance <assistance@example.org>",
        "IVR_HOTLINE_EMAIL": HOTLINE_EMAIL,
        "IVR_WEBHOOK_RECEIVERS": json.dumps([receiver]),
    }


def open_all_day(workdir: Path, env: dict[str, str]) -> None:
    """The demo, its hotline open around the clock (JSON is YAML), made active."""
    data = to_data(load_yaml_text(demo_yaml_text()))
    data["calendars"]["hotline"] = {
        "timezone": "Europe/Paris",
        "weekly": {day: ["00:00-23:59"] for day in DAYS},
    }
    path = workdir / "open-all-day.yaml"
    path.write_text(json.dumps(data), encoding="utf-8")
    command = ["config", "import", str(path), "--comment", "bench: always open"]
    _run_quietly([sys.executable, "-m", "ivr.cli", *command], workdir, env)


def _run_quietly(command: list[str], workdir: Path, env: dict[str, str]) -> None:
    done = subprocess.run(command, cwd=workdir, env=env, capture_output=True, check=False)
    if done.returncode != 0:
        shown = " ".join(command[2:])
        output = (done.stdout + done.stderr).decode(errors="replace")[-2000:]
        raise RuntimeError(f"{shown} failed ({done.returncode}):\n{output}")


def prepare_database(workdir: Path, env: dict[str, str]) -> str:
    """Make the database ready for the workers; answer the webhook token.

    Embedded SQLite: create the app once (migration, demo configuration), so
    workers do not race for them. IVR_DATABASE_URL: drop every table (like
    the tests' `empty_database`), `ivr db upgrade`, `ivr config import` the demo.
    """
    url = env.get("IVR_DATABASE_URL", "")
    if url:
        empty_database(url)
        _run_quietly([sys.executable, "-m", "ivr.cli", "db", "upgrade"], workdir, env)
        command = ["config", "import", str(DEMO_YAML), "--comment", "benchmark"]
        _run_quietly([sys.executable, "-m", "ivr.cli", *command], workdir, env)
    script = "from ivr.app import create_app; create_app()"
    _run_quietly([sys.executable, "-c", script], workdir, env)
    return (Path(env["IVR_INSTANCE_DIR"]) / "webhook-token").read_text(encoding="ascii").strip()


def empty_database(url: str) -> None:
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            existing = MetaData()
            existing.reflect(connection)
            existing.drop_all(connection)
    finally:
        engine.dispose()


def add_server_arguments(parser: argparse.ArgumentParser) -> None:
    """--database, --postgresql-url and --app, as every load benchmark takes them."""
    parser.add_argument("--database", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument(
        "--postgresql-url",
        default=DEFAULT_PG,
        help=f"PostgreSQL database, EMPTIED first (default {DEFAULT_PG})",
    )
    parser.add_argument(
        "--app",
        default="ivr.app:create_app()",
        help="the service's app factory for gunicorn (default: ivr.app:create_app())",
    )


def start_server(
    name: str, spec: str, workdir: Path, env: dict[str, str], workers: int, threads: int
) -> Server:
    """`gunicorn SPEC` with the given workers (sync, or gthread when threads > 1)."""
    port = free_port()
    log = workdir / f"{name}.log"
    worker = ["--worker-class", "sync"]
    if threads > 1:
        worker = ["--worker-class", "gthread", "--threads", str(threads)]
    command = [
        sys.executable, "-m", "gunicorn", spec,
        "--bind", f"{HOST}:{port}",
        "--workers", str(workers),
        *worker,
        "--preload",  # like `ivr serve`: the app is created before the fork
        "--pythonpath", f"{REPO},{BENCH}",
        "--access-logfile", str(workdir / f"{name}-access.log"),
        "--error-logfile", "-",
    ]  # fmt: skip
    with log.open("wb") as out:
        proc = subprocess.Popen(
            command, cwd=workdir, env=env, stdout=out, stderr=out, start_new_session=True
        )
    return Server(name, port, proc, log)


def wait_ready(server: Server, method: str, path: str, timeout: float = 30.0) -> None:
    import http.client

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


# What the service logs when it answered degraded TwiML, lost a callback, or crashed.
SERVER_ERRORS = (
    b"voice step failed",
    b"could not record",
    b"database unavailable",
    b"degraded answer failed",
    b"Exception on ",
    b"Error handling request",
    b"WORKER TIMEOUT",
)


def server_errors(log: bytes) -> Counter[str]:
    return Counter({m.decode(): log.count(m) for m in SERVER_ERRORS if m in log})


def interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


# -- Twilio-signed requests ------------------------------------------------------------


def new_call_sid() -> str:
    return "CA" + secrets.token_hex(16)


def call_params(sid: str, caller: str) -> dict[str, str]:
    """The fields Twilio sends with every webhook of an inbound call."""
    return {
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


def signed_request(port: int, path: str, params: dict[str, str], token: str) -> bytes:
    """The bytes of the POST Twilio would send, X-Twilio-Signature included."""
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


# -- the HTTP client -------------------------------------------------------------------


class BadResponse(Exception):
    pass


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    content_type: bytes
    body: bytes
    keep_alive: bool


class Connection(asyncio.Protocol):
    """One HTTP/1.1 client connection, at the transport level.

    `send` writes a request and answers a future for the whole response; the
    parser knows what the two servers send: Content-Length, or no body (204).
    """

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.waiter: asyncio.Future[Answer] | None = None
        self.head: tuple[int, dict[bytes, bytes], int] | None = None  # status, headers, end
        self.closed = False

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


class Client:
    """One simulated caller's connection: kept alive when the server allows it."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.conn: Connection | None = None
        self.connections = 0

    async def exchange(self, payload: bytes) -> Answer:
        """Send one request and read its answer.

        A kept-alive connection the server closed while idle is retried once
        on a new one, only when nothing at all was answered on it.
        """
        loop = asyncio.get_running_loop()
        for _ in range(2):
            reused = self.conn is not None
            if self.conn is None:
                _, self.conn = await loop.create_connection(Connection, HOST, self.port)
                self.connections += 1
            conn = self.conn
            try:
                answer = await conn.send(payload)
            except ConnectionError:
                nothing = not conn.buffer
                self.close()
                if reused and nothing:
                    continue
                raise
            except BaseException:
                self.close()
                raise
            if not answer.keep_alive or conn.closed:
                self.close()
            return answer
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def check_answer(answer: Answer, expected_status: int) -> list[str]:
    """The verbs of a TwiML answer (in order, nested ones included); raises BadResponse.

    A 204 (status callbacks) has no body and answers [].
    """
    if answer.status != expected_status:
        raise BadResponse(f"HTTP {answer.status}")
    if answer.status == 204:
        return []
    if not answer.content_type.startswith(b"text/xml"):
        raise BadResponse(answer.content_type.decode(errors="replace") or "no content type")
    try:
        root = ET.fromstring(answer.body)
    except ET.ParseError as exc:
        raise BadResponse(f"invalid XML: {exc}") from exc
    if root.tag != "Response":
        raise BadResponse(f"root element <{root.tag}>, not <Response>")
    return [element.tag for element in root.iter()][1:]


# -- figures ------------------------------------------------------------------------------


@dataclass
class Timings:
    """Latencies in seconds per step, and what went wrong."""

    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: Counter[str] = field(default_factory=Counter)

    def add(self, kind: str, seconds: float) -> None:
        self.latencies.setdefault(kind, []).append(seconds)

    def values(self, kind: str | None) -> list[float]:
        if kind is None:
            return [v for vs in self.latencies.values() for v in vs]
        return self.latencies.get(kind, [])

    def count(self, kind: str | None = None) -> int:
        return len(self.values(kind))

    def percentile_ms(self, kind: str | None, q: float) -> float:
        return percentile_ms(self.values(kind), q)


def percentile_ms(seconds: list[float], q: float) -> float:
    """The q-quantile (nearest rank) in milliseconds; NaN when there is nothing."""
    if not seconds:
        return math.nan
    ordered = sorted(seconds)
    return ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)] * 1000
