"""Motives (menu labels, keys, speech keywords and phrases) and every prompt callers hear."""

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
from ivr.config import Family, Priority
from ivr.config.prompts import PLACEHOLDERS

Page = str | BaseResponse | tuple[str, int]

FAMILIES = (
    (Family.incident.value, lazy_gettext("incident technique")),
    (Family.usage.value, lazy_gettext("question d'utilisation (référent local)")),
    (Family.evolution.value, lazy_gettext("demande d'évolution")),
    (Family.account.value, lazy_gettext("licence ou compte")),
    (Family.directory.value, lazy_gettext("modification de l'annuaire")),
    (Family.emergency.value, lazy_gettext("urgence plateforme")),
)
PRIORITIES = (
    (Priority.urgent.value, lazy_gettext("urgente")),
    (Priority.high.value, lazy_gettext("haute")),
    (Priority.normal.value, lazy_gettext("normale")),
    (Priority.low.value, lazy_gettext("basse")),
)


@bp.get("/motives")
@require_role()
def motives() -> str:
    work = working(get_session())
    return render_template(
        "admin/motives.html",
        work=work,
        motives=sorted(work.data.get("motives", []), key=lambda m: m["digit"]),
        families=dict(FAMILIES),
        priorities=dict(PRIORITIES),
    )


def _values(item: dict[str, Any]) -> dict[str, Any]:
    return {
        "key": item.get("key", ""),
        "label": item.get("label", ""),
        "digit": item.get("digit", ""),
        "keywords": ", ".join(item.get("keywords", [])),
        "phrases": "\n".join(item.get("phrases", [])),
        "family": item.get("family", Family.incident.value),
        "priority": item.get("priority", Priority.normal.value),
        "oncall": bool(item.get("oncall", False)),
    }


def _from_form(old: dict[str, Any]) -> dict[str, Any]:
    form = request.form
    return {
        **old,
        "key": old.get("key") or form.get("key", "").strip(),
        "label": form.get("label", "").strip(),
        "digit": form.get("digit", "").strip(),
        "keywords": split_list(form.get("keywords", "")),
        "phrases": _lines(form["phrases"]) if "phrases" in form else old.get("phrases", []),
        "family": form.get("family", ""),
        "priority": form.get("priority", ""),
        "oncall": form.get("oncall") == "1",
    }


def _lines(text: str) -> list[str]:
    """One phrase a line; the configuration checks their number and length."""
    return [line.strip() for line in text.splitlines() if line.strip()]


@bp.route("/motives/<key>", methods=["GET", "POST"])
@bp.route("/motives/new", methods=["GET", "POST"], defaults={"key": ""})
@require_role()
def motive(key: str) -> Page:
    session = get_session()
    work = working(session)
    items = work.data.setdefault("motives", [])
    index = find_index(items, "key", key) if key else len(items)
    if index is None:
        abort(404)
    old = items[index] if key else {}
    values = _values(old)
    errors: FieldErrors | None = None
    if request.method == "POST":
        new = _from_form(old)
        values = _values(new)
        message = gettext("Motif « %(label)s » enregistré.", label=new["label"])
        errors = save_item(session, work, "motives", "key", index, old, new, message)
        if errors is None:
            return redirect(url_for("admin.motives"))
    page = render_template(
        "admin/motive.html",
        work=work,
        key=key,
        values=values,
        errors=errors,
        families=FAMILIES,
        priorities=PRIORITIES,
    )
    return (page, 422) if errors else page


@bp.route("/prompts", methods=["GET", "POST"])
@require_role()
def prompts() -> Page:
    """Every sentence at once; placeholders such as {motive} are checked on saving."""
    session = get_session()
    work = working(session)
    old = dict(work.data.get("prompts", {}))
    values = {name: old.get(name, "") for name in PLACEHOLDERS}
    errors: FieldErrors | None = None
    if request.method == "POST":
        values = {name: request.form.get(name, old.get(name, "")).strip() for name in PLACEHOLDERS}
        work.data["prompts"] = {**old, **values}
        changed = [name for name in PLACEHOLDERS if old.get(name) != values[name]]
        errors = save(
            session,
            work,
            work.data,
            prefix="prompts",
            entity_id="prompts",
            before={name: old.get(name) for name in changed},
            after={name: values[name] for name in changed},
            message=gettext("Messages enregistrés (%(value)s modifié(s)).", value=len(changed)),
        )
        if errors is None:
            return redirect(url_for("admin.prompts"))
        _by_prompt(errors)
    page = render_template(
        "admin/prompts.html",
        work=work,
        values=values,
        errors=errors,
        placeholders={k: ", ".join(f"{{{n}}}" for n in sorted(v)) for k, v in PLACEHOLDERS.items()},
    )
    return (page, 422) if errors else page


def _by_prompt(errors: FieldErrors) -> None:
    """Put each prompt's problem next to it.

    The prompts are checked together, so their problems come as one message
    at path "prompts": "welcome: unknown placeholder …; goodbye: …".
    """
    other = []
    for problem in errors.other:
        path, _, message = problem.partition(": ")
        if path != "prompts":
            other.append(problem)
            continue
        for part in message.split("; "):
            name, _, text = part.partition(": ")
            if name in PLACEHOLDERS:
                errors.add(name, text)
            else:
                other.append(f"prompts: {part}")
    errors.other = other
