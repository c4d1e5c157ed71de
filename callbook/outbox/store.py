"""Enqueue, claim and settle outbox messages.

Enqueueing is one INSERT in the caller's transaction, and a no-op when a
message with the same `dedupe_key` exists (`INSERT ... ON CONFLICT DO
NOTHING`, on SQLite and PostgreSQL alike): no exception ever reaches the
caller's transaction, which commits the message with its cause or not at all.

Delivery is *at least once*, never silently lost:
- a batch is claimed with one conditional UPDATE (`WHERE status = 'pending'`)
  that stamps it with the claimer's token; two schedulers never claim the
  same row;
- a claimed row is "sending" until `mark_sent` or `attempt_failed` commits;
- a scheduler that dies in between leaves "sending" rows: `release_stale`
  puts them back to "pending" after a timeout, and they are sent once more.
  Exactly once would need the receiver's help (an SMTP server cannot say
  whether it already took a message): a message sent just before the crash
  may arrive twice, with the same Message-ID, so mail clients can fold them.
Every claim counts as an attempt, so a message whose delivery kills its
sender cannot loop forever: it fails after `max_attempts`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from callbook.outbox import KINDS, OutboxMessage

BACKOFF_BASE = timedelta(minutes=1)
BACKOFF_CAP = timedelta(hours=6)
STALE_CLAIM = timedelta(minutes=10)
"""A "sending" row older than this was left by a scheduler that stopped."""


@dataclass(frozen=True, slots=True)
class NewMessage:
    kind: str
    topic: str
    recipient: str
    dedupe_key: str
    subject: str = ""
    payload: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown outbox kind {self.kind!r}")
        if not self.recipient or not self.dedupe_key:
            raise ValueError("an outbox message needs a recipient and a dedupe key")


def dedupe_key(*parts: object) -> str:
    """`topic:event:recipient`, within the column's 200 characters."""
    return ":".join(str(p) for p in parts)[:200]


def enqueue(session: Session, messages: Iterable[NewMessage], now: datetime) -> int:
    """Add the messages in one INSERT; a dedupe key already present is skipped.

    Returns the number of rows inserted (0 when every key was already there).
    """
    return enqueue_on(session.connection(), messages, now)


def enqueue_on(connection: Connection, messages: Iterable[NewMessage], now: datetime) -> int:
    """`enqueue` on a connection (the webhooks that write without the ORM)."""
    rows = [
        {
            "kind": m.kind,
            "topic": m.topic[:40],
            "recipient": m.recipient[:500],
            "dedupe_key": m.dedupe_key[:200],
            "subject": m.subject[:300],
            "payload": m.payload,
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": now,
            "claimed_by": "",
            "last_error": "",
            "created_at": now,
        }
        for m in _unique(messages)
    ]
    if not rows:
        return 0
    dialect = connection.dialect.name
    if dialect == "postgresql":
        statement: Any = postgresql.insert(OutboxMessage).on_conflict_do_nothing(
            index_elements=["dedupe_key"]
        )
    elif dialect == "sqlite":
        statement = sqlite.insert(OutboxMessage).on_conflict_do_nothing(
            index_elements=["dedupe_key"]
        )
    else:  # another database: look first (a concurrent duplicate would then raise)
        known = set(
            connection.scalars(
                select(OutboxMessage.dedupe_key).where(
                    OutboxMessage.dedupe_key.in_([r["dedupe_key"] for r in rows])
                )
            )
        )
        rows = [r for r in rows if r["dedupe_key"] not in known]
        if not rows:
            return 0
        statement = insert(OutboxMessage)
    # One multi-row statement; RETURNING counts what was inserted (row counts vary by driver).
    inserted = connection.execute(statement.values(rows).returning(OutboxMessage.id))
    return len(inserted.all())


def _unique(messages: Iterable[NewMessage]) -> list[NewMessage]:
    seen: dict[str, NewMessage] = {}
    for m in messages:
        seen.setdefault(m.dedupe_key[:200], m)
    return list(seen.values())


