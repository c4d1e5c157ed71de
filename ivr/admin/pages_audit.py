"""The audit log: who changed what, when, before and after."""

from __future__ import annotations

from flask import render_template, request

from callbook.db import get_session
from callbook.history.audit import AuditEntry, audit_query
from ivr.admin.auth import require_role
from ivr.admin.blueprint import bp
from ivr.admin.diffs import Change, summarize

PAGE_SIZE = 100

ENTITIES = ("config", "draft", "user", "ticket", "callback", "call", "caller", "token", "outbox")
"""Kinds of audited objects offered by the filter (labels: `callbook.labels`, audit_entity)."""


def entry_changes(entry: AuditEntry) -> list[Change]:
    """What the entry changed, field by field; a publication lists its own summary."""
    if entry.entity == "config" and isinstance(entry.after, dict) and "changes" in entry.after:
        return [Change(path, old, new) for path, old, new in entry.after["changes"]]
    return summarize(entry.before, entry.after)


@bp.get("/audit")
@require_role()
def audit() -> str:
    entity = request.args.get("entity", "").strip() or None
    actor = request.args.get("actor", "").strip() or None
    page = max(1, request.args.get("page", 1, type=int) or 1)
    query = audit_query(entity=entity, actor=actor).offset((page - 1) * PAGE_SIZE)
    entries = list(get_session().scalars(query.limit(PAGE_SIZE + 1)))
    return render_template(
        "admin/audit.html",
        entries=entries[:PAGE_SIZE],
        more=len(entries) > PAGE_SIZE,
        page=page,
        entity=entity or "",
        actor=actor or "",
        entities=ENTITIES,
        entry_changes=entry_changes,
    )
