"""/api/v1/calls: one call of the call book, its real motives and its note.

Technicians' tools set what the call was really about (motives) and write
its note; the call book records who did it.
"""

from __future__ import annotations

from typing import Any, TypeVar

from flask import Response, jsonify, request
from pydantic import ValidationError

from callbook.calls.annotate import UnknownCall, UnknownMotive, get_call, set_motives, set_note
from callbook.calls.models import Call, call_as_dict
from callbook.db import session_scope
from ivr.api import auth
from ivr.api.kit import ApiError, bp, validation_error
from ivr.api.models import MotivesPayload, NotePayload, Payload
from ivr.runtime import NoActiveConfig, current_config
from schedules import clock

P = TypeVar("P", bound=Payload)


def _author(payload: Payload) -> str:
    """Who the call book names: a personal token's user; for the shared scripts'
    token, the `author` the script gives (the person it acts for), else the token."""
    user = auth.current_user()
    if user is None:
        return payload.author or auth.current_actor()
    if payload.author not in (None, user.username):
        raise ApiError(422, f"author: a personal token acts as {user.username}", ["author"])
    return user.username


def _payload(model: type[P], *, wrap: str | None = None) -> P:
    body = request.get_json(silent=True)
    if body is None:
        raise ApiError(400, "the body must be JSON (Content-Type: application/json)")
    if wrap is not None and not isinstance(body, dict):
        body = {wrap: body}  # a bare value stands for the main field
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        raise validation_error(exc) from exc


@bp.get("/calls/<call_sid>")
def show_call(call_sid: str) -> Response:
    with session_scope() as session:
        return jsonify(call_as_dict(_call(session, call_sid)))


@bp.put("/calls/<call_sid>/motives")
def put_motives(call_sid: str) -> Response:
    """Body: {"motives": ["incident", …], "replace_caller": false, "author": "…"} or a bare list."""
    payload = _payload(MotivesPayload, wrap="motives")
    try:
        _, doc = current_config()
    except NoActiveConfig as exc:
        raise ApiError(409, f"no active configuration: {exc}") from exc
    families = {m.key: str(m.family) for m in doc.motives}
    with session_scope() as session:
        try:
            call = set_motives(
                session,
                call_sid,
                [(key, families.get(key, "")) for key in payload.motives],
                author=_author(payload),
                now=clock.now(),
                known=families,
                replace_caller=payload.replace_caller,
            )
        except UnknownCall as exc:
            raise _unknown_call(call_sid) from exc
        except UnknownMotive as exc:
            raise ApiError(
                422,
                f"{exc} (known: {', '.join(families)})",
                [f"motives.{i}" for i in sorted(exc.positions)],
            ) from exc
        return jsonify(call_as_dict(call))


@bp.put("/calls/<call_sid>/note")
def put_note(call_sid: str) -> Response:
    """Body: {"note": "…", "author": "…"} or a bare JSON string."""
    payload = _payload(NotePayload, wrap="note")
    with session_scope() as session:
        try:
            call = set_note(
                session, call_sid, payload.note, author=_author(payload), now=clock.now()
            )
        except UnknownCall as exc:
            raise _unknown_call(call_sid) from exc
        return jsonify(call_as_dict(call))


def _call(session: Any, call_sid: str) -> Call:
    try:
        return get_call(session, call_sid)
    except UnknownCall as exc:
        raise _unknown_call(call_sid) from exc


def _unknown_call(call_sid: str) -> ApiError:
    return ApiError(404, f"no call {call_sid} in the call book", ["call_sid"])
