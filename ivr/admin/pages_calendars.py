"""Calendars: time zone, public holidays and weekly opening hours (lunch break included)."""

from __future__ import annotations

from typing import Any

from flask import abort, redirect, render_template, request, url_for
from flask_babel import gettext, lazy_gettext
from werkzeug.wrappers import Response as BaseResponse

from callbook.db import get_session
from ivr.admin.auth import require_role
from ivr.admin.blueprint import bp
from ivr.admin.drafts import working
from ivr.admin.editing import FieldErrors, save, split_list
from ivr.admin.views.zones import zone_groups, zone_problem

EXCEPTION_FIELDS = ("kind", "start", "end", "label", "ranges")
BLANK_ROWS = 2
MAX_ROWS = 500
KINDS = (("closure", "fermeture"), ("opening", "ouverture"))

DAYS = (
    ("mon", lazy_gettext("Lundi")),
    ("tue", lazy_gettext("Mardi")),
    ("wed", lazy_gettext("Mercredi")),
    ("thu", lazy_gettext("Jeudi")),
    ("fri", lazy_gettext("Vendredi")),
    ("sat", lazy_gettext("Samedi")),
    ("sun", lazy_gettext("Dimanche")),
)


def _users(data: dict[str, Any]) -> dict[str, list[str]]:
    """Calendar key -> who opens by it (the hotline, structures, referents)."""
    used: dict[str, list[str]] = {}
    hotline = data.get("hotline", {}).get("calendar")
    if hotline:
        used.setdefault(hotline, []).append(gettext("assistance nationale"))
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
    new = {
        **old,
        "timezone": form.get("timezone", "").strip(),
        "holidays": form.get("holidays", "").strip() or None,
        "weekly": weekly,
    }
    if form.get("exceptions_form"):  # the form showed the exceptions table
        new["exceptions"] = _exceptions_from_form()
    return new


def _exceptions_from_form() -> list[dict[str, Any]]:
    """The rows of the exceptions table; a row without start date nor label is dropped."""
    form = request.form
    rows = []
    count = min(form.get("exceptions_rows", 0, type=int) or 0, MAX_ROWS)
    for i in range(count):
        row = {f: form.get(f"exc-{i}-{f}", "").strip() for f in EXCEPTION_FIELDS}
        if not (row["start"] or row["label"]):
            continue
        rows.append(
            {
                "kind": row["kind"],
                "start": row["start"],
                "end": row["end"] or None,
                "label": row["label"],
                "ranges": split_list(row["ranges"]),
            }
        )
    return rows


def _exception_rows(exceptions: list[dict[str, Any]]) -> list[dict[str, str]]:
    """Rows to show: the exceptions, then blank rows to add new ones."""
    rows = [
        {
            "kind": e.get("kind", "closure"),
            "start": str(e.get("start") or ""),
            "end": str(e.get("end") or ""),
            "label": e.get("label", ""),
            "ranges": ", ".join(e.get("ranges") or []),
        }
        for e in exceptions
    ]
    return rows + [dict.fromkeys(EXCEPTION_FIELDS, "") for _ in range(BLANK_ROWS)]


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
    rows = _exception_rows(old.get("exceptions", []))
    errors: FieldErrors | None = None
    if request.method == "POST":
        new = _from_form(old)
        items[key] = new
        values = {k: request.form.get(k, "") for k in values}
        rows = _exception_rows(new.get("exceptions", []))
        if problem := zone_problem(new["timezone"]):  # picked from a list: a forged form
            errors = FieldErrors()
            errors.add("timezone", problem)
        else:
            errors = save(
                session,
                work,
                work.data,
                prefix=f"calendars.{key}",
                entity_id=f"calendars/{key}",
                before=old,
                after=lambda data: data["calendars"][key],
                message=gettext("Calendrier « %(key)s » enregistré.", key=key),
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
        rows=rows,
        kinds=KINDS,
        used_by=_users(work.data).get(key, []),
        zones=zone_groups(values["timezone"]),
    )
    return (page, 422) if errors else page
