"""Tables of the call book. Calls, call events and tickets will join them here.

Every change of schema goes with a hand-written migration in
`callbook/db/migrations/versions/`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, String, Text, event
from sqlalchemy.orm import Mapped, mapped_column

from callbook.db import Base

AUTHOR_LENGTH = 200


class ConfigRevision(Base):
    """One stored configuration document; `id` is its revision number N.

    Rows are never changed once written (an ORM update is refused): editing
    the configuration stores a new revision, and rolling back activates an
    older one. SQLite's AUTOINCREMENT keeps numbers from ever being reused.
    """

    __tablename__ = "config_revisions"
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    author: Mapped[str] = mapped_column(String(AUTHOR_LENGTH))
    comment: Mapped[str] = mapped_column(Text, default="", server_default="")
    created_at: Mapped[datetime]

    def __repr__(self) -> str:
        return f"<ConfigRevision {self.id} by {self.author!r}>"


class ConfigState(Base):
    """The single row that says which revision is active.

    Activating is one UPDATE of `active_revision_id` on this row, so it is
    atomic and there is never more than one active revision, whatever the
    number of workers or the database. The check constraint keeps the table
    at one row; the foreign key keeps it pointing at a stored revision.
    `activated_at` / `activated_by` say who switched last (rollbacks included).
    """

    __tablename__ = "config_state"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    ROW_ID = 1

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    active_revision_id: Mapped[int | None] = mapped_column(
        ForeignKey("config_revisions.id", ondelete="RESTRICT")
    )
    activated_at: Mapped[datetime | None]
    activated_by: Mapped[str] = mapped_column(String(AUTHOR_LENGTH), default="", server_default="")


@event.listens_for(ConfigRevision, "before_update")
def _refuse_update(_mapper: object, _connection: object, target: ConfigRevision) -> None:
    raise ValueError(f"configuration revision {target.id} is immutable; save a new one")
