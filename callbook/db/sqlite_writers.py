"""SQLite's writers in one queue: a file lock taken before `BEGIN IMMEDIATE`.

Kept because it pays: BENCHMARKS.md, "Layers" (complete calls under load: about
30 % more calls per second than SQLite's busy handler alone, and a lower p99).

SQLite lets one connection write at a time. A connection that finds the write
lock taken sleeps in SQLite's busy handler (1, 2, 5, 10, 15 … ms) and tries
again, so with several web workers writing a few hundred microseconds each,
waiting writers sleep far longer than the writes they wait for, and the cores
stay idle. Writers of this service first take an exclusive `flock` on a
file beside the database (`<database>-writers`), tried every 50 µs (every
millisecond once a wait passes 10 ms), and release it as soon as their
transaction commits or rolls back: the next writer starts within about
0.1 ms, and finds SQLite's own lock free.

Bounds: a writer waits for the file lock at most the busy timeout, then goes
on without it (SQLite's busy timeout then applies, as without this queue);
a thread that already holds the queue through another connection does not
queue again (it would wait for itself). Processes that do not know the queue
(the `sqlite3` shell, say) still meet SQLite's lock as before. A crashed
process releases its file lock with its file descriptors.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
import time
from typing import Any

_held = threading.local()

YIELD_FOR = 0.001
"""Seconds of a wait spent trying again at once, giving the core away in between."""
POLL_EVERY = 0.00005
"""Seconds between two tries at first: a write holds the queue a few hundred microseconds."""
POLL_SLOWER_AFTER = 0.01
POLL_MAX = 0.001


def lock_path(database: str | None) -> str | None:
    """The queue's lock file for an SQLite database file; None for in-memory ones."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return f"{database}-writers"


class QueuedConnection(sqlite3.Connection):
    """An sqlite3 connection whose write transactions queue on `writers_path`."""

    writers_path: str | None = None
    wait_seconds: float = 5.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._writers_fd = -1
        self._queued = False
        self._busy_ms = -1

    def queue_for_write(self, wait: float | None = None) -> bool:
        """Wait for this process's turn to write (before `BEGIN IMMEDIATE`).

        At most `wait` seconds (default: `wait_seconds`); False when the turn
        did not come in that time (the caller may go on without it).
        """
        if self._queued or self.writers_path is None or getattr(_held, "count", 0):
            return True
        wait_seconds = self.wait_seconds if wait is None else min(wait, self.wait_seconds)
        if self._writers_fd < 0:
            self._writers_fd = os.open(self.writers_path, os.O_RDWR | os.O_CREAT, 0o600)
        started = time.monotonic()
        delay = POLL_EVERY
        while True:
            try:
                fcntl.flock(self._writers_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                waited = time.monotonic() - started
                if waited >= wait_seconds:
                    return False  # SQLite's busy timeout decides from here
                if waited < YIELD_FOR:
                    os.sched_yield()  # a webhook's write: its end is a few µs away
                    continue
                if waited > POLL_SLOWER_AFTER:  # a long transaction: poll less often
                    delay = min(delay * 2, POLL_MAX)
                time.sleep(delay)
                continue
            self._queued = True
            _held.count = getattr(_held, "count", 0) + 1
            return True

    def wait_for_lock_ms(self, milliseconds: int | None, default: int) -> None:
        """SQLite's busy timeout for the next transaction: `milliseconds` (a webhook's
        budget shrinks it), or back to `default` when None; set only when it changes."""
        if milliseconds is None:
            if self._busy_ms < 0:  # never shrunk: as set when the connection opened
                return
            milliseconds, self._busy_ms = default, -1
        else:
            milliseconds = self._busy_ms = max(min(milliseconds, default), 1)
        self.execute(f"PRAGMA busy_timeout={milliseconds}")

    def leave_queue(self) -> None:
        if not self._queued:
            return
        self._queued = False
        # (Never below zero, even if a transaction ended in another thread.)
        _held.count = max(getattr(_held, "count", 0) - 1, 0)
        fcntl.flock(self._writers_fd, fcntl.LOCK_UN)

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self.leave_queue()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self.leave_queue()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.leave_queue()
            if self._writers_fd >= 0:
                os.close(self._writers_fd)
                self._writers_fd = -1


def connection_class(database: str | None, wait_seconds: float) -> type[QueuedConnection]:
    """A `sqlite3.connect(factory=...)` class queueing on `database`'s lock file."""
    return type(
        "QueuedConnection",
        (QueuedConnection,),
        {"writers_path": lock_path(database), "wait_seconds": wait_seconds},
    )
