"""A technician's own on-call override goes live at once, as a small revision of its own.

Why not through the draft: a technician may not publish the shared draft (it
holds the admins' pending edits), and a swap for tonight cannot wait for an
admin to publish. Why not "only while the draft leaves the on-call section
alone": an admin reworking the windows would block every swap until then.

So the change is applied to the active revision (the whole document
validated, stored as a new active revision authored by the technician,
audited like a publication) and, when a draft is pending, to the draft as
well (audited like a draft edit), so that publishing the draft later does not
undo it. The draft keeps pointing at the revision it was built on, moved to
the new one when it was the one just replaced: the draft is then still
"active revision + the admins' edits". If the change does not fit the draft
(the draft removed that technician, or holds an overlapping override),
nothing is stored and the technician is told to ask an admin.
"""

from __future__ import annotations

from collections.abc import Callable
from copy import deepcopy
from typing import Any

from sqlalchemy.orm import Session

from callbook.history.audit import record_audit
from callbook.history.drafts import get_draft, save_draft
from callbook.history.models import ConfigRevision
from callbook.history.revisions import active_revision
from ivr.admin.diffs import summarize
from ivr.config import ConfigInvalid, Problem, to_data, validate_document
from ivr.config.revisions import save_revision

MAX_AUDITED_CHANGES = 100

Change = Callable[[dict[str, Any]], None]
"""Edits a document's plain data in place (the active one, then the draft's)."""


class DraftConflict(ConfigInvalid):
    """The change is valid on the active revision but not on the pending draft."""


def publish_change(
    session: Session,
    change: Change,
    *,
    author: str,
    comment: str,
    entity_id: str,
    before: Any,
    after: Any,
) -> ConfigRevision:
    """Apply `change` to the active revision and to the draft; the new active revision.

    Raises ConfigInvalid (nothing stored) when the active document refuses it,
    DraftConflict when only the draft does. The caller commits.
    """
    active = active_revision(session)
    if active is None:
        raise ConfigInvalid([Problem("", "aucune révision active")])
    data = deepcopy(active.document)
    change(data)
    doc = validate_document(data)
    draft = get_draft(session)
    draft_data: dict[str, Any] | None = None
    if draft is not None:
        draft_data = deepcopy(draft.document)
        change(draft_data)
        try:
            draft_data = to_data(validate_document(draft_data))
        except ConfigInvalid as exc:
            raise DraftConflict(exc.problems) from exc
    rev = save_revision(session, doc, author=author, comment=comment)
    changes = summarize(active.document, rev.document)[:MAX_AUDITED_CHANGES]
    record_audit(
        session,
        author,
        "config",
        rev.id,
        "publish",
        {"revision": active.id},
        {
            "revision": rev.id,
            "comment": comment,
            "changes": [[c.path, c.old, c.new] for c in changes],
        },
    )
    if draft is not None and draft_data is not None:
        base = rev.id if draft.base_revision_id == active.id else draft.base_revision_id
        save_draft(session, draft_data, author=author, base_revision_id=base)
        draft.base_revision_id = base  # save_draft keeps the base of the first edit
        record_audit(session, author, "draft", entity_id, "edit", before, after)
    session.flush()
    return rev
