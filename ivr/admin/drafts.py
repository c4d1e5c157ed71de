"""The document the admin pages work on: the pending draft, else the active revision.

Pages that preview what callers will hear (agenda, "what happens if…") should
read `working_document` so an admin sees the effect of an edit before
publishing it; pages that edit call `save_edit`, which validates the whole
document and stores it as the draft only when it is valid.
"""

from __future__ import annotations

from copy import deepcopy
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from callbook.audit import record_audit
from callbook.drafts import ConfigDraft, get_draft, save_draft
from callbook.revisions import active_revision
from ivr.config import ConfigDocument, to_data, validate_document


@dataclass(frozen=True, slots=True)
class Working:
    """The data being edited and where it comes from."""

    data: dict[str, Any]
    draft: ConfigDraft | None
    active_id: int | None

    @property
    def is_draft(self) -> bool:
        return self.draft is not None

    @property
    def stale(self) -> bool:
        """The draft started from a revision that is no longer the active one."""
        return self.draft is not None and self.draft.base_revision_id != self.active_id


def working(session: Session) -> Working:
    """A private copy of the draft's data (or of the active revision's)."""
    active = active_revision(session)
    active_id = None if active is None else active.id
    draft = get_draft(session)
    if draft is not None:
        return Working(deepcopy(draft.document), draft, active_id)
    data = {} if active is None else deepcopy(active.document)
    return Working(data, None, active_id)


def working_document(session: Session) -> ConfigDocument:
    """The draft's document if there is a draft, else the active one.

    Raises ConfigInvalid when there is neither (an empty database).
    """
    return validate_document(working(session).data)


def save_edit(
    session: Session,
    work: Working,
    data: dict[str, Any],
    *,
    actor: str,
    entity_id: str,
    before: Any,
    after: Any,
) -> ConfigDocument:
    """Validate `data` as a whole and store it as the draft, with an audit line.

    Raises ConfigInvalid (nothing stored) with every problem and its path.
    The stored data is the canonical form, as a published revision would be;
    `after` may be a function that picks the edited part out of it.
    """
    doc = validate_document(data)
    canonical = to_data(doc)
    save_draft(session, canonical, author=actor, base_revision_id=_base(work))
    if callable(after):  # the edited part as stored: numbers in E.164, and so on
        after = after(canonical)
    record_audit(session, actor, "draft", entity_id, "edit", before, after)
    return doc


def _base(work: Working) -> int | None:
    return work.draft.base_revision_id if work.draft is not None else work.active_id
