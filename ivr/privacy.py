"""Personal data, the web service's side: the purge's settings, erasure and access per caller.

The call book does the rows (`callbook.privacy`, `callbook.reports.retention`);
here a typed number is normalised as calls store it (E.164), the contact
entry leaves the configuration as a new revision, and each erasure or
export is audited under the caller's hash (`callbook.privacy.subject_hash`),
never the number itself. The admin page and `ivr callbook erase` /
`subject-access` both call these functions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from callbook.history.audit import record_audit
from callbook.history.drafts import get_draft
from callbook.history.revisions import active_revision
from callbook.privacy import access, erasure, subject_hash
from callbook.reports.retention import PurgeResult, purge_older_than
from ivr.config import ConfigDocument
from ivr.config.fields import try_e164
from ivr.config.loader import ConfigInvalid
from ivr.config.revisions import revision_document, save_revision
from ivr.settings import Settings

ERASURE_COMMENT = "effacement des données d'un appelant ({subject})"


class InvalidNumber(ValueError):
    """The text typed is not a phone number."""


class ServiceNumber(ValueError):
    """The number is the service's own: every inbound call was made to it."""


def normalise_caller(text: str) -> str:
    """'06 12 34 56 78' -> '+33612345678', as calls store Twilio's `From`."""
    number = try_e164(text.strip()) if text and len(text) <= 40 else None
    if number is None:
        raise InvalidNumber(text)
    return number


def _refuse_service_number(active: tuple[int, ConfigDocument] | None, number: str) -> None:
    if active and number in {*active[1].service.numbers, active[1].service.outgoing_caller_id}:
        raise ServiceNumber(number)


def purge(
    session: Session, settings: Settings, now: datetime, *, dry_run: bool = False
) -> PurgeResult:
    """The retention purge with IVR_RETENTION_DAYS and IVR_TICKET_MAX_AGE_DAYS."""
    return purge_older_than(
        session,
        now - timedelta(days=settings.retention_days),
        ticket_cutoff=now - timedelta(days=settings.ticket_max_age_days),
        now=now,
        dry_run=dry_run,
    )


@dataclass(slots=True)
class Erasure:
    """What an erasure removed (or, on a dry run, would remove), by kind."""

    subject: str
    counts: dict[str, int]
    revision: int | None = None
    """The configuration revision stored without the contact, if there was one."""
    documents: dict[str, int] = field(default_factory=dict)
    dry_run: bool = False

    @property
    def nothing(self) -> bool:
        return not any(self.counts.values())


def _active_document(session: Session) -> tuple[int, ConfigDocument] | None:
    rev = active_revision(session)
    if rev is None:
        return None
    try:
        return rev.id, revision_document(rev)
    except ConfigInvalid:
        return None  # its contact still goes, with the stored revisions (forget_in_documents)


def _draft_contacts(session: Session, number: str) -> int:
    draft = get_draft(session)
    contacts = (draft.document.get("contacts") or []) if draft is not None else []
    return sum(1 for c in contacts if isinstance(c, dict) and c.get("number") == number)


def erase_caller(
    session: Session, number: str, *, author: str, now: datetime, dry_run: bool = False
) -> Erasure:
    """Erase everything held about `number` (E.164) in one transaction (the caller commits).

    Calls, motive lines, tickets and callbacks stay, anonymised (reports count
    them); call events go; recordings are queued for deletion at Twilio; the
    contact entry leaves the configuration as a new active revision, the
    draft, and the revisions stored before (so no rollback brings it back).
    The audit log gets one entry under the number's hash. The service's own
    numbers are refused (`ServiceNumber`): every inbound call was made to them.
    """
    active = _active_document(session)
    _refuse_service_number(active, number)
    found = erasure.plan(session, number)
    contacts = [c for c in active[1].contacts if c.number == number] if active else []
    counts = {**found.counts(), "contacts": len(contacts) or _draft_contacts(session, number)}
    result = Erasure(subject_hash(number), counts, dry_run=dry_run)
    if dry_run:
        return result
    result.counts = {
        **erasure.apply(session, found, actor=author, now=now),
        "contacts": counts["contacts"],
    }
    if active and contacts:
        _, doc = active
        kept = [c for c in doc.contacts if c.number != number]
        rev = save_revision(
            session,
            doc.model_copy(update={"contacts": kept}),
            author=author,
            comment=ERASURE_COMMENT.format(subject=result.subject),
        )
        result.revision = rev.id
    result.documents = erasure.forget_in_documents(session, number)
    after = {"counts": result.counts, "revision": result.revision, "documents": result.documents}
    record_audit(session, author, "caller", result.subject, "erase", None, after, at=now)
    return result


def subject_access(session: Session, number: str, *, author: str, now: datetime) -> dict[str, Any]:
    """Everything held about `number` as JSON-able data; the export is audited (by hash)."""
    active = _active_document(session)
    _refuse_service_number(active, number)
    data = access.subject_access(session, number)
    data["contacts"] = [
        c.model_dump(mode="json")
        for c in (active[1].contacts if active else [])
        if c.number == number
    ]
    data["exported_at"] = now.isoformat()
    kinds = ("calls", "tickets", "callbacks", "contacts")
    record_audit(
        session, author, "caller", subject_hash(number), "access", None,
        {kind: len(data[kind]) for kind in kinds}, at=now,
    )  # fmt: skip
    return data
