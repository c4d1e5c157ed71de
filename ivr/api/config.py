"""/api/v1/config: the active document, the shared draft, publishing, history, rollback.

The same functions as the admin pages (`ivr.admin.drafts`): the draft is
validated as a whole before it is stored, publishing and rolling back are
audited under the token's user.
"""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify, request
from sqlalchemy.orm import Session

from callbook.db import get_session
from callbook.history.models import ConfigRevision
from callbook.history.revisions import (
    UnknownRevision,
    active_revision_id,
    get_revision,
    list_revisions,
)
from ivr.admin.diffs import summarize, yaml_diff
from ivr.admin.drafts import PublishRefused, publish_draft, roll_back, save_edit, working
from ivr.api.auth import current_actor
from ivr.api.kit import ApiError, api_route, json_body, query_args
from ivr.api.models import (
    MAX_ID,
    ActivationOut,
    ActiveConfigOut,
    DiffOut,
    DiffQuery,
    DraftOut,
    PublishBody,
    RevisionOut,
)
from ivr.config import ConfigDocument, ConfigInvalid, Problem

REVISION = f"/config/revisions/<int(max={MAX_ID}):number>"
MAX_AUDITED_CHANGES = 100


def _revision_out(rev: ConfigRevision, active_id: int | None) -> dict[str, Any]:
    return RevisionOut(
        number=rev.id,
        author=rev.author,
        comment=rev.comment,
        created_at=rev.created_at,
        active=rev.id == active_id,
    ).model_dump(mode="json")


def _invalid(problems: list[Problem], status: int = 422) -> ApiError:
    message = "; ".join(str(p) for p in problems)
    return ApiError(status, message, [p.path or "body" for p in problems])


@api_route("GET", "/config", summary="The active configuration document", answer=ActiveConfigOut)
def config_active() -> Response:
    session = get_session()
    active_id = active_revision_id(session)
    rev = get_revision(session, active_id) if active_id is not None else None
    if rev is None:
        raise ApiError(409, "no active configuration revision")
    return jsonify(revision=_revision_out(rev, active_id), document=rev.document)


def _draft_out(session: Session) -> dict[str, Any]:
    work = working(session)
    draft = work.draft
    return DraftOut(
        is_draft=draft is not None,
        base_revision=draft.base_revision_id if draft is not None else work.active_id,
        active_revision=work.active_id,
        stale=work.stale,
        updated_by=draft.updated_by if draft is not None else None,
        updated_at=draft.updated_at if draft is not None else None,
        document=work.data,
    ).model_dump(mode="json")


@api_route(
    "GET",
    "/config/draft",
    summary="The shared draft (or the active document when there is no draft)",
    answer=DraftOut,
)
def config_draft() -> Response:
    return jsonify(_draft_out(get_session()))


@api_route(
    "PUT",
    "/config/draft",
    summary="Replace the draft with a whole document, validated (errors name their paths)",
    body=ConfigDocument,
    answer=DraftOut,
)
def config_put_draft() -> Response:
    data = request.get_json(silent=True)
    if data is None:
        raise ApiError(400, "the body must be JSON (Content-Type: application/json)", ["body"])
    session = get_session()
    work = working(session)
    try:
        save_edit(
            session,
            work,
            data,
            actor=current_actor(),
            entity_id="document",
            before=None,
            after=lambda canonical: {
                "changes": [
                    [c.path, c.old, c.new]
                    for c in summarize(work.data, canonical)[:MAX_AUDITED_CHANGES]
                ]
            },
        )
    except ConfigInvalid as exc:
        session.rollback()
        raise _invalid(exc.problems) from exc
    session.commit()
    return jsonify(_draft_out(session))


@api_route(
    "POST",
    "/config/publish",
    summary="Publish the draft as the new active revision",
    body=PublishBody,
    answer=RevisionOut,
    errors=(409,),
    status=201,
)
def config_publish() -> tuple[Response, int]:
    payload = json_body(PublishBody)
    session = get_session()
    work = working(session)
    try:
        rev = publish_draft(session, work, payload.comment, actor=current_actor())
    except PublishRefused as exc:
        session.rollback()
        status = 422 if any(p.path for p in exc.problems) else 409
        raise _invalid(exc.problems, status) from exc
    session.commit()
    return jsonify(_revision_out(rev, rev.id)), 201


@api_route(
    "GET",
    "/config/revisions",
    summary="Every revision, newest first",
    answer={"type": "array", "items": {"$ref": "#/components/schemas/RevisionOut"}},
)
def config_revisions() -> Response:
    session = get_session()
    active_id = active_revision_id(session)
    return jsonify([_revision_out(r, active_id) for r in reversed(list_revisions(session))])


def _revision(session: Session, number: int) -> ConfigRevision:
    rev = get_revision(session, number)
    if rev is None:
        raise ApiError(404, f"no configuration revision {number}", ["number"])
    return rev


@api_route(
    "GET",
    REVISION + "/diff",
    summary="What revision N changed (against N - 1, or ?against=M)",
    query=DiffQuery,
    answer=DiffOut,
)
def config_diff(number: int) -> Response:
    args = query_args(DiffQuery)
    session = get_session()
    rev = _revision(session, number)
    against = number - 1 if args.against is None else args.against
    older = get_revision(session, against) if against > 0 else None
    if older is None and args.against is not None:
        raise ApiError(404, f"no configuration revision {against}", ["against"])
    before = older.document if older is not None else {}
    lines = yaml_diff(
        before, rev.document, f"revision {older.id}" if older else "empty", f"revision {number}"
    )
    changes = [
        {"path": c.path, "kind": c.kind, "old": c.old, "new": c.new}
        for c in summarize(before, rev.document)
    ]
    return jsonify(
        before=older.id if older is not None else None,
        after=number,
        changes=changes,
        diff="".join(line + "\n" for _, line in lines),
    )


@api_route(
    "POST",
    REVISION + "/rollback",
    summary="Make revision N active again",
    answer=ActivationOut,
    errors=(409,),
)
def config_rollback(number: int) -> Response:
    session = get_session()
    try:
        was = roll_back(session, number, actor=current_actor())
    except UnknownRevision as exc:
        session.rollback()
        raise ApiError(404, f"no configuration revision {number}", ["number"]) from exc
    except ConfigInvalid as exc:
        session.rollback()
        raise ApiError(409, f"revision {number} no longer validates: {exc}", ["number"]) from exc
    session.commit()
    return jsonify(active_revision=number, previous_revision=was)
