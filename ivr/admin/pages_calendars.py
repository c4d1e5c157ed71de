"""Calendars: time zone, public holidays and weekly opening hours (lunch break included)."""

from __future__ import annotations

from typing import Any

from flask import abort, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from callbook.db import get_session
from ivr.admin.auth import require_role
from ivr.admin.blueprint import bp
from ivr.admin.drafts import working
from ivr.admin.editing import FieldErrors, save, split_list

DAYS = (
    ("mon", "Lundi"),
    ("tue", "Mardi"),
    ("wed", "Mercredi"),
    ("thu", "Jeudi"),
    ("fri", "Vendredi"),
    ("sat", "Samedi"),
    ("sun", "Dimanche"),
)


def _users(data: dict[str, Any]) -> dict[str, list[str]]:
    """Calendar key -> who opens by it (the hotline, structures, referents)."""
    used: dict[str, list[str]] = {}
    hotline = data.get("hotline", {}).get("calendar")
    if hotline:
        used.setdefault(hotline, []).append("assistance nationale")
    for structure in data.get("structures", []):
        used.setdefault(structure["calendar"], []).append(structure["name"])
    for referent in data.get("referents", []):
        if referent.get("calendar"):
            used.setdefault(referent["calendar"], []).append(referent["name"])
    return used


@bp.get("/calendars")
@require_role()
def calendars() -> str:
    work = working(get_session())
    return render_template(
        "admin/calendars.html",
        work=work,
        calendars=work.data.get("calendars", {}),
        days=DAYS,
        used=_users(work.data),
    )


def _values(item: dict[str, Any]) -> dict[str, str]:
    weekly = item.get("weekly", {})
    values = {
        "timezone": item.get("timezone", "Europe/Paris"),
        "holidays": item.get("holidays") or "",
    }
    for day, _ in DAYS:
        values[f"weekly_{day}"] = ", ".join(weekly.get(day, []))
    return values


def _from_form(old: dict[str, Any]) -> dict[str, Any]:
    form = request.form
    weekly = {}
    for day, _ in DAYS:
        ranges = split_list(form.get(f"weekly_{day}", ""))
        if ranges:
            weekly[day] = ranges
    return {
        **old,
        "timezone": form.get("timezone", "").strip(),
        "holidays": form.get("holidays", "").strip() or None,
        "weekly": weekly,
    }


@bp.route("/calendars/<key>", methods=["GET", "POST"])
@require_role()
def calendar(key: str) -> str | BaseResponse | tuple[str, int]:
    session = get_session()
    work = working(session)
    items = work.data.get("calendars", {})
    if key not in items:
        abort(404)
    old = items[key]
    values = _values(old)
    errors: FieldErrors | None = None
    if request.method == "POST":
        new = _from_form(old)
        items[key] = new
        values = {k: request.form.get(k, "") for k in values}
        errors = save(
            session,
            work,
            work.data,
            prefix=f"calendars.{key}",
            entity_id=f"calendars/{key}",
            before=old,
            after=lambda data: data["calendars"][key],
            message=f"Calendrier « {key} » enregistré.",
        )
        if errors is None:
            return redirect(url_for("admin.calendars") + f"#calendar-{key}")
    page = render_template(
        "admin/calendar.html",
        work=work,
        key=key,
        values=values,
        errors=errors,
        days=DAYS,
        exceptions=old.get("exceptions", []),
        used_by=_users(work.data).get(key, []),
    )
    return (page, 422) if errors else page
