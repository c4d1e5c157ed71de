"""/api/v1/users: accounts, for admins (the same functions as the admin page and `ivr users`)."""

from __future__ import annotations

from flask import Response, jsonify

from callbook.accounts.users import UserError, create_user, get_user, list_users, update_user
from callbook.db import get_session
from ivr.api.auth import current_actor, current_user
from ivr.api.kit import ApiError, api_route, json_body
from ivr.api.models import UserCreate, UserOut
from ivr.runtime import structure_names
from schedules import clock

USER = "/users/<username>"


@api_route(
    "GET",
    "/users",
    summary="Every account",
    answer={"type": "array", "items": {"$ref": "#/components/schemas/UserOut"}},
)
def users_list() -> Response:
    users = list_users(get_session())
    return jsonify([UserOut.model_validate(u).model_dump(mode="json") for u in users])


@api_route(
    "POST", "/users", summary="Create an account", body=UserCreate, answer=UserOut, status=201
)
def users_create() -> tuple[Response, int]:
    payload = json_body(UserCreate)
    session = get_session()
    structure = (payload.structure or "").strip() or None
    if payload.role != "referent" and structure:
        raise ApiError(422, "structure: for referents only", ["structure"])
    if payload.role == "referent" and structure not in structure_names(session):
        what = "unknown structure" if structure else "required for a referent"
        raise ApiError(422, f"structure: {what}", ["structure"])
    try:
        user = create_user(
            session,
            payload.username,
            payload.password,
            role=payload.role,
            display_name=payload.display_name,
            structure=structure,
            actor=current_actor(),
            now=clock.now(),
        )
    except UserError as exc:
        session.rollback()
        raise ApiError(422, f"{exc.field}: {exc}", [exc.field]) from exc
    session.commit()
    return jsonify(UserOut.model_validate(user).model_dump(mode="json")), 201


@api_route(
    "POST",
    USER + "/disable",
    summary="Disable an account: no more logins, its API token stops working",
    answer=UserOut,
    errors=(409,),
)
def users_disable(username: str) -> Response:
    session = get_session()
    user = get_user(session, username[:64])
    if user is None:
        raise ApiError(404, f"no user {username[:64]}", ["username"])
    me = current_user()
    if me is not None and me.id == user.id:
        raise ApiError(409, "you cannot disable your own account", ["username"])
    update_user(session, user, actor=current_actor(), now=clock.now(), active=False)
    session.commit()
    return jsonify(UserOut.model_validate(user).model_dump(mode="json"))
