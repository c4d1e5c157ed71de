"""Known callers (contacts): number, name, structure, e-mail, looked up on every call.

Every edit changes the draft, never the active revision; see `ivr.admin.drafts`.
Contacts have no identifier but their number, which may change: they are
addressed by position, and a form remembers the number it showed.
"""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext, lazy_gettext
from werkzeug.wrappers import Response as BaseResponse

from callbook.db import get_session
from ivr.admin.auth import require_role
from ivr.admin.blueprint import bp
from ivr.admin.drafts import Working, working
from ivr.admin.editing import FieldErrors, save

Page = str | BaseResponse | tuple[str, int]
STALE = lazy_gettext("Ce contact a changé depuis l'affichage de la page : vérifiez.")


def _fields(structures: list[tuple[str, str]]) -> list[dict[str, Any]]:
    return [
        {
            "name": "number",
            "label": gettext("Numéro"),
            "hint": gettext("04 73 25 83 39 ou +33473258339"),
        },
        {"name": "name", "label": gettext("Nom")},
        {"name": "structure", "label": gettext("Structure"), "options": structures},
        {"name": "email", "label": gettext("Adresse électronique"), "hint": gettext("facultative")},
        {"name": "was", "label": "", "type": "hidden"},
    ]


@bp.get("/contacts")
@require_role()
def contacts(errors: FieldErrors | None = None) -> str:
    work = working(get_session())
    return render_template(
        "admin/contacts.html",
        work=work,
        contacts=work.data.get("contacts", []),
        structures={s["id"]: s["name"] for s in work.data.get("structures", [])},
        errors=errors,
    )


def _values(item: dict[str, Any]) -> dict[str, str]:
    return {
        "number": item.get("number", ""),
        "name": item.get("name", ""),
        "structure": item.get("structure") or "",
        "email": item.get("email", ""),
        "was": item.get("number", ""),
    }


def _from_form(old: dict[str, Any]) -> dict[str, Any]:
    form = request.form
    return {
        **old,
        "number": form.get("number", "").strip(),
        "name": form.get("name", "").strip(),
        "structure": form.get("structure", "") or None,
        "email": form.get("email", "").strip(),
    }


@bp.route("/contacts/<int:index>", methods=["GET", "POST"])
@bp.route("/contacts/new", methods=["GET", "POST"], defaults={"index": -1})
@require_role()
def contact(index: int) -> Page:
    session = get_session()
    work = working(session)
    items = work.data.setdefault("contacts", [])
    is_new = index < 0
    if not is_new and index >= len(items):
        abort(404)
    old = {} if is_new else items[index]
    values = _values(old)
    errors: FieldErrors | None = None
    if request.method == "POST":
        if not is_new and request.form.get("was", "") != old.get("number"):
            flash(STALE, "error")
            return redirect(url_for("admin.contacts"))
        new = _from_form(old)
        values = {**_values(new), "number": request.form.get("number", ""), "was": values["was"]}
        position = len(items) if is_new else index
        if is_new:
            items.append(new)
        else:
            items[position] = new
        errors = save(
            session,
            work,
            work.data,
            prefix=f"contacts.{position}",
            entity_id=f"contacts/{new['name'] or position}",
            before=old or None,
            after=lambda data: data["contacts"][position],
            message=gettext("Contact « %(name)s » enregistré.", name=new["name"]),
        )
        if errors is None:
            return redirect(url_for("admin.contacts"))
    return _page(work, is_new, values, errors)


def _page(work: Working, is_new: bool, values: dict[str, str], errors: FieldErrors | None) -> Page:
    structures = [
        ("", gettext("aucune")),
        *((s["id"], s["name"]) for s in work.data.get("structures", [])),
    ]
    page = render_template(
        "admin/item.html",
        work=work,
        heading=gettext("Nouveau contact")
        if is_new
        else gettext("Contact « %(name)s »", name=values["name"]),
        fields=_fields(structures),
        values=values,
        errors=errors,
        notes=[],
        back=url_for("admin.contacts"),
    )
    return (page, 422) if errors else page


@bp.post("/contacts/<int:index>/delete")
@require_role()
def delete_contact(index: int) -> Page:
    session = get_session()
    work = working(session)
    items = work.data.get("contacts", [])
    if not 0 <= index < len(items):
        abort(404)
    if request.form.get("was", "") != items[index].get("number"):
        flash(STALE, "error")
        return redirect(url_for("admin.contacts"))
    old = items.pop(index)
    errors = save(
        session,
        work,
        work.data,
        prefix="",
        entity_id=f"contacts/{old.get('name') or index}",
        before=old,
        after=None,
        message=gettext("Contact « %(value)s » supprimé.", value=old.get("name", "")),
    )
    if errors is None:
        return redirect(url_for("admin.contacts"))
    return contacts(errors), 422
