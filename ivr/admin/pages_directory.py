"""Directory: structures (departments, support mode, referents) and referents (numbers).

Every edit changes the draft, never the active revision; see `ivr.admin.drafts`.
"""

from __future__ import annotations

from typing import Any

from flask import abort, redirect, render_template, request, url_for
from flask_babel import gettext, lazy_gettext
from werkzeug.wrappers import Response as BaseResponse

from callbook.db import get_session
from ivr.admin.auth import require_role
from ivr.admin.blueprint import bp
from ivr.admin.drafts import working
from ivr.admin.editing import FieldErrors, find_index, save, save_item, split_list

SUPPORT = (
    ("phone", lazy_gettext("Assistance téléphonique (référents)")),
    ("no_phone", lazy_gettext("Pas d'assistance téléphonique (message de redirection)")),
    ("hotline_only", lazy_gettext("Assistance nationale uniquement")),
)
STRATEGIES = (
    ("sequential", lazy_gettext("L'un après l'autre")),
    ("simultaneous", lazy_gettext("Tous en même temps")),
)

Page = str | BaseResponse | tuple[str, int]


@bp.get("/directory")
@require_role()
def directory() -> str:
    work = working(get_session())
    return render_template("admin/directory.html", work=work, data=work.data)


# -- structures ------------------------------------------------------------------------


def _structure_values(item: dict[str, Any]) -> dict[str, str]:
    return {
        "id": item.get("id", ""),
        "name": item.get("name", ""),
        "departments": ", ".join(item.get("departments", [])),
        "calendar": item.get("calendar", ""),
        "support": item.get("support", "phone"),
        "redirect_message": item.get("redirect_message", ""),
        "referents": ", ".join(item.get("referents", [])),
    }


def _structure_from_form(old: dict[str, Any]) -> dict[str, Any]:
    form = request.form
    return {
        **old,
        "id": old.get("id") or form.get("id", "").strip(),
        "name": form.get("name", "").strip(),
        "departments": split_list(form.get("departments", "")),
        "calendar": form.get("calendar", ""),
        "support": form.get("support", "phone"),
        "redirect_message": form.get("redirect_message", "").strip(),
        "referents": split_list(form.get("referents", "")),
    }


@bp.route("/directory/structures/<key>", methods=["GET", "POST"])
@bp.route("/directory/structures/new", methods=["GET", "POST"], defaults={"key": ""})
@require_role()
def structure(key: str) -> Page:
    session = get_session()
    work = working(session)
    items = work.data.setdefault("structures", [])
    index = find_index(items, "id", key) if key else len(items)
    if index is None:
        abort(404)
    old = items[index] if key else {}
    errors: FieldErrors | None = None
    values = _structure_values(old)
    if request.method == "POST":
        new = _structure_from_form(old)
        values = {**_structure_values(new), "id": new["id"]}
        message = gettext("Structure « %(name)s » enregistrée.", name=new["name"])
        errors = save_item(session, work, "structures", "id", index, old, new, message)
        if errors is None:
            return redirect(url_for("admin.directory"))
    return _structure_page(work, key, values, errors)


def _structure_page(work: Any, key: str, values: dict[str, str], errors: Any) -> Page:
    page = render_template(
        "admin/structure.html",
        work=work,
        key=key,
        values=values,
        errors=errors,
        calendars=[(c, c) for c in work.data.get("calendars", {})],
        support=SUPPORT,
        referents=work.data.get("referents", []),
    )
    return (page, 422) if errors else page


# -- referents ---------------------------------------------------------------------------


def _referent_values(item: dict[str, Any]) -> dict[str, str]:
    ring = item.get("ring") or {}
    return {
        "id": item.get("id", ""),
        "name": item.get("name", ""),
        "numbers": "\n".join(item.get("numbers", [])),
        "strategy": ring.get("strategy", "sequential"),
        "timeout": str(ring.get("timeout", 20)),
        "calendar": item.get("calendar") or "",
        "email": item.get("email") or "",
    }


def _referent_from_form(old: dict[str, Any]) -> dict[str, Any]:
    form = request.form
    timeout: Any = form.get("timeout", "").strip()
    if timeout.isdigit():
        timeout = int(timeout)  # anything else is left for validation to name
    new = {
        **old,
        "id": old.get("id") or form.get("id", "").strip(),
        "name": form.get("name", "").strip(),
        "numbers": split_list(form.get("numbers", "")),
        "ring": {"strategy": form.get("strategy", "sequential"), "timeout": timeout},
        "calendar": form.get("calendar", "") or None,
        "email": form.get("email", "").strip(),
    }
    return new


@bp.route("/directory/referents/<key>", methods=["GET", "POST"])
@bp.route("/directory/referents/new", methods=["GET", "POST"], defaults={"key": ""})
@require_role()
def referent(key: str) -> Page:
    session = get_session()
    work = working(session)
    items = work.data.setdefault("referents", [])
    index = find_index(items, "id", key) if key else len(items)
    if index is None:
        abort(404)
    old = items[index] if key else {}
    errors: FieldErrors | None = None
    values = _referent_values(old)
    if request.method == "POST":
        new = _referent_from_form(old)
        values = {**_referent_values(new), "numbers": request.form.get("numbers", "")}
        message = gettext("Référent « %(name)s » enregistré.", name=new["name"])
        errors = save_item(session, work, "referents", "id", index, old, new, message)
        if errors is None:
            return redirect(url_for("admin.directory"))
    used_by = [s["name"] for s in work.data.get("structures", []) if key in s.get("referents", [])]
    page = render_template(
        "admin/referent.html",
        work=work,
        key=key,
        values=values,
        errors=errors,
        strategies=STRATEGIES,
        calendars=[
            ("", gettext("celui de la structure")),
            *((c, c) for c in work.data["calendars"]),
        ],
        used_by=used_by,
    )
    return (page, 422) if errors else page


@bp.post("/directory/<kind>/<key>/delete")
@require_role()
def delete_entry(kind: str, key: str) -> Page:
    """Remove a structure or a referent; refused (with the reason) while still used."""
    if kind not in ("structures", "referents"):
        abort(404)
    session = get_session()
    work = working(session)
    items = work.data.get(kind, [])
    index = find_index(items, "id", key)
    if index is None:
        abort(404)
    old = items.pop(index)
    errors = save(
        session,
        work,
        work.data,
        prefix="",
        entity_id=f"{kind}/{key}",
        before=old,
        after=None,
        message=gettext("« %(value)s » supprimé.", value=old.get("name", key)),
    )
    if errors is None:
        return redirect(url_for("admin.directory"))
    work = working(session)
    page = render_template("admin/directory.html", work=work, data=work.data, errors=errors)
    return page, 422
