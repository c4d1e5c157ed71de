"""Benchmark of the call book at scale: the quarterly report and the quarter's XLSX export.

Run: .venv/bin/python bench/bench_callbook.py [--calls 1000000] [--keep DIR]
     .venv/bin/python bench/bench_callbook.py --database-url postgresql+psycopg://…/db

Builds a temporary SQLite call book (migrated with Alembic, so with the
production indexes) holding N calls spread over 2026 with about 1.3 motives
each, a ticket for every voicemail and a callback for most of them, inserted
in batches through SQLAlchemy Core. With --database-url, the same book is
built in that (emptied) database instead, and emptied again at the end.
Then it times:
- the report of the second quarter (median of 5 runs), for all structures
  and for one structure;
- the XLSX export of the second quarter, in a child process so that its own
  peak memory (VmHWM) is measured, not the generator's; the CSV export too.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import MetaData, insert  # noqa: E402

from callbook.calls.models import Call, CallMotive  # noqa: E402
from callbook.db import make_engine, make_sessionmaker  # noqa: E402
from callbook.db.schema import upgrade_database  # noqa: E402
from callbook.reports import build_report, period  # noqa: E402
from callbook.tickets import Callback, Ticket, TicketHistory, TicketMessage  # noqa: E402

ZONE = "Europe/Paris"
QUARTER = date(2026, 4, 1)
BATCH = 20_000
REPORT_REPEATS = 5
TARGETS = {"report_s": 2.0, "export_s": 60.0, "export_rss_mb": 300.0}

MOTIVES = [
    ("incident", "incident", 30),
    ("usage", "usage", 35),
    ("account", "account", 12),
    ("evolution", "evolution", 6),
    ("directory", "directory", 5),
    ("emergency", "emergency", 3),
    ("anomaly", "incident", 9),
]
ROUTES = [("referent", 35), ("hotline", 35), ("voicemail", 20), ("oncall", 2), ("abandoned", 8)]
CHANNELS = ["keypad", "keypad", "keypad", "speech", "technician"]
STRUCTURES = [f"s{n:02d}" for n in range(20)] + [""]
TICKET_STATUSES = [("closed", 70), ("resolved", 15), ("new", 10), ("in_progress", 5)]
CALLBACK_STATUSES = [("done", 80), ("failed", 8), ("canceled", 4), ("pending", 8)]


def _moment(rng: random.Random, year_start: datetime) -> datetime:
    """Mostly office hours on working days, some evenings and weekends."""
    day = rng.randrange(365)
    # 85 % between 08:00 and 17:00 (UTC+1), the rest at any hour.
    seconds = rng.randrange(7 * 3600, 16 * 3600) if rng.random() < 0.85 else rng.randrange(86400)
    return year_start + timedelta(days=day, seconds=seconds)


def generate(url: str, calls: int, seed: int = 2026) -> tuple[int, float]:
    """Fill the database at `url` with `calls` calls; (call-motives, seconds)."""
    began = time.perf_counter()
    upgrade_database(url)
    engine = make_engine(url)
    rng = random.Random(seed)
    year_start = datetime(2026, 1, 1, tzinfo=UTC)
    motive_keys, motive_weights = [(m, f) for m, f, _ in MOTIVES], [w for *_, w in MOTIVES]
    routes, route_weights = [r for r, _ in ROUTES], [w for _, w in ROUTES]
    call_motives = 0
    tickets = 0
    with engine.begin() as connection:
        for first in range(1, calls + 1, BATCH):
            call_rows: list[dict[str, Any]] = []
            motive_rows: list[dict[str, Any]] = []
            followups: list[tuple[int, dict[str, Any]]] = []
            for call_id in range(first, min(first + BATCH, calls + 1)):
                started = _moment(rng, year_start)
                route = rng.choices(routes, route_weights)[0]
                answered = route in ("referent", "hotline", "oncall") and rng.random() < 0.9
                wait = rng.randrange(5, 120)
                duration = rng.randrange(20, 900)
                call_rows.append(
                    {
                        "id": call_id,
                        "call_sid": f"CA{call_id:032x}",
                        "direction": "inbound",
                        "from_number": f"+336{rng.randrange(10**8):08d}",
                        "to_number": "+33199001000",
                        "contact": "",
                        "structure": rng.choice(STRUCTURES),
                        "status": "completed",
                        "route": route,
                        "answered_by": route if answered else "",
                        "in_hours": route in ("referent", "hotline"),
                        "urgent": False,
                        "started_at": started,
                        "answered_at": started + timedelta(seconds=wait) if answered else None,
                        "ended_at": started + timedelta(seconds=duration),
                        "duration": duration,
                        "state": {},
                        "dialing": [],
                        "last_request_key": "",
                        "last_response": "",
                        "note": "",
                        "updated_at": started + timedelta(seconds=duration),
                    }
                )
                count = rng.choices((0, 1, 2, 3), (2, 64, 26, 8))[0]
                chosen = {rng.choices(motive_keys, motive_weights)[0] for _ in range(count)}
                for position, (motive, family) in enumerate(sorted(chosen)):
                    motive_rows.append(
                        {
                            "call_id": call_id,
                            "position": position,
                            "motive": motive,
                            "family": family,
                            "channel": rng.choice(CHANNELS),
                        }
                    )
                if route == "voicemail":
                    tickets += 1
                    followups.append((tickets, call_rows[-1]))
            connection.execute(insert(Call.__table__), call_rows)
            if motive_rows:
                connection.execute(insert(CallMotive.__table__), motive_rows)
            _insert_followups(connection, rng, followups)
            call_motives += len(motive_rows)
        if engine.dialect.name == "sqlite":
            connection.exec_driver_sql("ANALYZE")
    if engine.dialect.name == "postgresql":
        # What autovacuum does soon after a bulk load: statistics, and the
        # visibility map that lets PostgreSQL answer from the indexes alone.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM ANALYZE")
    engine.dispose()
    return call_motives, time.perf_counter() - began


def _insert_followups(
    connection: Any, rng: random.Random, followups: list[tuple[int, dict[str, Any]]]
) -> None:
    """A ticket, its voicemail and (mostly) a callback for each voicemail call."""
    statuses, status_weights = zip(*TICKET_STATUSES, strict=True)
    outcomes, outcome_weights = zip(*CALLBACK_STATUSES, strict=True)
    ticket_rows, message_rows, history_rows, callback_rows = [], [], [], []
    for number, call in followups:
        ended = call["ended_at"]
        ticket_rows.append(
            {
                "id": number,
                "number": f"{number:06d}",
                "caller_number": call["from_number"],
                "contact": "",
                "structure": call["structure"],
                "motive": "incident",
                "family": "incident",
                "priority": "normal",
                "status": rng.choices(statuses, status_weights)[0],
                "assignee": "",
                "call_sid": call["call_sid"],
                "urgent": False,
                "flagged": False,
                "deadline_warned": False,
                "created_at": ended,
                "updated_at": ended + timedelta(days=2),
                "deadline_at": ended + timedelta(days=5),
            }
        )
        message_rows.append(
            {
                "ticket_id": number,
                "recording_sid": f"RE{number:032x}",
                "recording_url": f"https://api.twilio.com/recordings/RE{number:032x}",
                "duration": 40,
                "transcription": "",
                "call_sid": call["call_sid"],
                "created_at": ended,
            }
        )
        if rng.random() < 0.1:
            history_rows.append(
                {
                    "ticket_id": number,
                    "at": ended + timedelta(days=5),
                    "actor": "scheduler",
                    "action": "deadline.overdue",
                    "detail": {},
                }
            )
        if rng.random() < 0.7:
            callback_rows.append(
                {
                    "kind": "callback",
                    "ticket_id": number,
                    "call_sid": call["call_sid"],
                    "caller_number": call["from_number"],
                    "answering": "hotline",
                    "agent_numbers": [],
                    "rank": 2,
                    "status": rng.choices(outcomes, outcome_weights)[0],
                    "due_at": ended + timedelta(hours=16),
                    "attempts": 1,
                    "claimed_by": "",
                    "outbound_sid": "",
                    "caller_notified": False,
                    "last_error": "",
                    "created_at": ended,
                    "updated_at": ended + timedelta(hours=16),
                }
            )
    for table, rows in (
        (Ticket.__table__, ticket_rows),
        (TicketMessage.__table__, message_rows),
        (TicketHistory.__table__, history_rows),
        (Callback.__table__, callback_rows),
    ):
        if rows:
            connection.execute(insert(table), rows)


def empty(url: str) -> None:
    """Drop every table of the database at `url` (the PostgreSQL run cleans up after itself)."""
    engine = make_engine(url)
    with engine.begin() as connection:
        existing = MetaData()
        existing.reflect(connection)
        existing.drop_all(connection)
    engine.dispose()


def time_report(url: str, structure: str | None) -> tuple[float, int]:
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    start, end = period("quarter", QUARTER, ZONE)
    samples = []
    calls = 0
    for _ in range(REPORT_REPEATS):
        with sessions() as session:
            began = time.perf_counter()
            report = build_report(session, start, end, structure=structure, tz=ZONE)
            samples.append(time.perf_counter() - began)
            calls = report.calls
    engine.dispose()
    print(f"  report runs: {', '.join(f'{x:.2f}' for x in samples)} s")
    return statistics.median(samples), calls


def peak_rss_mb() -> float:
    """This process's peak resident memory (VmHWM), in MB."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def export_child(url: str, fmt: str, out: str) -> None:
    """Runs in the child process: export the quarter, print figures as JSON.

    The names a configuration gives (motives, structures) are passed as the
    service does; the CSV is in its default style (French spreadsheets).
    """
    from callbook.reports.exports import Names, write_csv, write_xlsx

    names = Names(
        motives={motive: f"Motif {motive}" for motive, _, _ in MOTIVES},
        structures={key: f"Structure {key[1:]}" for key in STRUCTURES if key},
    )
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    start, end = period("quarter", QUARTER, ZONE)
    began = time.perf_counter()
    with sessions() as session:
        if fmt == "xlsx":
            lines = write_xlsx(session, out, start, end, tz=ZONE, names=names)
        else:
            with open(out, "w", encoding="utf-8", newline="") as text:
                lines = write_csv(session, text, start, end, tz=ZONE, names=names)
    seconds = time.perf_counter() - began
    cpu = resource.getrusage(resource.RUSAGE_SELF)
    figures = {"lines": lines, "seconds": seconds, "rss_mb": peak_rss_mb()}
    figures["cpu_s"] = cpu.ru_utime + cpu.ru_stime  # the machine is shared: CPU time too
    figures["size_mb"] = Path(out).stat().st_size / 1e6
    print(json.dumps(figures))


