"""Configuration revisions as documents: validated before they are stored or activated.

The call book stores revisions as plain data (`callbook.history.revisions`);
this is where a document becomes a revision and a revision a document again.
"""

from __future__ import annotations

import difflib

from sqlalchemy.orm import Session

from callbook.history.models import ConfigRevision
from callbook.history.revisions import UnknownRevision, get_revision, point_at, store_revision
from ivr.config.document import ConfigDocument
from ivr.config.loader import ConfigInvalid, dump_yaml_text, to_data, validate_document


def revision_document(rev: ConfigRevision) -> ConfigDocument:
    """The stored document, validated again; raises ConfigInvalid if it no longer is."""
    return validate_document(rev.document)


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
    rev = store_revision(session, data, author=author, comment=comment)
    if activate:
        point_at(session, rev.id, author)
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
    point_at(session, rev.id, author)
    return rev


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
