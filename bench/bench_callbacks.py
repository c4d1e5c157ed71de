"""5,000 callbacks due at the same 09:00: claim and hand them all to Twilio (faked).

Run: .venv/bin/python bench/bench_callbacks.py [--callbacks 5000] [--repeats 3]

Measures, with the outbound rate limit off, the time for dispatchers to claim
and place every due callback through the real dispatcher, gateway and Twilio
client, with only the HTTP layer under the Twilio client replaced; "own
overhead" subtracts the time spent inside that fake HTTP layer. Then two
dispatchers race on the same database: every callback must be placed once.
Target: under 5 ms of our own overhead per callback.
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, insert, select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from callbook.db import session_scope  # noqa: E402
from callbook.tickets import Callback  # noqa: E402
from ivr.app import create_app  # noqa: E402
from ivr.jobs.callbacks import Dispatcher  # noqa: E402
from ivr.settings import Settings  # noqa: E402
from ivr.twilio_adapter import TwilioGateway  # noqa: E402
from schedules import clock  # noqa: E402
from tests.fake_twilio import FakeTwilioHttp  # noqa: E402

DUE = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)  # Monday 09:00 in Paris
TARGET_MS = 5.0


class TimedHttp(FakeTwilioHttp):
    def __init__(self) -> None:
        super().__init__()
        self.spent = 0.0
        self.lock = threading.Lock()

    def request(self, *args: Any, **kwargs: Any) -> Any:
        began = time.perf_counter()
        try:
            with self.lock:
                return super().request(*args, **kwargs)
        finally:
            self.spent += time.perf_counter() - began


def seed(app: Any, count: int) -> None:
    with session_scope(app) as session:
        session.execute(delete(Callback))
        rows = [
            {
                "kind": "callback",
                "caller_number": f"+336{10_000_000 + i}",
                "answering": "hotline",
                "agent_numbers": ["+33199002000"],
                "rank": i % 4,
                "status": "pending",
                "due_at": DUE - timedelta(minutes=i % 600),
                "attempts": 0,
                "claimed_by": "",
                "outbound_sid": "",
                "caller_notified": False,
                "last_error": "",
                "call_sid": "",
                "created_at": DUE - timedelta(hours=12),
                "updated_at": DUE - timedelta(hours=12),
            }
            for i in range(count)
        ]
        session.execute(insert(Callback), rows)


def run(app: Any, racers: int, count: int) -> tuple[float, float, int, int]:
    seed(app, count)
    http = TimedHttp()
    dispatchers = [
        Dispatcher(app, gateway=lambda s: TwilioGateway(s, http_client=http), worker=f"d{i}")
        for i in range(racers)
    ]
    began = time.perf_counter()
    with clock.frozen_at(DUE):
        threads = [
            threading.Thread(target=lambda d=d: d.run_once(limit=count)) for d in dispatchers
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    elapsed = time.perf_counter() - began
    with session_scope(app) as session:
        placed = session.scalar(
            select(func.count()).select_from(Callback).where(Callback.status == "dialing")
        )
    urls = [str(c["data"]["Url"]) for c in http.calls]
    duplicates = len(urls) - len(set(urls))
    return elapsed, http.spent, int(placed or 0), duplicates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--callbacks", type=int, default=5000)
    parser.add_argument("--repeats", type=int, default=3, help="runs per case; medians shown")
    args = parser.parse_args()
    count = args.callbacks
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(
            instance_dir=Path(folder),
            twilio_account_sid="AC" + "0" * 32,
            twilio_auth_token="bench",  # type: ignore[arg-type]
            secret_key=secrets.token_hex(32),  # type: ignore[arg-type]
            public_url="https://ivr.example.org",
            outbound_rate=0,
        )
        app = create_app(settings)
        print(f"{count} callbacks due at 09:00, rate limit off, SQLite (WAL)")
        verdict = True
        for racers in (1, 2):
            runs = [run(app, racers, count) for _ in range(max(1, args.repeats))]
            elapsed = statistics.median(r[0] for r in runs)
            spent = statistics.median(r[1] for r in runs)
            own_ms = statistics.median((r[0] - r[1]) / count * 1000 for r in runs)
            placed = min(r[2] for r in runs)
            duplicates = max(r[3] for r in runs)
            ok = placed == count and duplicates == 0 and own_ms < TARGET_MS
            verdict &= ok
            print(
                f"dispatchers={racers} (median of {len(runs)}): {elapsed:.2f} s in all, "
                f"{spent:.2f} s in the fake HTTP layer, own overhead {own_ms:.2f} ms/callback; "
                f"placed {placed}/{count} (fewest), dialled twice {duplicates} (most)  "
                f"{'ok' if ok else 'FAIL'}"
            )
    raise SystemExit(0 if verdict else 1)


if __name__ == "__main__":
    main()
