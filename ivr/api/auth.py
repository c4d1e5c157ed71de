"""Who calls the JSON API, and what their role lets them reach.

Two kinds of bearer token are accepted:
- a personal token (`ivr users token USERNAME`): the request acts as that
  user, with that user's role, and the audit log names them;
- IVR_API_TOKEN, the shared token of scripts: full access (as an admin),
  audited as "api". Kept because scripts and exports already use it; a
  personal token is better for anything a person does, since it names them.

Every route declares the roles it admits besides admin (`api_roles` on the
view, or ROUTE_ROLES for the call-book routes); a route that declares
nothing is for admins only (deny by default).
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import Any, cast

from flask import Response, current_app, g, jsonify, request

from callbook.accounts.tokens import user_for_token
from callbook.accounts.users import ROLES, User
from callbook.db import session_scope

SHARED_ACTOR = "api"
VIEWERS = ("viewer", "technician")
"""Roles that read reports and exports (admin passes anyway)."""
TECHNICIANS = ("technician",)
WORKERS = ("technician", "referent")
"""Roles that work on tickets and callbacks (referents: their structure's only)."""

ROUTE_ROLES: dict[str, tuple[str, ...]] = {
    "api.show_call": TECHNICIANS,
    "api.put_motives": TECHNICIANS,
    "api.put_note": TECHNICIANS,
    "api.get_report": VIEWERS,
    "api.get_export": VIEWERS,
}
"""Roles of the call-book routes (`ivr.api.calls`, `ivr.api.reports`), besides admin."""


def allow(*roles: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Mark a view with the roles it admits besides admin."""
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown roles {sorted(unknown)}")

    def mark(view: Callable[..., Any]) -> Callable[..., Any]:
        view.api_roles = tuple(roles)  # type: ignore[attr-defined]
        return view

    return mark


def roles_of(endpoint: str) -> tuple[str, ...]:
    """Every role that may call `endpoint`, admin first."""
    view = current_app.view_functions.get(endpoint)
    declared = getattr(view, "api_roles", None)
    if declared is None:
        declared = ROUTE_ROLES.get(endpoint, ())
    return ("admin", *declared)


def current_user() -> User | None:
    """The user of the personal token; None for the shared token."""
    return cast(User | None, g.get("api_user"))


def current_actor() -> str:
    """Who the audit log names for this request's changes."""
    user = current_user()
    return user.username if user is not None else SHARED_ACTOR


def _json_error(status: int, error: str, fields: list[str]) -> Response:
    response = jsonify(error=error, fields=fields)
    response.status_code = status
    return response


def _shared_token_matches(given: str) -> bool:
    shared = current_app.config["IVR_SETTINGS"].api_token.get_secret_value()
    # Constant-time comparison: the answer time must not tell how much matched.
    return bool(shared) and hmac.compare_digest(given.encode("utf-8"), shared.encode("utf-8"))


def require_token() -> Response | None:
    """Blueprint guard: a valid bearer token, then a role the route admits."""
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    given = given.strip()
    user: User | None = None
    if scheme.lower() != "bearer" or not given:
        known = False
    elif _shared_token_matches(given):
        known, role = True, "admin"
    else:
        # A short unit of work of its own: on SQLite a transaction holds the write
        # lock, and the route's own session must not wait for this lookup's.
        with session_scope() as session:
            user = user_for_token(session, given)
        known, role = user is not None, user.role if user is not None else ""
    if not known:
        response = _json_error(401, "missing or wrong bearer token", ["Authorization"])
        response.headers["WWW-Authenticate"] = 'Bearer realm="ivr"'
        return response
    g.api_user = user
    allowed = roles_of(request.endpoint or "")
    if role not in allowed:
        return _json_error(
            403, f"the role {role} may not do this (allowed: {', '.join(allowed)})", []
        )
    return None
