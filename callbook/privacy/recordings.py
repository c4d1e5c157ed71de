"""Recordings to delete at Twilio: one row each, written with the purge or erasure.

A voicemail's audio stays at Twilio until it is deleted there. When the
purge or an erasure clears a message, the recording's SID goes to this
table in the same transaction; the scheduler's `recordings` job then
deletes it through Twilio's REST API, outside any transaction, and marks
`deleted_at`. A row is claimed by a conditional UPDATE that moves
`next_attempt_at` forward (a lease: a job killed mid-request lets another
try again later); a failure moves it further, with a growing backoff, and
keeps the error. Rows are kept once deleted: the deletion is recorded.

`subject` is the hash of the caller's number (`callbook.privacy.subject_hash`)
while the row waits, so a subject-access export can list it; it is cleared
once the recording is gone.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, Index, String, Text, func, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from callbook.db import Base

CLAIM_LEASE = timedelta(minutes=10)
"""How long a claimed row waits before another job may try it (the first died)."""
FIRST_RETRY = timedelta(minutes=5)
LONGEST_RETRY = timedelta(hours=24)
ERROR_LENGTH = 500
REASONS = ("retention", "erasure")


class RecordingDeletion(Base):
    """One recording to delete at Twilio (or deleted, when `deleted_at` is set)."""

    __tablename__ = "recording_deletions"
    __table_args__ = (Index("ix_recording_deletions_due", "deleted_at", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    recording_sid: Mapped[str] = mapped_column(String(34), unique=True)
    reason: Mapped[str] = mapped_column(String(20))
    subject: Mapped[str] = mapped_column(String(64), default="")
    requested_at: Mapped[datetime]
    next_attempt_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    deleted_at: Mapped[datetime | None]


def is_recording_sid(value: object) -> bool:
    """A Twilio RecordingSid (RE + 32 hex digits), not a placeholder left by anonymisation."""
    return isinstance(value, str) and len(value) == 34 and value.startswith("RE")


def queue_deletions(
    session: Session, sids: Iterable[tuple[str, str]], *, reason: str, now: datetime
) -> int:
    """Queue each (recording SID, subject) not queued yet; the number of rows added."""
    if reason not in REASONS:
        raise ValueError(f"unknown reason {reason!r}")
    wanted = {sid: subject for sid, subject in sids if is_recording_sid(sid)}
    if not wanted:
        return 0
    listed = list(wanted)  # in the order given: the oldest are deleted first
    known = already_queued(session, listed)
    added = [sid for sid in listed if sid not in known]
    session.add_all(
        RecordingDeletion(
            recording_sid=sid,
            reason=reason,
            subject=wanted[sid],
            requested_at=now,
            next_attempt_at=now,
            attempts=0,
            last_error="",
        )
        for sid in added
    )
    session.flush()
    return len(added)


def already_queued(session: Session, sids: list[str]) -> set[str]:
    """The SIDs among `sids` that have a row already (waiting or deleted)."""
    known: set[str] = set()
    for start in range(0, len(sids), 500):
        chunk = sids[start : start + 500]
        known.update(
            session.scalars(
                select(RecordingDeletion.recording_sid).where(
                    RecordingDeletion.recording_sid.in_(chunk)
                )
            )
        )
    return known


def due_ids(session: Session, now: datetime, limit: int = 200) -> list[int]:
    """Rows waiting whose next attempt is due, oldest first."""
    return list(
        session.scalars(
            select(RecordingDeletion.id)
            .where(RecordingDeletion.deleted_at.is_(None), RecordingDeletion.next_attempt_at <= now)
            .order_by(RecordingDeletion.next_attempt_at, RecordingDeletion.id)
            .limit(limit)
        )
    )


def claim(session: Session, row_id: int, now: datetime) -> str | None:
    """Take row `row_id` for one attempt: its recording SID, or None when another job has it."""
    result = cast(
        CursorResult[Any],
        session.execute(
            update(RecordingDeletion)
            .where(
                RecordingDeletion.id == row_id,
                RecordingDeletion.deleted_at.is_(None),
                RecordingDeletion.next_attempt_at <= now,
            )
            .values(next_attempt_at=now + CLAIM_LEASE, attempts=RecordingDeletion.attempts + 1)
            .execution_options(synchronize_session=False)
        ),
    )
    if result.rowcount != 1:
        return None
    return session.scalar(
        select(RecordingDeletion.recording_sid).where(RecordingDeletion.id == row_id)
    )


def mark_deleted(session: Session, row_id: int, now: datetime) -> None:
    """The recording is gone at Twilio (deleted now, or already gone)."""
    session.execute(
        update(RecordingDeletion)
        .where(RecordingDeletion.id == row_id)
        .values(deleted_at=now, last_error="", subject="")
        .execution_options(synchronize_session=False)
    )


def mark_failed(session: Session, row_id: int, error: str, now: datetime) -> datetime:
    """Keep the error and push the next attempt back (doubling, at most a day); when."""
    attempts = session.scalar(
        select(RecordingDeletion.attempts).where(RecordingDeletion.id == row_id)
    )
    wait = min(FIRST_RETRY * 2 ** min(max((attempts or 1) - 1, 0), 10), LONGEST_RETRY)
    session.execute(
        update(RecordingDeletion)
        .where(RecordingDeletion.id == row_id, RecordingDeletion.deleted_at.is_(None))
        .values(next_attempt_at=now + wait, last_error=error[:ERROR_LENGTH])
        .execution_options(synchronize_session=False)
    )
    return now + wait


def waiting_count(session: Session) -> int:
    """Recordings still to delete at Twilio."""
    query = select(func.count()).where(RecordingDeletion.deleted_at.is_(None))
    return int(session.scalar(query) or 0)


def waiting_for(session: Session, subject: str) -> list[RecordingDeletion]:
    """The recordings of one caller (by `subject` hash) still to delete at Twilio."""
    return list(
        session.scalars(
            select(RecordingDeletion)
            .where(RecordingDeletion.subject == subject, RecordingDeletion.deleted_at.is_(None))
            .order_by(RecordingDeletion.id)
        )
    )
