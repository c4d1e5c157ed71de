"""Messages to people and systems, written in the same transaction as their cause.

One row per message and recipient: an e-mail, an SMS or a signed event to a
helpdesk receiver. The scheduler process delivers them (claimed with a
conditional UPDATE, retried with backoff, then `failed` and shown in the
admin); a webhook never waits on delivery.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from callbook.db import Base

KINDS = ("email", "sms", "event")
STATUSES = ("pending", "sending", "sent", "failed")


class OutboxMessage(Base):
    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))
    topic: Mapped[str] = mapped_column(String(40))
    """What caused it: `ticket.created`, `deadline.warning`, `oncall.alert`…"""
    recipient: Mapped[str] = mapped_column(String(500))
    """An e-mail address, a phone number or a receiver's name."""
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    """One message per recipient per event: a second insert with this key is a no-op."""
    subject: Mapped[str] = mapped_column(String(300), default="")
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime]
    claimed_by: Mapped[str] = mapped_column(String(64), default="")
    claimed_at: Mapped[datetime | None]
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]


from callbook.outbox.store import NewMessage, dedupe_key, enqueue  # noqa: E402

__all__ = ["KINDS", "STATUSES", "NewMessage", "OutboxMessage", "dedupe_key", "enqueue"]
