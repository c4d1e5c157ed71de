"""Leadership through the database: one named lease, held by one process at a time.

The scheduler must run in exactly one process, whatever the number of
machines. Each candidate tries to take or renew the row of its lease name;
the lease carries an expiry, so a holder that dies (kill -9, lost machine)
frees it without anyone cleaning up: a standby takes it once it expires.

Taking and renewing are conditional statements whose row count says who won
(like claiming a callback in `callbook.tickets.dispatch`), so the same code works on
SQLite and PostgreSQL without advisory locks.
"""

from __future__ import annotations

import os
import secrets
import socket
from datetime import datetime, timedelta

from sqlalchemy import String, case, delete, or_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from callbook.db import Base

SCHEDULER = "scheduler"
HOLDER_LENGTH = 200


class SchedulerLease(Base):
    """The lease of `name`: `holder` may act until `expires_at` (UTC)."""

    __tablename__ = "scheduler_lease"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    holder: Mapped[str] = mapped_column(String(HOLDER_LENGTH))
    acquired_at: Mapped[datetime]
    expires_at: Mapped[datetime]

    def __repr__(self) -> str:
        return f"<SchedulerLease {self.name} by {self.holder!r} until {self.expires_at}>"


def new_holder_id() -> str:
    """host:pid:random, unique per process start (a restarted pid gets a new one)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"[:HOLDER_LENGTH]


def acquire(session: Session, name: str, holder: str, now: datetime, ttl: timedelta) -> bool:
    """Take or renew the lease `name` for `ttl`; True when `holder` now holds it.

    Renewal and take-over are one UPDATE: allowed when `holder` already holds
    the lease or when it has expired. When no row exists yet, the INSERT of
    the primary key decides between two simultaneous first comers.
    """
    # Keep the start of an unbroken holding; a take-over starts a new one.
    acquired_at = case((SchedulerLease.holder == holder, SchedulerLease.acquired_at), else_=now)
    result = session.execute(
        update(SchedulerLease)
        .where(
            SchedulerLease.name == name,
            or_(SchedulerLease.holder == holder, SchedulerLease.expires_at <= now),
        )
        .values(
            holder=holder,
            expires_at=now + ttl,
            acquired_at=acquired_at,
        )
        .execution_options(synchronize_session=False)
    )
    if result.rowcount == 1:  # type: ignore[attr-defined]
        return True
    if session.get(SchedulerLease, name) is not None:
        return False  # held by someone else, not expired
    try:
        with session.begin_nested():
            session.add(
                SchedulerLease(name=name, holder=holder, acquired_at=now, expires_at=now + ttl)
            )
    except IntegrityError:
        return False  # another candidate inserted it first
    return True


def release(session: Session, name: str, holder: str) -> bool:
    """Give the lease up at once (clean shutdown); False when `holder` did not hold it."""
    result = session.execute(
        delete(SchedulerLease)
        .where(SchedulerLease.name == name, SchedulerLease.holder == holder)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1  # type: ignore[attr-defined]


def current(session: Session, name: str, now: datetime) -> SchedulerLease | None:
    """The unexpired lease `name`, or None when nobody holds it."""
    lease = session.get(SchedulerLease, name, populate_existing=True)
    if lease is None or lease.expires_at <= now:
        return None
    return lease
