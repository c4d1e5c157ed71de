"""Micro-benchmark of the time rules: is_open, on_call, add_business_hours(64).

Run: .venv/bin/python bench/bench_schedules.py
Prints the median per-call time of 7 repeats, warm (day plans cached, the
steady state of a running service) and cold (a new calendar each repeat, so
holidays and day plans are computed inside the measurement).
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

from schedules import Calendar, OnCallSchedule, Rota

REPEATS = 7
TARGETS_US = {"is_open": 20.0, "on_call": 20.0, "add_business_hours(64)": 200.0}


def make_calendar() -> Calendar:
    hours = ["09:00-12:00", "14:00-17:30"]
    return Calendar.model_validate(
        {"weekly": {d: hours for d in ("mon", "tue", "wed", "thu", "fri")}, "holidays": "FR/57"}
    )


def make_oncall() -> OnCallSchedule:
    return OnCallSchedule(rota=Rota(members=["alice", "bruno", "chloe"], anchor=date(2026, 1, 5)))


def instants(count: int, days: int) -> list[datetime]:
    rng = random.Random(42)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    return [start + timedelta(seconds=rng.randrange(days * 86400)) for _ in range(count)]


def per_call_us(
    make: Callable[[], object],
    call: Callable[[object, datetime], object],
    moments: list[datetime],
    warm: bool,
) -> float:
    samples = []
    subject = make()
    for _ in range(REPEATS):
        if not warm:
            subject = make()
        else:
            for moment in moments:
                call(subject, moment)
        began = time.perf_counter()
        for moment in moments:
            call(subject, moment)
        samples.append((time.perf_counter() - began) / len(moments) * 1e6)
    return statistics.median(samples)


def main() -> None:
    year = instants(20_000, 365)
    cases: list[
        tuple[str, Callable[[], object], Callable[[object, datetime], object], list[datetime]]
    ] = [
        ("is_open", make_calendar, lambda c, t: c.is_open(t), year),  # type: ignore[attr-defined]
        ("on_call", make_oncall, lambda o, t: o.on_call(t), year),  # type: ignore[attr-defined]
        (
            "add_business_hours(64)",
            make_calendar,
            lambda c, t: c.add_business_hours(t, 64),
            year[:2_000],
        ),  # type: ignore[attr-defined]
    ]
    print(f"{'query':<24}{'warm µs/call':>14}{'cold µs/call':>14}{'target':>10}  verdict")
    failed = False
    for name, make, call, moments in cases:
        warm = per_call_us(make, call, moments, warm=True)
        cold = per_call_us(make, call, moments, warm=False)
        target = TARGETS_US[name]
        ok = warm < target
        failed |= not ok
        print(f"{name:<24}{warm:>14.2f}{cold:>14.2f}{target:>10.0f}  {'ok' if ok else 'OVER'}")
    raise SystemExit(1 if failed else 0)


if __name__ == "__main__":
    main()
