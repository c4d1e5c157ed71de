"""1,000 queued e-mails delivered by the outbox job to a local SMTP server (aiosmtpd).

Run: .venv/bin/python bench/bench_outbox.py [--messages 1000] [--runs 5] [--batch 100]
     [--connections 4] [--database-url postgresql+psycopg://…]

Each run queues `--messages` ticket notices (the real template, rendered at
delivery), then times `Deliverer.run_once` until every one is sent: the
claims (one conditional UPDATE per batch), the rendering, SMTP over one
connection per batch (`--connections` batches at once), and the outcomes
written every 20 messages. The
server is aiosmtpd in its own process on 127.0.0.1 and a free port (its Sink handler).
`--batch 1 --connections 1` opens one SMTP connection per message, one at
a time, for comparison.
Target: under 10 s for 1,000 messages.
"""

from __future__ import annotations

import argparse
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from callbook.db import session_scope  # noqa: E402
from callbook.db.schema import upgrade_database  # noqa: E402
from callbook.outbox import OutboxMessage, enqueue  # noqa: E402
from ivr.app import create_app  # noqa: E402
from ivr.jobs.outbox import Deliverer  # noqa: E402
from ivr.notify import messages  # noqa: E402
from ivr.runtime import install_demo_if_empty  # noqa: E402
from ivr.settings import Settings  # noqa: E402
from schedules import clock  # noqa: E402

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
TARGET_S = 10.0


def wait_for(port: int) -> None:
    for _ in range(500):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.02)
    raise SystemExit(f"no SMTP server on port {port}")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def queue(app: Any, count: int, run: int) -> None:
    facts = [("Appelant", "Paul Morel (+33465719901)"), ("Structure", "la structure Auvergne"),
             ("Motif", "incident technique"), ("Priorité", "Haute")]  # fmt: skip
    values = {"service": "l'assistance", "number": "100000", "urgent": False, "facts": facts,
              "transcription": "Le logiciel plante au démarrage.",
              "recording_url": "https://ivr.example.org/admin/tickets/1/recordings/1",
              "ticket_url": "https://ivr.example.org/admin/tickets/1"}  # fmt: skip
    rows = [
        messages.email(
            "ticket.created",
            f"{run}-{i}",
            f"referent{i % 50}@example.org",
            f"Nouveau ticket {100000 + i} : incident technique",
            "ticket_notice",
            values,
        )
        for i in range(count)
    ]
    with session_scope(app) as session:
        session.execute(delete(OutboxMessage))
        enqueue(session, rows, NOW)


def run(app: Any, count: int, number: int, batch: int, connections: int) -> float:
    """Seconds to deliver `count` queued e-mails (each marked sent once the server took it)."""
    queue(app, count, number)
    deliverer = Deliverer(app, batch=batch, connections=connections)
    began = time.perf_counter()
    with clock.frozen_at(NOW):
        report = deliverer.run_once(limit=count)
    elapsed = time.perf_counter() - began
    with session_scope(app) as session:
        sent = session.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == "sent")
        )
    if report.sent != count or sent != count:
        raise SystemExit(f"run {number}: {report}; {sent} marked sent")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--batch", type=int, default=100, help="messages per SMTP connection")
    parser.add_argument("--connections", type=int, default=4, help="SMTP connections at once")
    parser.add_argument("--database-url", default="", help="default: an SQLite file")
    args = parser.parse_args()
    port = free_port()
    # The mail server is another process, as in production (and off this one's GIL).
    server = subprocess.Popen(
        [sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{port}",
         "-c", "aiosmtpd.handlers.Sink"]
    )  # fmt: skip
    try:
        wait_for(port)
        with tempfile.TemporaryDirectory() as folder:
            url = args.database_url or f"sqlite:///{Path(folder) / 'bench.sqlite3'}"
            upgrade_database(url)
            settings = Settings(
                instance_dir=Path(folder), database_url=url,
                secret_key=secrets.token_hex(32),  # type: ignore[arg-type]
                public_url="https://ivr.example.org", smtp_host="127.0.0.1", smtp_port=port,
                smtp_tls="none", smtp_from="Assistance <assistance@example.org>",
            )  # fmt: skip
            app = create_app(settings)
            with session_scope(app) as session:
                install_demo_if_empty(session)
            where = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
            print(f"{args.messages} e-mails, {args.batch} per SMTP connection, "
                  f"{args.connections} connection(s) at once, {where}")  # fmt: skip
            times = [run(app, args.messages, n, args.batch, args.connections)
                     for n in range(args.runs)]  # fmt: skip
    finally:
        server.terminate()
        server.wait()
    median = statistics.median(times)
    spread = f"{min(times):.2f}–{max(times):.2f} s, {len(times)} runs"
    verdict = "OK" if median < TARGET_S else "TOO SLOW"
    print(f"delivered in {median:.2f} s (median; {spread}); "
          f"{median / args.messages * 1000:.2f} ms per message; target < {TARGET_S:.0f} s: "
          f"{verdict}")  # fmt: skip


if __name__ == "__main__":
    main()
