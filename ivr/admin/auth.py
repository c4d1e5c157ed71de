"""Who is logged in, and what their role lets them reach.

Every admin view is decorated with `require_role(...)`, which both checks the
role and marks the view with `required_roles`. Views without the mark are
refused by `deny_unmarked` (deny by default), except the few in PUBLIC, so a
page added without a decorator is unreachable rather than open.

A session holds the user's id and session version, nothing of the password:
the cookie is signed, not encrypted. Logging out moves the version on in the
database (`end_sessions`), so a copy of the cookie is worthless afterwards,
as after a new password, a disabled account or a changed role.

Roles: `admin` may do everything and passes every check; `technician` works
tickets, callbacks, call book notes and their own on-call overrides; `viewer`
reads reports. A view lists the roles it admits besides admin.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar, cast

from flask import abort, current_app, g, redirect, request, session, url_for

from callbook.accounts.users import ROLES, User, end_sessions
from callbook.db import get_session

F = TypeVar("F", bound=Callable[..., Any])

SESSION_USER = "admin_user"
SESSION_VERSION = "admin_version"
READERS = ("technician", "viewer")
"""Roles that may read the everyday pages (admin passes anyway)."""
PUBLIC = frozenset({"admin.login", "admin.static"})
"""Endpoints reachable without logging in."""


def current_user() -> User | None:
    """The logged-in, active user of this request, or None."""
    if "admin_user" not in g:
        g.admin_user = _load_user()
    return cast(User | None, g.admin_user)


def _load_user() -> User | None:
    user_id = session.get(SESSION_USER)
    if not isinstance(user_id, int):
        return None
    user = get_session().get(User, user_id)
    # Logging out, a disabled account, a new password or role ends every open session.
    version = session.get(SESSION_VERSION)
    if user is None or not user.active or version != user.session_version:
        return None
    return user


def login_user(user: User) -> None:
    """Start a fresh session for `user` (a new CSRF token too: no fixation)."""
    session.clear()
    session.permanent = True
    session[SESSION_USER] = user.id
    session[SESSION_VERSION] = user.session_version
    g.admin_user = user


def logout_user() -> None:
    """End this session and, on the server, every session of the user (the cookie may be copied)."""
    user = current_user()
    if user is not None:
        end_sessions(user)
        get_session().commit()
    session.clear()
    g.admin_user = None


def has_role(*roles: str) -> bool:
    """True when the current user is an admin or has one of `roles`."""
    user = current_user()
    return user is not None and (user.role == "admin" or user.role in roles)


def require_role(*roles: str) -> Callable[[F], F]:
    """Admit admins and users with one of `roles`; others get 403, strangers the login page."""
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown roles {sorted(unknown)} (known: {', '.join(ROLES)})")

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if current_user() is None:
                return redirect(url_for("admin.login", next=_next_path()))
            if not has_role(*roles):
                abort(403)
            return view(*args, **kwargs)

        wrapper.required_roles = frozenset({"admin", *roles})  # type: ignore[attr-defined]
        return cast(F, wrapper)

    return decorate


def required_roles(endpoint: str) -> frozenset[str] | None:
    """The roles an endpoint admits; None when it is not marked."""
    view = current_app.view_functions.get(endpoint)
    return getattr(view, "required_roles", None)


def may_reach(endpoint: str) -> bool:
    """Whether the current user may open `endpoint` (used to show or hide links)."""
    roles = required_roles(endpoint)
    user = current_user()
    return roles is not None and user is not None and (user.role in roles)


def deny_unmarked() -> None:
    """Blueprint guard: a view that forgot `require_role` is refused to everyone."""
    endpoint = request.endpoint or ""
    if endpoint in PUBLIC:
        return
    if required_roles(endpoint) is None:
        current_app.logger.error("admin view %s has no require_role: refused", endpoint)
        abort(403)


def _next_path() -> str:
    """Where to come back after logging in: a local path only (no open redirect)."""
    path = request.full_path if request.query_string else request.path
    return path if request.method == "GET" and path.startswith("/admin") else url_for("admin.home")


def safe_next(target: str | None) -> str:
    if target and target.startswith("/admin") and not target.startswith("//"):
        return target
    return url_for("admin.home")
