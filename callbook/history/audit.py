"""The audit log: every change made by a person, with who, when, and before/after.

`record_audit` is the one entry point: configuration edits and publications,
rollbacks, user changes, tickets and callbacks all call it inside the same
transaction as the change itself, so a change and its audit line commit
together or not at all. Rows are never updated.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, Select, String, event, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from callbook.db import Base
from schedules import clock

ACTOR_LENGTH = 200


class AuditEntry(Base):
    """One change: `actor` did `action` on `entity` `entity_id` at `at` (UTC)."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_entity", "entity", "entity_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(String(ACTOR_LENGTH))
    entity: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(40))
    before: Mapped[Any | None] = mapped_column(JSON, nullable=True)
    after: Mapped[Any | None] = mapped_column(JSON, nullable=True)

    def __repr__(self) -> str:
        return f"<AuditEntry {self.id} {self.actor} {self.action} {self.entity}:{self.entity_id}>"


@event.listens_for(AuditEntry, "before_update")
def _refuse_update(_mapper: object, _connection: object, target: AuditEntry) -> None:
    raise ValueError(f"audit entry {target.id} is immutable")


def record_audit(
    session: Session,
    actor: str,
    entity: str,
    entity_id: str | int,
    action: str,
    before: Any,
    after: Any,
    *,
    at: datetime | None = None,
) -> AuditEntry:
    """Add one audit line to `session` (the caller commits it with the change).

    `before` / `after` are JSON-able values (None for a creation or a
    deletion); `entity` is a short type name such as "config", "user",
    "ticket", "callback".
    """
    entry = AuditEntry(
        at=at or clock.now(),
        actor=actor[:ACTOR_LENGTH],
        entity=entity,
        entity_id=str(entity_id),
        action=action,
        before=before,
        after=after,
    )
    session.add(entry)
    session.flush()
    return entry


def audit_query(
    *, entity: str | None = None, entity_id: str | None = None, actor: str | None = None
) -> Select[tuple[AuditEntry]]:
    """Entries, newest first, optionally of one entity (type, id) or one actor."""
    query = select(AuditEntry).order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
    if entity:
        query = query.where(AuditEntry.entity == entity)
    if entity_id:
        query = query.where(AuditEntry.entity_id == entity_id)
    if actor:
        query = query.where(AuditEntry.actor == actor)
    return query


def changes(before: Any, after: Any, path: str = "") -> list[tuple[str, Any, Any]]:
    """(path, old, new) for every leaf that differs; lists and mappings are walked.

    Used to show an entry readably ("numbers.0: +3347… → +3347…") instead of
    two JSON blobs.
    """
    if isinstance(before, dict) and isinstance(after, dict):
        out: list[tuple[str, Any, Any]] = []
        for key in [*before, *(k for k in after if k not in before)]:
            sub = f"{path}.{key}" if path else str(key)
            out.extend(changes(before.get(key), after.get(key), sub))
        return out
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        return [
            item
            for i, (old, new) in enumerate(zip(before, after, strict=True))
            for item in changes(old, new, f"{path}.{i}" if path else str(i))
        ]
    return [] if before == after else [(path, before, after)]
