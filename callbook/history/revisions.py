"""Configuration revisions as stored: save, point the active one, list.

Functions take a session and flush; the caller owns the transaction (for
example `with session_scope() as session:`), so a save and its activation
commit together or not at all.

The documents are plain data here: their schema and validation live in
`ivr.config`, whose `ivr.config.revisions` validates before it stores,
activates or compares (the call book does not import the web service).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from callbook.history.models import ConfigRevision, ConfigState
from schedules import clock


class UnknownRevision(LookupError):
    """No configuration revision has this number."""

    def __init__(self, number: int) -> None:
        self.number = number
        super().__init__(f"no configuration revision {number}")


def get_revision(session: Session, number: int) -> ConfigRevision | None:
    return session.get(ConfigRevision, number)


def list_revisions(session: Session) -> list[ConfigRevision]:
    """Every revision, oldest first."""
    return list(session.scalars(select(ConfigRevision).order_by(ConfigRevision.id)))


def has_revisions(session: Session) -> bool:
    return session.scalar(select(ConfigRevision.id).limit(1)) is not None


def active_revision_id(session: Session) -> int | None:
    """The number of the active revision, in one cheap query; None if there is none."""
    return session.scalar(
        select(ConfigState.active_revision_id).where(ConfigState.id == ConfigState.ROW_ID)
    )


def active_revision(session: Session) -> ConfigRevision | None:
    return session.scalar(
        select(ConfigRevision)
        .join(ConfigState, ConfigState.active_revision_id == ConfigRevision.id)
        .where(ConfigState.id == ConfigState.ROW_ID)
    )


def store_revision(
    session: Session, data: dict[str, Any], *, author: str, comment: str = ""
) -> ConfigRevision:
    """Store `data` (a validated document's canonical data) as a new revision."""
    rev = ConfigRevision(document=data, author=author, comment=comment, created_at=clock.now())
    session.add(rev)
    session.flush()
    return rev


def point_at(session: Session, number: int, author: str) -> None:
    """One UPDATE of the single state row: atomic, and never two active revisions."""
    values = {"active_revision_id": number, "activated_at": clock.now(), "activated_by": author}
    result = session.execute(
        update(ConfigState).where(ConfigState.id == ConfigState.ROW_ID).values(**values)
    )
    if result.rowcount == 0:  # type: ignore[attr-defined]  # tables made without migrations
        session.add(ConfigState(id=ConfigState.ROW_ID, **values))
    session.flush()
