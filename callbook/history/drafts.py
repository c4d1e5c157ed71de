"""The configuration draft: edits from the admin interface wait here until published.

There is one shared draft, not one per author. The configuration is a single
document with a linear history of revisions; per-author drafts would each
start from the active revision and the second publication would silently
undo the first one's edits (or need a merge). With one draft, every admin
sees the pending edits of the others on the same pages, publishing takes
them all, and each edit is in the audit log under its own author.

The draft holds plain data (what `ivr.config.to_data` produces), always a
valid document: the admin pages validate the whole document before saving
an edit. `base_revision_id` is the revision the draft started from, so the
pages can say when another revision became active meanwhile (an import from
the command line, a rollback).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, String, delete
from sqlalchemy.orm import Mapped, Session, mapped_column

from callbook.db import Base
from callbook.history.models import AUTHOR_LENGTH
from schedules import clock


class ConfigDraft(Base):
    """The single pending draft (row id 1), or no row when there is none."""

    __tablename__ = "config_draft"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    ROW_ID = 1

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    base_revision_id: Mapped[int | None] = mapped_column(
        ForeignKey("config_revisions.id", ondelete="SET NULL")
    )
    created_by: Mapped[str] = mapped_column(String(AUTHOR_LENGTH))
    created_at: Mapped[datetime]
    updated_by: Mapped[str] = mapped_column(String(AUTHOR_LENGTH))
    updated_at: Mapped[datetime]


def get_draft(session: Session) -> ConfigDraft | None:
    return session.get(ConfigDraft, ConfigDraft.ROW_ID, populate_existing=True)


def save_draft(
    session: Session, data: dict[str, Any], *, author: str, base_revision_id: int | None
) -> ConfigDraft:
    """Store `data` as the draft; the base revision is kept from the first edit."""
    now = clock.now()
    draft = get_draft(session)
    if draft is None:
        draft = ConfigDraft(
            id=ConfigDraft.ROW_ID,
            document=data,
            base_revision_id=base_revision_id,
            created_by=author,
            created_at=now,
            updated_by=author,
            updated_at=now,
        )
        session.add(draft)
    else:
        # A new dict: JSON columns do not notice in-place changes.
        draft.document = dict(data)
        draft.updated_by = author
        draft.updated_at = now
    session.flush()
    return draft


def discard_draft(session: Session) -> bool:
    """Drop the draft; False when there was none."""
    result = session.execute(
        delete(ConfigDraft)
        .where(ConfigDraft.id == ConfigDraft.ROW_ID)
        .execution_options(synchronize_session="fetch")
    )
    return result.rowcount == 1  # type: ignore[attr-defined]
