"""Technicians of the on-call line: name, numbers in call order, SMS number, active.

Every edit changes the draft, never the active revision; see `ivr.admin.drafts`.
Removing a technician still in the rota or an override is refused, with the reason.
"""

from __future__ import annotations

from typing import Any

from flask import abort, redirect, render_template, request, url_for
from flask_babel import gettext, lazy_gettext
from werkzeug.wrappers import Response as BaseResponse

from callbook.db import get_session
from ivr.admin.auth import require_role
from ivr.admin.blueprint import bp
from ivr.admin.drafts import Working, working
from ivr.admin.editing import FieldErrors, find_index, save, save_item, split_list

Page = str | BaseResponse | tuple[str, int]
FIELDS = (
    {
        "name": "id",
        "label": lazy_gettext("Identifiant"),
        "hint": lazy_gettext("minuscules, chiffres et tirets ; ne change plus"),
    },
    {"name": "name", "label": lazy_gettext("Nom")},
    {
        "name": "numbers",
        "label": lazy_gettext("Numéros de téléphone"),
        "rows": 3,
        "hint": lazy_gettext("un par ligne, dans l'ordre d'appel (06 12 34 56 78 ou +33612345678)"),
    },
    {
        "name": "sms",
        "label": lazy_gettext("Numéro pour les SMS"),
        "hint": lazy_gettext("vide : pas de SMS"),
    },
    {
        "name": "email",
        "label": lazy_gettext("E-mail"),
        "hint": lazy_gettext("alertes d'astreinte et échéances ; vide : aucun"),
    },
    {"name": "active", "label": lazy_gettext("Actif (appelé par l'astreinte)"), "type": "checkbox"},
)


def _members(data: dict[str, Any]) -> list[str]:
    return ((data.get("oncall") or {}).get("schedule") or {}).get("rota", {}).get("members", [])


@bp.get("/technicians")
@require_role()
def technicians(errors: FieldErrors | None = None) -> str:
    work = working(get_session())
    return render_template(
        "admin/technicians.html",
        work=work,
        technicians=work.data.get("technicians", []),
        members=_members(work.data),
        errors=errors,
    )


def _values(item: dict[str, Any]) -> dict[str, str]:
    return {
        "id": item.get("id", ""),
        "name": item.get("name", ""),
        "numbers": "\n".join(item.get("numbers", [])),
        "sms": item.get("sms") or "",
        "email": item.get("email") or "",
        "active": "1" if item.get("active", True) else "",
    }


def _from_form(old: dict[str, Any]) -> dict[str, Any]:
    form = request.form
    new = {
        **old,
        "id": old.get("id") or form.get("id", "").strip(),
        "name": form.get("name", "").strip(),
        "numbers": split_list(form.get("numbers", "")),
        "sms": form.get("sms", "").strip() or None,
        "email": form.get("email", "").strip(),
        "active": form.get("active") == "1",
    }
    return new


@bp.route("/technicians/<key>", methods=["GET", "POST"])
@bp.route("/technicians/new", methods=["GET", "POST"], defaults={"key": ""})
@require_role()
def technician(key: str) -> Page:
    session = get_session()
    work = working(session)
    items = work.data.setdefault("technicians", [])
    index = find_index(items, "id", key) if key else len(items)
    if index is None:
        abort(404)
    old = items[index] if key else {}
    values = _values(old)
    errors: FieldErrors | None = None
    if request.method == "POST":
        new = _from_form(old)
        values = {**_values(new), "numbers": request.form.get("numbers", "")}
        values["sms"] = request.form.get("sms", "")
        values["email"] = request.form.get("email", "")
        message = gettext("Technicien « %(name)s » enregistré.", name=new["name"])
        errors = save_item(session, work, "technicians", "id", index, old, new, message)
        if errors is None:
            return redirect(url_for("admin.technicians"))
    return _page(work, key, values, errors)


def _page(work: Working, key: str, values: dict[str, str], errors: FieldErrors | None) -> Page:
    notes = []
    if key in _members(work.data):
        notes.append(
            gettext("Dans le roulement de l'astreinte : un technicien inactif y est sauté.")
        )
    page = render_template(
        "admin/item.html",
        work=work,
        heading=gettext("Technicien « %(name)s »", name=values["name"])
        if key
        else gettext("Nouveau technicien"),
        fields=FIELDS if not key else FIELDS[1:],
        values=values,
        errors=errors,
        notes=notes,
        back=url_for("admin.technicians"),
    )
    return (page, 422) if errors else page


@bp.post("/technicians/<key>/delete")
@require_role()
def delete_technician(key: str) -> Page:
    """Remove a technician; refused (with the reason) while the rota or an override names them."""
    session = get_session()
    work = working(session)
    items = work.data.get("technicians", [])
    index = find_index(items, "id", key)
    if index is None:
        abort(404)
    old = items.pop(index)
    errors = save(
        session,
        work,
        work.data,
        prefix="",
        entity_id=f"technicians/{key}",
        before=old,
        after=None,
        message=gettext("Technicien « %(value)s » supprimé.", value=old.get("name", key)),
    )
    if errors is None:
        return redirect(url_for("admin.technicians"))
    return technicians(errors), 422
