"""Astreinte (/admin/oncall): ring time, windows by kind of day, the rota and its overrides.

Admins edit the draft here like on every configuration page. Technicians
change the overrides that concern them on /admin/oncall/mine
(`pages_oncall_mine`), which go live at once.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import abort, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from callbook.db import get_session
from ivr.admin.auth import require_role
from ivr.admin.blueprint import bp
from ivr.admin.drafts import Working, working
from ivr.admin.editing import FieldErrors, save, split_list
from ivr.admin.views.forms import FormError
from ivr.admin.views.overrides import (
    FIELDS,
    form_values,
    local_text,
    override_from_form,
    override_key,
    technician_problem,
)
from ivr.admin.views.zones import zone_groups, zone_problem
from schedules import OnCallSchedule

Page = str | BaseResponse | tuple[str, int]
WEEKDAYS = (
    ("mon", "lundi"),
    ("tue", "mardi"),
    ("wed", "mercredi"),
    ("thu", "jeudi"),
    ("fri", "vendredi"),
    ("sat", "samedi"),
    ("sun", "dimanche"),
)
# What a schedule that leaves them out gets (the document's own defaults).
DEFAULT_ZONE: str = OnCallSchedule.model_fields["timezone"].default
DEFAULT_HOLIDAYS: str | None = OnCallSchedule.model_fields["holidays"].default
# Problems the document names on an item as a whole, shown next to the field they are about.
RELOCATED = {"schedule.rota": "schedule.rota.anchor"}


def _number(text: str) -> Any:
    text = text.strip()
    return int(text) if text.isdigit() else text  # anything else is left for validation to name


def _values(section: dict[str, Any]) -> dict[str, str]:
    schedule = section.get("schedule", {})
    rota = schedule.get("rota", {})
    return {
        "ring_timeout": str(section.get("ring_timeout", 25)),
        "timezone": schedule.get("timezone", DEFAULT_ZONE),
        "holidays": schedule.get("holidays", DEFAULT_HOLIDAYS) or "",
        "working_day_windows": ", ".join(schedule.get("working_day_windows", ["06:00-22:00"])),
        "rest_day_windows": ", ".join(
            schedule.get("rest_day_windows", ["09:00-10:00", "16:00-17:00"])
        ),
        "members": ", ".join(rota.get("members", [])),
        "anchor": str(rota.get("anchor", "")),
        "handover_weekday": rota.get("handover_weekday", "mon"),
        "handover_time": rota.get("handover_time", "09:00"),
        "period_weeks": str(rota.get("period_weeks", 1)),
    }


def _from_form(old: dict[str, Any]) -> dict[str, Any]:
    form = request.form
    schedule = dict(old.get("schedule", {}))
    # A form without these fields (an older page) leaves them as they are.
    if (timezone := form.get("timezone")) is not None:
        schedule["timezone"] = timezone.strip()  # an empty name is refused by validation
    if (holidays := form.get("holidays")) is not None:
        schedule["holidays"] = holidays.strip() or None  # empty: no public holidays
    return {
        **old,
        "ring_timeout": _number(form.get("ring_timeout", "")),
        "schedule": {
            **schedule,
            "working_day_windows": split_list(form.get("working_day_windows", "")),
            "rest_day_windows": split_list(form.get("rest_day_windows", "")),
            "rota": {
                **schedule.get("rota", {}),
                "members": _members(form.getlist("members")),
                "anchor": form.get("anchor", "").strip(),
                "handover_weekday": form.get("handover_weekday", "mon"),
                "handover_time": form.get("handover_time", "").strip(),
                "period_weeks": _number(form.get("period_weeks", "")),
            },
            "overrides": schedule.get("overrides", []),
        },
    }


def _members(picked: list[str]) -> list[str]:
    """The rota's ids in order: one per select (an empty place is skipped)."""
    return [key for value in picked for key in split_list(value)]


def _refused(data: dict[str, Any]) -> FieldErrors | None:
    """What the lists refuse before the document is validated: an unknown zone or
    technician (a page older than the directory, or a forged form), in French."""
    schedule = data["oncall"]["schedule"]
    known = {t["id"] for t in data.get("technicians", [])}
    errors = FieldErrors()
    if problem := zone_problem(schedule.get("timezone", DEFAULT_ZONE)):
        errors.add("schedule.timezone", problem)
    for key in schedule["rota"]["members"]:
        if problem := technician_problem(key, known):
            errors.add("schedule.rota.members", problem)
    return errors or None


def _relocate(errors: FieldErrors, moves: dict[str, str]) -> FieldErrors:
    for old, new in moves.items():
        if old in errors.fields:
            errors.fields.setdefault(new, []).extend(errors.fields.pop(old))
    return errors


def override_errors(errors: FieldErrors, index: int) -> FieldErrors:
    """Move the problems of override `index` that name no field next to the one they are about.

    "ends before it starts" is about the row as a whole: shown at its end; an
    overlap with another override is named on the schedule: shown at its start.
    """
    item, schedule = f"oncall.schedule.overrides.{index}: ", "oncall.schedule: "
    for text in list(errors.other):
        if text.startswith(item):
            errors.other.remove(text)
            errors.add("end", text.removeprefix(item))
        elif text.startswith(schedule) and "overlap" in text:
            errors.other.remove(text)
            errors.add("start", text.removeprefix(schedule))
    return errors