def time_export(url: str, fmt: str, folder: Path) -> dict[str, float]:
    out = folder / f"quarter.{fmt}"
    child = subprocess.run(
        [sys.executable, __file__, "--child-export", url, fmt, str(out)],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(child.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def verdict(value: float, target: float) -> str:
    return "ok" if value < target else "OVER TARGET"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1_000_000, help="calls to generate")
    parser.add_argument("--keep", type=Path, help="folder for the database (kept; reused)")
    parser.add_argument(
        "--database-url", help="build the book in this database (emptied before and after)"
    )
    parser.add_argument("--child-export", nargs=3, metavar=("URL", "FORMAT", "FILE"))
    args = parser.parse_args()
    if args.child_export:
        export_child(*args.child_export)
        return
    with tempfile.TemporaryDirectory(prefix="bench-callbook-") as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        if args.database_url:
            url = args.database_url
            empty(url)
            try:
                call_motives, seconds = generate(url, args.calls)
                print(f"generated {args.calls:,} calls, {call_motives:,} call-motives "
                      f"in {seconds:.1f} s")  # fmt: skip
                measure(url, folder)
            finally:
                empty(url)
            return
        database = folder / f"callbook-{args.calls}.sqlite3"
        url = f"sqlite:///{database}"
        if database.exists() and args.keep:
            print(f"reusing {database}")
        else:
            database.unlink(missing_ok=True)
            call_motives, seconds = generate(url, args.calls)
            print(
                f"generated {args.calls:,} calls, {call_motives:,} call-motives "
                f"in {seconds:.1f} s ({database.stat().st_size / 1e6:.0f} MB)"
            )
        measure(url, folder)


def measure(url: str, folder: Path) -> None:
    """Time the quarter's report and exports of the book at `url`; print the figures."""
    report_s, calls = time_report(url, None)
    print(
        f"quarter report, all structures ({calls:,} calls): median {report_s:.2f} s "
        f"(target < {TARGETS['report_s']:.0f} s) {verdict(report_s, TARGETS['report_s'])}"
    )
    one_s, calls = time_report(url, "s07")
    print(f"quarter report, one structure ({calls:,} calls): median {one_s:.2f} s")
    for fmt in ("xlsx", "csv"):
        figures = time_export(url, fmt, folder)
        line = (
            f"quarter export {fmt}: {figures['lines']:,.0f} lines in "
            f"{figures['seconds']:.1f} s ({figures['cpu_s']:.1f} s CPU), "
            f"peak RSS {figures['rss_mb']:.0f} MB, "
            f"{figures['size_mb']:.0f} MB"
        )
        if fmt == "xlsx":
            line += (
                f" (targets < {TARGETS['export_s']:.0f} s "
                f"{verdict(figures['seconds'], TARGETS['export_s'])}, "
                f"< {TARGETS['export_rss_mb']:.0f} MB "
                f"{verdict(figures['rss_mb'], TARGETS['export_rss_mb'])})"
            )
        print(line)


if __name__ == "__main__":
    main()
