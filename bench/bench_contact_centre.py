"""Contact-centre figures of a year: how long `contact_centre` takes on a busy year.

Run: .venv/bin/python bench/bench_contact_centre.py [--database-url URL] [--waits N]

Writes a year of made-up traffic in a fresh database (an SQLite file in a
temporary folder, or the PostgreSQL database given, emptied first): N waits
in `queue_entries` over 2026 across the hotline and 12 structures, every
outcome, each with its inbound call, plus as many calls answered directly
and a quarter as many calls never offered; then times the year's figures
for every team and for one (median of 5).
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import MetaData, insert, text

from callbook.calls.models import Call
from callbook.db import make_engine, make_sessionmaker
from callbook.db.schema import upgrade_database
from callbook.queue import QueueEntry
from callbook.reports.contact_centre import contact_centre

YEAR = datetime(2026, 1, 1, tzinfo=UTC)
TEAMS = ["hotline"] * 8 + [f"structure-{i}" for i in range(12)]
OUTCOMES = ["bridged"] * 14 + ["abandoned"] * 3 + ["hold", "max_wait", "closing"]
BATCH = 20_000


def _call(
    sid: str, at: datetime, answered: datetime | None, route: str, team: str
) -> dict[str, Any]:
    return {
        "call_sid": sid, "direction": "inbound", "from_number": "+33612345678",
        "to_number": "+33199001000", "contact": "", "structure": "" if team == "hotline" else team,
        "status": "completed", "route": route, "answered_by": "", "urgent": False,
        "started_at": at, "answered_at": answered, "ended_at": at + timedelta(minutes=5),
        "updated_at": at, "state": {}, "dialing": [], "last_request_key": "",
        "last_response": "", "note": "",
    }  # fmt: skip


def seed(url: str, waits: int) -> None:
    rng = random.Random(2026)
    engine = make_engine(url)
    calls: list[dict[str, Any]] = []
    entries: list[dict[str, Any]] = []

    def flush(final: bool = False) -> None:
        if len(calls) >= BATCH or final:
            with engine.begin() as connection:
                if calls:
                    connection.execute(insert(Call), calls)
                if entries:
                    connection.execute(insert(QueueEntry), entries)
            calls.clear()
            entries.clear()

    for i in range(waits):
        at = YEAR + timedelta(seconds=rng.randrange(365 * 86400))
        team, outcome = rng.choice(TEAMS), rng.choice(OUTCOMES)
        wait = int(rng.expovariate(1 / 40))
        answered = at + timedelta(seconds=wait) if outcome == "bridged" else None
        calls.append(_call(f"CQ{i:032d}", at, answered, "hotline", team))
        entries.append({
            "call_sid": f"CQ{i:032d}", "team": team, "caller_number": "+33612345678",
            "enqueued_at": at, "position": 1, "outcome": outcome,
            "ended_at": at + timedelta(seconds=wait), "wait_seconds": wait,
            "agent_number": "", "agent_call_sid": "",
        })  # fmt: skip
        direct = at + timedelta(minutes=1)
        route = "referent" if team != "hotline" else "hotline"
        calls.append(_call(f"CD{i:032d}", direct, direct + timedelta(seconds=3), route, team))
        if i % 4 == 0:
            calls.append(_call(f"CV{i:032d}", direct, None, "voicemail", team))
        flush()
    flush(final=True)
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default="")
    parser.add_argument("--waits", type=int, default=300_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = args.database_url or f"sqlite:///{Path(folder) / 'bench.sqlite3'}"
        engine = make_engine(url)
        with engine.begin() as connection:
            existing = MetaData()
            existing.reflect(connection)
            existing.drop_all(connection)
        engine.dispose()
        upgrade_database(url)
        started = time.perf_counter()
        seed(url, args.waits)
        spent = time.perf_counter() - started
        print(f"seeded {args.waits:,} waits and their calls in {spent:.0f} s")
        engine = make_engine(url)
        if engine.dialect.name == "postgresql":  # statistics, as autovacuum would gather them
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.execute(text("ANALYZE calls"))
                connection.execute(text("ANALYZE queue_entries"))
        sessions = make_sessionmaker(engine)
        end = datetime(2027, 1, 1, tzinfo=UTC)
        for team in (None, "structure-3"):
            times = []
            for _ in range(5):
                with sessions() as session:
                    started = time.perf_counter()
                    figures = contact_centre(session, YEAR, end, team=team)
                    times.append(time.perf_counter() - started)
            print(
                f"{engine.dialect.name}, a year, team {team or 'every one'}: "
                f"{statistics.median(times):.2f} s "
                f"(median of 5, {min(times):.2f}-{max(times):.2f}); "
                f"offered {figures.total.offered:,}"
            )
        engine.dispose()


if __name__ == "__main__":
    main()
