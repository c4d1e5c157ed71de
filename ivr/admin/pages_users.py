"""Accounts of the admin interface, for admins (the CLI does the same: `ivr users`)."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from callbook.accounts.users import (
    ROLES,
    UserError,
    create_user,
    get_user,
    list_users,
    set_password,
)
from callbook.accounts.users import update_user as change_user
from callbook.db import get_session
from callbook.history.revisions import active_revision
from callbook.i18n import LOCALES
from ivr.admin.auth import current_user, login_user, require_role
from ivr.admin.blueprint import bp
from ivr.admin.editing import FieldErrors, actor
from ivr.runtime import structure_names
from schedules import clock

ROLE_LABELS = {
    "admin": "administrateur",
    "technician": "technicien",
    "viewer": "lecteur",
    "referent": "référent (sa structure seulement)",
}


@bp.get("/users")
@require_role()
def users(errors: FieldErrors | None = None, values: dict[str, str] | None = None) -> str:
    return render_template(
        "admin/users.html",
        users=list_users(get_session()),
        roles=[(r, ROLE_LABELS[r]) for r in ROLES],
        errors=errors,
        values=values or {"role": "viewer"},
        technicians=_technicians(),
        structures=[("", "aucune"), *structure_names(get_session()).items()],
        locales=LOCALES,
    )


def _structure(role: str, given: str | None) -> str | None:
    """The structure picked for an account of `role`; UserError for an unknown key."""
    key = (given or "").strip()
    if role != "referent":
        return None
    if not key:
        raise UserError("structure", "choisissez la structure du référent")
    if key not in structure_names(get_session()):
        raise UserError("structure", f"structure inconnue de la configuration active : {key}")
    return key


def _technicians() -> list[tuple[str, str]]:
    """Choices for the technician an account acts as: the active revision's technicians."""
    rev = active_revision(get_session())
    items = [] if rev is None else rev.document.get("technicians", [])
    return [("", "aucun"), *((t["id"], t["name"]) for t in items)]


@bp.post("/users")
@require_role()
def add_user() -> BaseResponse | tuple[str, int]:
    session = get_session()
    fields = ("username", "display_name", "role", "structure")
    values = {k: request.form.get(k, "") for k in fields}
    try:
        user = create_user(
            session,
            values["username"],
            request.form.get("password", ""),
            role=values["role"],
            display_name=values["display_name"],
            structure=_structure(values["role"], values["structure"]),
            actor=actor(),
            now=clock.now(),
        )
    except UserError as exc:
        session.rollback()
        errors = FieldErrors()
        errors.add(exc.field, str(exc))
        return users(errors, values), 422
    session.commit()
    flash(f"Compte « {user.username} » créé.")
    return redirect(url_for("admin.users"))


@bp.post("/users/<username>")
@require_role()
def update_user(username: str) -> BaseResponse:
    session = get_session()
    user = get_user(session, username)
    if user is None:
        abort(404)
    role = request.form.get("role", user.role)
    active = request.form.get("active") == "1"
    me = current_user()
    if me is not None and me.id == user.id and (role != "admin" or not active):
        flash(
            "Vous ne pouvez ni retirer votre propre rôle d'administrateur ni vous désactiver.",
            "error",
        )
        return redirect(url_for("admin.users"))
    try:
        change_user(
            session,
            user,
            actor=actor(),
            now=clock.now(),
            role=role,
            active=active,
            display_name=request.form.get("display_name"),
            technician=request.form.get("technician"),
            structure=_structure(role, request.form.get("structure", user.structure)),
            locale=request.form.get("locale") or None,
        )
        password = request.form.get("password", "")
        if password:
            set_password(session, user, password, actor=actor(), now=clock.now())
    except UserError as exc:
        session.rollback()
        flash(f"{user.username} : {exc}", "error")
        return redirect(url_for("admin.users"))
    session.commit()
    if password and me is not None and me.id == user.id:
        login_user(user)  # a new password ends the other sessions, not this one
    flash(f"Compte « {user.username} » enregistré.")
    return redirect(url_for("admin.users"))
