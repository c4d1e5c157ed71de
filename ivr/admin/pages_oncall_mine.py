"""Mes astreintes (/admin/oncall/mine): a technician's own on-call overrides, live at once.

A technician's account names the configured technician it acts as
(`User.technician`, set on the users page). They may add or remove an override
where they are the one on duty, or the one the rota had on duty and who is
replaced (a swap), and nothing else. The change does not wait for the draft:
see `ivr.admin.oncall_live` for why and how.
"""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from callbook.db import get_session
from ivr.admin.auth import current_user, require_role
from ivr.admin.blueprint import bp
from ivr.admin.editing import FieldErrors, actor
from ivr.admin.oncall_live import DraftConflict, publish_change
from ivr.admin.pagekit import active_or_abort
from ivr.admin.pages_oncall import form_error, override_errors, override_rows
from ivr.admin.views.forms import FormError
from ivr.admin.views.overrides import (
    FIELDS,
    form_values,
    local_text,
    override_from_form,
    override_key,
    rota_holders,
)
from ivr.config import ConfigDocument, ConfigInvalid
from schedules import OnCallSchedule, clock

Page = str | BaseResponse | tuple[str, int]
NOT_YOURS = (
    "Vous ne pouvez saisir qu'un remplacement où vous prenez l'astreinte, "
    "ou qui vous remplace pendant votre tour."
)


def _me() -> str | None:
    user = current_user()
    return None if user is None else user.technician


def _schedule(doc: ConfigDocument) -> OnCallSchedule:
    if doc.oncall is None:
        abort(409, "Aucune astreinte n'est configurée.")
    return doc.oncall.schedule


def concerns(schedule: OnCallSchedule, me: str, item: dict[str, Any]) -> bool:
    """`me` takes the duty, or is the only one the rota had on duty over the period."""
    start, end, technician = override_key(item)
    return technician == me or rota_holders(schedule, start, end) == {me}


def _page(
    doc: ConfigDocument,
    added: dict[str, str] | None = None,
    errors: FieldErrors | None = None,
    status: int = 200,
) -> Page:
    me = _me()
    data = doc.model_dump(mode="json")
    schedule = doc.oncall.schedule if doc.oncall else None
    rows = override_rows(data.get("oncall"))
    items = (data.get("oncall") or {}).get("schedule", {}).get("overrides", [])
    mine = [
        {**row, "raw": items[row["index"]]}
        for row in rows
        if schedule is not None and me and concerns(schedule, me, items[row["index"]])
    ]
    page = render_template(
        "admin/oncall_mine.html",
        me=me,
        known=doc.technician(me) if me else None,
        schedule=schedule,
        overrides=mine,
        names={t.id: t.name for t in doc.technicians},
        tech_options=[("", "—"), *((t.id, t.name) for t in doc.technicians if t.active)],
        added=added or dict.fromkeys(FIELDS, ""),
        errors=errors,
        on_duty=_on_duty(schedule),
    )
    return page, status


def _on_duty(schedule: OnCallSchedule | None) -> str:
    if schedule is None:
        return ""
    escalation, _ = schedule.escalation_at(clock.now())
    return escalation[0]


@bp.get("/oncall/mine")
@require_role("technician")
def my_oncall() -> Page:
    _, doc = active_or_abort(get_session())
    return _page(doc)


@bp.post("/oncall/mine")
@require_role("technician")
def add_my_override() -> Page:
    session = get_session()
    me = _linked()
    _, doc = active_or_abort(session)
    schedule = _schedule(doc)
    added = form_values(request.form)
    try:
        new = override_from_form(request.form, schedule.zone)
    except FormError as exc:
        return _page(doc, added, form_error(exc), 422)
    if not concerns(schedule, me, new):
        errors = FieldErrors()
        errors.add("technician", NOT_YOURS)
        return _page(doc, added, errors, 403)
    index = len(schedule.overrides)

    def add(data: dict[str, Any]) -> None:
        items = data["oncall"]["schedule"].setdefault("overrides", [])
        if all(override_key(item) != override_key(new) for item in items):
            items.append(new)

    return _publish(session, doc, add, new, None, added, index)


@bp.post("/oncall/mine/delete")
@require_role("technician")
def delete_my_override() -> Page:
    session = get_session()
    me = _linked()
    _, doc = active_or_abort(session)
    schedule = _schedule(doc)
    try:
        key = override_key(request.form)
    except (KeyError, ValueError):
        abort(400, "Remplacement mal désigné.")
    data = doc.model_dump(mode="json")
    old = next((o for o in data["oncall"]["schedule"]["overrides"] if override_key(o) == key), None)
    if old is None:
        abort(404)
    if not concerns(schedule, me, old):
        abort(403)

    def remove(data: dict[str, Any]) -> None:
        items = data["oncall"]["schedule"].get("overrides", [])
        data["oncall"]["schedule"]["overrides"] = [i for i in items if override_key(i) != key]

    return _publish(session, doc, remove, None, old, None, None)


def _linked() -> str:
    me = _me()
    if not me:
        abort(403, "Votre compte n'est lié à aucun technicien de l'astreinte.")
    return me


def _publish(
    session: Any,
    doc: ConfigDocument,
    change: Any,
    new: dict[str, Any] | None,
    old: dict[str, Any] | None,
    added: dict[str, str] | None,
    index: int | None,
) -> Page:
    item = new or old
    assert item is not None
    zone = _schedule(doc).zone
    verb = "ajouté" if new else "supprimé"
    comment = (
        f"Remplacement d'astreinte {verb} par {actor()} : {item['technician']} "
        f"du {local_text(item['start'], zone)} au {local_text(item['end'], zone)}"
    )
    try:
        rev = publish_change(
            session,
            change,
            author=actor(),
            comment=comment,
            entity_id="oncall/overrides",
            before=old,
            after=new,
        )
    except DraftConflict as exc:
        session.rollback()
        errors = FieldErrors()
        errors.other.extend(
            f"Le brouillon en cours ne l'accepte pas ({p}) : demandez à un administrateur."
            for p in exc.problems
        )
        return _page(doc, added, errors, 409)
    except ConfigInvalid as exc:
        session.rollback()
        prefix = f"oncall.schedule.overrides.{index}"
        return _page(
            doc, added, override_errors(FieldErrors.from_invalid(exc, prefix), index or 0), 422
        )
    session.commit()
    flash(f"{comment[0].upper()}{comment[1:]} : révision n° {rev.id}, en vigueur dès maintenant.")
    return redirect(url_for("admin.my_oncall"))