def form_error(exc: FormError) -> FieldErrors:
    errors = FieldErrors()
    errors.add(exc.field, exc.message)
    return errors


def schedule_zone(section: dict[str, Any] | None) -> ZoneInfo:
    """The zone of the on-call schedule; the default while the name typed is not one
    (the form is shown again with the error next to the field)."""
    timezone = ((section or {}).get("schedule") or {}).get("timezone") or DEFAULT_ZONE
    try:
        return ZoneInfo(str(timezone))
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(DEFAULT_ZONE)


def override_rows(section: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The overrides with their index, their times in the schedule's zone, sorted by start."""
    zone = schedule_zone(section)
    items = ((section or {}).get("schedule") or {}).get("overrides", [])
    rows = [
        {
            "index": i,
            "start": local_text(o["start"], zone),
            "end": local_text(o["end"], zone),
            "technician": o["technician"],
            "label": o.get("label", ""),
            "key": override_key(o),
        }
        for i, o in enumerate(items)
    ]
    return sorted(rows, key=lambda row: row["key"][0])


def _page(
    work: Working,
    values: dict[str, str],
    errors: FieldErrors | None = None,
    added: dict[str, str] | None = None,
    added_errors: FieldErrors | None = None,
) -> Page:
    section = work.data.get("oncall")
    technicians = work.data.get("technicians", [])
    members = split_list(values["members"])
    page = render_template(
        "admin/oncall.html",
        work=work,
        configured=section is not None,
        values=values,
        errors=errors,
        weekdays=WEEKDAYS,
        technicians=technicians,
        tech_options=[("", "—"), *((t["id"], t["name"]) for t in technicians)],
        members=members,
        places=max(len(technicians), len(members), 1),
        zones=zone_groups(values["timezone"]),
        names={t["id"]: t["name"] for t in technicians},
        overrides=override_rows(section),
        timezone=schedule_zone(section).key,
        added=added or dict.fromkeys(FIELDS, ""),
        added_errors=added_errors,
    )
    return (page, 422) if errors or added_errors else page


@bp.route("/oncall", methods=["GET", "POST"])
@require_role()
def oncall() -> Page:
    session = get_session()
    work = working(session)
    old = work.data.get("oncall") or {}
    values = _values(old)
    errors: FieldErrors | None = None
    if request.method == "POST":
        work.data["oncall"] = _from_form(old)
        values = {k: request.form.get(k, "") for k in values}
        values["members"] = ", ".join(work.data["oncall"]["schedule"]["rota"]["members"])
        errors = _refused(work.data) or save(
            session,
            work,
            work.data,
            prefix="oncall",
            entity_id="oncall",
            before=old or None,
            after=lambda data: data["oncall"],
            message="Astreinte enregistrée.",
        )
        if errors is None:
            return redirect(url_for("admin.oncall"))
        _relocate(errors, RELOCATED)
    return _page(work, values, errors)


@bp.post("/oncall/overrides")
@require_role()
def add_override() -> Page:
    session = get_session()
    work = working(session)
    section = work.data.get("oncall")
    if section is None:
        abort(409, "Aucune astreinte n'est configurée.")
    values = _values(section)
    added = form_values(request.form)
    try:
        known = [t["id"] for t in work.data.get("technicians", [])]
        new = override_from_form(request.form, schedule_zone(section), known)
    except FormError as exc:
        return _page(work, values, added=added, added_errors=form_error(exc))
    items = section["schedule"].setdefault("overrides", [])
    index = len(items)
    items.append(new)
    errors = save(
        session,
        work,
        work.data,
        prefix=f"oncall.schedule.overrides.{index}",
        entity_id="oncall/overrides",
        before=None,
        after=lambda data: data["oncall"]["schedule"]["overrides"][index],
        message=f"Remplacement par « {new['technician']} » enregistré.",
    )
    if errors is None:
        return redirect(url_for("admin.oncall") + "#overrides")
    work = working(session)
    return _page(work, values, added=added, added_errors=override_errors(errors, index))


@bp.post("/oncall/overrides/<int:index>/delete")
@require_role()
def delete_override(index: int) -> Page:
    session = get_session()
    work = working(session)
    section = work.data.get("oncall")
    items = (section or {}).get("schedule", {}).get("overrides", [])
    if not 0 <= index < len(items):
        abort(404)
    # The page may be older than the draft: remove the override it showed, not an index.
    shown = (request.form.get("start", ""), request.form.get("technician", ""))
    if (str(items[index]["start"]), items[index]["technician"]) != shown:
        flash("Ce remplacement a changé depuis l'affichage de la page : vérifiez.", "error")
        return redirect(url_for("admin.oncall") + "#overrides")
    old = items.pop(index)
    errors = save(
        session,
        work,
        work.data,
        prefix="",
        entity_id="oncall/overrides",
        before=old,
        after=None,
        message=f"Remplacement par « {old['technician']} » supprimé.",
    )
    if errors is None:
        return redirect(url_for("admin.oncall") + "#overrides")
    work = working(session)
    return _page(work, _values(work.data.get("oncall") or {}), errors)
