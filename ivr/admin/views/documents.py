"""Which configuration a preview page reads: the active revision or the pending draft."""

from __future__ import annotations

from flask_babel import gettext
from sqlalchemy.orm import Session

from callbook.history.drafts import get_draft
from callbook.history.revisions import active_revision
from ivr.config import ConfigDocument, ConfigInvalid, validate_document
from ivr.config.revisions import revision_document


class NoDocument(LookupError):
    """Neither the draft nor an active revision can be read; the message says why."""


def active_document(session: Session) -> tuple[int, ConfigDocument]:
    """(revision number, document) of the active revision, read through `session`.

    Admin pages read it through their own request session rather than the
    worker's cached `ivr.runtime.current_config()`: on SQLite every
    transaction takes the write lock (BEGIN IMMEDIATE), so a second
    connection opened while the request's session is in a transaction would
    wait for it, and time out.
    """
    rev = active_revision(session)
    if rev is None:
        raise NoDocument(gettext("aucune révision de la configuration n'est active"))
    try:
        return rev.id, revision_document(rev)
    except ConfigInvalid as exc:
        raise NoDocument(
            gettext("la révision %(id)s n'est pas valide : %(exc)s", id=rev.id, exc=exc)
        ) from exc


def chosen_document(session: Session, source: str) -> tuple[str, str, ConfigDocument]:
    """(source, label, document) for `source` = 'draft' or 'active'.

    Asking for the draft when there is none falls back to the active revision,
    and the label says so.
    """
    note = ""
    if source == "draft":
        draft = get_draft(session)
        if draft is not None:
            try:
                doc = validate_document(draft.document)
            except ConfigInvalid as exc:
                raise NoDocument(
                    gettext("le brouillon n'est pas valide : %(exc)s", exc=exc)
                ) from exc
            return (
                "draft",
                gettext("brouillon (modifié par %(updated_by)s)", updated_by=draft.updated_by),
                doc,
            )
        note = gettext(" — aucun brouillon en cours")
    number, doc = active_document(session)
    return "active", gettext("révision active n° %(number)s%(note)s", number=number, note=note), doc