def claim_due(
    session: Session, token: str, now: datetime, *, kinds: Sequence[str], limit: int = 100
) -> list[OutboxMessage]:
    """Claim up to `limit` due messages of `kinds` for `token`, oldest first.

    One conditional UPDATE: a row another scheduler claimed meanwhile is no
    longer "pending" and is left to it. `token` must be unique per claim.
    """
    due = (
        select(OutboxMessage.id)
        .where(
            OutboxMessage.status == "pending",
            OutboxMessage.next_attempt_at <= now,
            OutboxMessage.kind.in_(list(kinds)),
        )
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        .limit(limit)
    )
    ids = list(session.scalars(due))
    if not ids:
        return []
    session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(ids), OutboxMessage.status == "pending")
        .values(
            status="sending",
            claimed_by=token[:64],
            claimed_at=now,
            attempts=OutboxMessage.attempts + 1,
        )
        .execution_options(synchronize_session=False)
    )
    claimed = select(OutboxMessage).where(
        OutboxMessage.id.in_(ids),
        OutboxMessage.status == "sending",
        OutboxMessage.claimed_by == token[:64],
    )
    return list(session.scalars(claimed.order_by(OutboxMessage.id)))


def release_stale(session: Session, now: datetime, older_than: timedelta = STALE_CLAIM) -> int:
    """ "sending" rows of a scheduler that stopped go back to the queue (sent once more)."""
    result = session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.status == "sending", OutboxMessage.claimed_at < now - older_than)
        .values(status="pending", claimed_by="", next_attempt_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def mark_sent(session: Session, message_ids: Sequence[int], token: str, now: datetime) -> int:
    """Sent: only by the claim that sent them (a released claim changes nothing).

    Returns how many were marked.
    """
    result = session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id.in_(list(message_ids)),
            OutboxMessage.status == "sending",
            OutboxMessage.claimed_by == token[:64],
        )
        .values(status="sent", sent_at=now, last_error="")
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def backoff(attempts: int) -> timedelta:
    """1, 2, 4, 8… minutes after the n-th failed attempt, at most 6 hours."""
    return min(BACKOFF_CAP, BACKOFF_BASE * (2 ** max(0, attempts - 1)))


def attempt_failed(
    session: Session,
    message_id: int,
    token: str,
    error: str,
    now: datetime,
    *,
    max_attempts: int,
    permanent: bool = False,
) -> str:
    """Retry later with backoff, or give up ("failed", the error kept): the new status."""
    row = session.get(OutboxMessage, message_id)
    if row is None or row.status != "sending" or row.claimed_by != token[:64]:
        return row.status if row is not None else ""
    row.last_error = error[:2000]
    row.claimed_by = ""
    if permanent or row.attempts >= max_attempts:
        row.status = "failed"
    else:
        row.status = "pending"
        row.next_attempt_at = now + backoff(row.attempts)
    return row.status


def resend(session: Session, message_id: int, now: datetime) -> OutboxMessage | None:
    """A failed message goes back to the queue, due now, with a fresh count of attempts."""
    row = session.get(OutboxMessage, message_id, with_for_update=True)
    if row is None or row.status != "failed":
        return None
    row.status = "pending"
    row.attempts = 0
    row.next_attempt_at = now
    row.claimed_by = ""
    return row


def counts(session: Session) -> dict[str, int]:
    """Messages by status."""
    rows = session.execute(
        select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
    )
    return {status: int(n) for status, n in rows}


def listing(session: Session, statuses: Sequence[str], *, limit: int = 200) -> list[OutboxMessage]:
    """The newest messages in `statuses`."""
    query = (
        select(OutboxMessage)
        .where(OutboxMessage.status.in_(list(statuses)))
        .order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc())
        .limit(limit)
    )
    return list(session.scalars(query))


def purge_settled(session: Session, cutoff: datetime) -> int:
    """Delete the messages sent or failed that were queued before `cutoff` (personal data:
    names, numbers and addresses are kept no longer than the call book keeps them)."""
    result = session.execute(
        delete(OutboxMessage)
        .where(OutboxMessage.status.in_(("sent", "failed")), OutboxMessage.created_at < cutoff)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
