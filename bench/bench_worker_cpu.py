"""What one incoming webhook costs a gunicorn worker, alone and beside a second worker.

Run: .venv/bin/python bench/bench_worker_cpu.py [--database sqlite|postgresql|both]
(about a minute per database; prints figures, judges nothing)

bench/bench_load.py measures the incoming webhook's throughput against the
bare endpoint with 200 callers at once; this script explains that ratio. For
each database (prepared as bench_load.py does, bench/_harness.py), the service
and the bare endpoint of bench/bare_app.py run under gunicorn (sync workers)
and receive signed POST /voice/incoming requests, each of a new call, from
blocking clients that send the next request when the answer is in:

- "alone": one worker, one client. Nothing else wants the cores: the worker's
  CPU per request is what the code costs;
- "side by side": two workers, two clients. Both cores are busy, as under
  load, and on PostgreSQL the database's backends run on the same two cores.

Each line gives requests per second, the server's CPU per request (user +
system of the master and its workers, from /proc) and the database server's
CPU per request (every PostgreSQL process of the machine, so run it on a
quiet one; SQLite runs inside the worker). Two rounds per setup, each after
200 unmeasured requests.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from _harness import (
    HOST,
    Server,
    add_server_arguments,
    call_params,
    children,
    new_call_sid,
    prepare_database,
    process_cpu,
    processes,
    server_env,
    signed_request,
    start_server,
    stop_server,
    wait_ready,
)

WARMUP = 200
TIMEOUT = 30.0  # seconds without an answer before a client gives up (a stalled server)


@dataclass(frozen=True, slots=True)
class Figure:
    rate: float
    server_ms: float
    database_ms: float


def exchange(port: int, payload: bytes) -> bytes:
    """One request on its own connection (sync workers close it); the whole answer."""
    with socket.create_connection((HOST, port), timeout=TIMEOUT) as sock:
        sock.sendall(payload)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    answer = b"".join(chunks)
    if not answer.startswith(b"HTTP/1.1 200"):
        raise RuntimeError(f"unexpected answer: {answer[:200]!r}")
    return answer


def postgres_cpu() -> float:
    """CPU seconds of every PostgreSQL process of this machine (0 without one)."""
    return sum(
        process_cpu(pid)
        for pid, stat in processes()
        if stat[stat.index("(") + 1 : stat.rindex(")")].startswith("postgres")
    )


def server_cpu(server: Server) -> float:
    return sum(process_cpu(pid) for pid in [server.proc.pid, *children(server.proc.pid)])


def measure(server: Server, token: str, clients: int, requests: int) -> Figure:
    def payload(index: int) -> bytes:
        params = call_params(new_call_sid(), f"+336{index:08d}") | {"CallStatus": "ringing"}
        return signed_request(server.port, "/voice/incoming", params, token)

    for index in range(WARMUP):
        exchange(server.port, payload(index))
    batches = [
        [payload(WARMUP + n) for n in range(client, requests, clients)] for client in range(clients)
    ]
    failures: list[BaseException] = []

    def send(batch: list[bytes]) -> None:
        try:
            for request in batch:
                exchange(server.port, request)
        except BaseException as error:  # reported below, in the main thread
            failures.append(error)

    threads = [threading.Thread(target=send, args=(batch,)) for batch in batches]
    cpu, database, wall = server_cpu(server), postgres_cpu(), time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - wall
    if failures:
        raise RuntimeError(f"{len(failures)} clients failed: {failures[0]}") from failures[0]
    return Figure(
        requests / wall,
        (server_cpu(server) - cpu) / requests * 1000,
        (postgres_cpu() - database) / requests * 1000,
    )


def run_database(kind: str, args: argparse.Namespace) -> None:
    workdir = Path(tempfile.mkdtemp(prefix=f"bench-worker-cpu-{kind}-"))
    url = args.postgresql_url if kind == "postgresql" else ""
    env = server_env(workdir / "instance", url)
    try:
        token = prepare_database(workdir, env)
        print(f"{kind}: POST /voice/incoming, {args.requests} requests per line")
        print(f"  {'setup':<38}{'req/s':>8}{'server ms/req':>15}{'database ms/req':>17}")
        for label, workers in (("alone", 1), ("side by side", 2)):
            servers = [
                start_server(f"webhooks-{workers}", args.app, workdir, env, workers, 1),
                start_server(f"bare-{workers}", "bare_app:create_app()", workdir, env, workers, 1),
            ]
            try:
                wait_ready(servers[0], "GET", "/healthz")
                wait_ready(servers[1], "POST", "/voice/ready")
                for round_ in (1, 2):
                    for server, name in zip(servers, ("service", "bare"), strict=True):
                        figure = measure(server, token, workers, args.requests)
                        shown = f"{name}, {label} ({workers} worker{'s' * (workers > 1)}) #{round_}"
                        print(
                            f"  {shown:<38}{figure.rate:>8.0f}{figure.server_ms:>15.3f}"
                            f"{figure.database_ms:>17.3f}",
                            flush=True,
                        )
            finally:
                for server in servers:
                    stop_server(server)
        print()
    finally:
        if os.environ.get("BENCH_KEEP"):
            print(workdir)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    add_server_arguments(parser)
    parser.add_argument("--requests", type=int, default=3000, help="measured requests per line")
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    kinds = ["sqlite", "postgresql"] if args.database == "both" else [args.database]
    for kind in kinds:
        run_database(kind, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
