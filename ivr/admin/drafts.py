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

from flask_babel import gettext
from sqlalchemy.orm import Session

from callbook.history.audit import record_audit
from callbook.history.drafts import ConfigDraft, discard_draft, get_draft, save_draft
from callbook.history.models import ConfigRevision
from callbook.history.revisions import active_revision, active_revision_id, get_revision
from ivr.admin.diffs import summarize
from ivr.config import ConfigDocument, ConfigInvalid, Problem, to_data, validate_document
from ivr.config.revisions import activate_revision, save_revision

MAX_AUDITED_CHANGES = 100


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


class PublishRefused(ValueError):
    """The draft cannot be published; `problems` says why (path "comment", "" or a field)."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems


def publish_draft(session: Session, work: Working, comment: str, *, actor: str) -> ConfigRevision:
    """Store the draft as a new active revision, audit it, and drop the draft.

    Raises PublishRefused (nothing stored) without a comment, without a draft,
    when the draft equals the active revision, or when it does not validate.
    """
    active = get_revision(session, work.active_id) if work.active_id else None
    base = active.document if active is not None else {}
    problems: list[Problem] = []
    if work.draft is None:
        problems.append(Problem("", gettext("Aucun brouillon : rien à publier.")))
    if not comment.strip():
        problems.append(
            Problem("comment", gettext("Dites en une phrase ce qui change et pourquoi."))
        )
    if work.draft is not None and not summarize(base, work.data):
        problems.append(
            Problem(
                "", gettext("Le brouillon est identique à la révision active : rien à publier.")
            )
        )
    doc = None
    try:
        doc = validate_document(work.data)
    except ConfigInvalid as exc:
        problems.extend(exc.problems)
    if doc is None or problems:
        raise PublishRefused(problems)
    rev = save_revision(session, doc, author=actor, comment=comment.strip())
    record_publication(session, rev, previous=active, actor=actor)
    discard_draft(session)
    return rev


def record_publication(
    session: Session, rev: ConfigRevision, *, previous: ConfigRevision | None, actor: str
) -> None:
    """The audit line of a revision made active in place of `previous`: what it changes.

    The same for a published draft and for `ivr config import`.
    """
    base = previous.document if previous is not None else {}
    changes = summarize(base, rev.document)[:MAX_AUDITED_CHANGES]
    record_audit(
        session,
        actor,
        "config",
        rev.id,
        "publish",
        {"revision": None if previous is None else previous.id},
        {
            "revision": rev.id,
            "comment": rev.comment,
            "changes": [[c.path, c.old, c.new] for c in changes],
        },
    )


def roll_back(session: Session, number: int, *, actor: str) -> int | None:
    """Make revision `number` active again, audited; the previously active number.

    Raises UnknownRevision, or ConfigInvalid when that revision no longer
    validates (the active revision is then untouched).
    """
    was = active_revision_id(session)
    activate_revision(session, number, author=actor)
    record_audit(
        session, actor, "config", number, "rollback", {"revision": was}, {"revision": number}
    )
    return was
