"""Configuration revisions: save, activate (and so roll back), list, compare.

Functions take a session and flush; the caller owns the transaction (for
example `with session_scope() as session:`), so a save and its activation
commit together or not at all.

The document schema and its validation live in `ivr.config`.
"""

from __future__ import annotations

import difflib

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from callbook.models import ConfigRevision, ConfigState
from ivr import clock
from ivr.config import ConfigDocument, ConfigInvalid, dump_yaml_text, to_data, validate_document


class UnknownRevision(LookupError):
    """No configuration revision has this number."""

    def __init__(self, number: int) -> None:
        self.number = number
        super().__init__(f"no configuration revision {number}")


def revision_document(rev: ConfigRevision) -> ConfigDocument:
    """The stored document, validated again; raises ConfigInvalid if it no longer is."""
    return validate_document(rev.document)


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


def save_revision(
    session: Session,
    doc: ConfigDocument,
    *,
    author: str,
    comment: str = "",
    activate: bool = True,
) -> ConfigRevision:
    """Store `doc` as a new revision (its canonical data) and, by default, activate it."""
    data = to_data(doc)
    validate_document(data)  # what is stored must load again, exactly as it is stored
    rev = ConfigRevision(document=data, author=author, comment=comment, created_at=clock.now())
    session.add(rev)
    session.flush()
    if activate:
        _point_at(session, rev.id, author)
    return rev


def activate_revision(session: Session, number: int, *, author: str) -> ConfigRevision:
    """Make revision `number` the active one (the rollback path).

    Raises UnknownRevision for a number never stored, and ConfigInvalid when
    the stored document does not validate any more; the active revision is
    then left as it was.
    """
    rev = get_revision(session, number)
    if rev is None:
        raise UnknownRevision(number)
    revision_document(rev)
    _point_at(session, rev.id, author)
    return rev


def _point_at(session: Session, number: int, author: str) -> None:
    """One UPDATE of the single state row: atomic, and never two active revisions."""
    values = {"active_revision_id": number, "activated_at": clock.now(), "activated_by": author}
    result = session.execute(
        update(ConfigState).where(ConfigState.id == ConfigState.ROW_ID).values(**values)
    )
    if result.rowcount == 0:  # type: ignore[attr-defined]  # tables made without migrations
        session.add(ConfigState(id=ConfigState.ROW_ID, **values))
    session.flush()


def canonical_yaml(rev: ConfigRevision) -> str:
    """The canonical YAML of a revision, as the current schema reads it.

    A stored document that no longer validates is shown as stored, so that
    it can still be exported, compared and fixed.
    """
    try:
        return dump_yaml_text(revision_document(rev))
    except ConfigInvalid:
        return dump_yaml_text(rev.document)


def diff_revisions(a: ConfigRevision, b: ConfigRevision) -> str:
    """Unified diff of the canonical YAML of two revisions; empty when they are equal."""
    return "".join(
        difflib.unified_diff(
            canonical_yaml(a).splitlines(keepends=True),
            canonical_yaml(b).splitlines(keepends=True),
            fromfile=f"revision {a.id}",
            tofile=f"revision {b.id}",
        )
    )
