"""The manual closure switch, as a configuration change.

Turning it on ("Fermer le service maintenant") or off ("Rouvrir maintenant",
which ends a closure before its planned end) publishes a new revision (the
switch is part of the configuration document, so every worker sees it within
a second and the history shows who did it), writes one audit line, and
carries the change into the pending draft if there is one: publishing that
draft later must not silently undo the switch.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask_babel import gettext
from sqlalchemy.orm import Session

from callbook.history.audit import record_audit
from callbook.history.drafts import get_draft, save_draft
from callbook.history.models import ConfigRevision
from ivr.admin.views.forms import FormError
from ivr.config import ConfigDocument, to_data, validate_document
from ivr.config.document import Closure
from ivr.config.revisions import save_revision

MESSAGE_MAX = 500


def closure_data(closure: Closure) -> dict[str, Any]:
    return closure.model_dump(mode="json")


def with_closure(
    doc: ConfigDocument, *, active: bool, message: str, until: datetime | None, now: datetime
) -> ConfigDocument:
    """`doc` with the switch set; refuses an end in the past, an over-long message,
    and reopening a service that is not closed (a form sent twice)."""
    if not active and not doc.closure.active:
        raise FormError("active", gettext("le service n'est pas fermé manuellement"))
    message = " ".join(message.split())
    if len(message) > MESSAGE_MAX:
        raise FormError(
            "message",
            gettext("le message dépasse %(MESSAGE_MAX)s caractères", MESSAGE_MAX=MESSAGE_MAX),
        )
    if active and until is not None and until <= now:
        raise FormError("until", gettext("la fin de la fermeture est déjà passée"))
    closure = Closure(active=active, message=message if active else "", until=until)
    data = to_data(doc)
    data["closure"] = closure_data(closure)
    return validate_document(data)


def publish_closure(
    session: Session,
    doc: ConfigDocument,
    *,
    active: bool,
    message: str,
    until: datetime | None,
    author: str,
    now: datetime,
) -> ConfigRevision:
    """Store and activate the revision with the switch set; audit it; keep the draft in step."""
    changed = with_closure(doc, active=active, message=message, until=until, now=now)
    before, after = closure_data(doc.closure), closure_data(changed.closure)
    comment = (
        gettext("fermeture manuelle activée") if active else gettext("fermeture manuelle levée")
    )
    rev = save_revision(session, changed, author=author, comment=comment)
    action = "closure.on" if active else "closure.off"
    record_audit(session, author, "config", rev.id, action, before, after, at=now)
    draft = get_draft(session)
    if draft is not None:
        data = dict(draft.document)
        data["closure"] = after
        save_draft(session, data, author=author, base_revision_id=draft.base_revision_id)
    return rev
