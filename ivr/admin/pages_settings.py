"""Service et réglages (/admin/settings): the service, the national hotline, the menu, tickets.

One form over four small sections of the document, saved to the draft at
once; every problem is shown next to its field (paths are the document's).
"""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext, lazy_gettext
from werkzeug.wrappers import Response as BaseResponse

from callbook.db import get_session
from ivr.admin.auth import require_role
from ivr.admin.blueprint import bp
from ivr.admin.drafts import save_edit, working
from ivr.admin.editing import FieldErrors, Shown, actor, split_list
from ivr.config import ConfigInvalid
from ivr.config.document import Hotline
from ivr.i18n import current_locale

Page = str | BaseResponse | tuple[str, int]
SECTIONS = ("service", "hotline", "menu", "tickets")
PRIORITIES = (
    ("urgent", lazy_gettext("urgente")),
    ("high", lazy_gettext("haute")),
    ("normal", lazy_gettext("normale")),
    ("low", lazy_gettext("basse")),
)
STRATEGIES = (
    ("simultaneous", lazy_gettext("Tous en même temps")),
    ("sequential", lazy_gettext("L'un après l'autre")),
)
# form field -> path in the document; "numbers" fields are lists, "checks" booleans
PATHS = {
    "service_name": "service.name",
    "service_numbers": "service.numbers",
    "service_voice": "service.voice",
    "service_caller_id": "service.caller_id",
    "hotline_name": "hotline.name",
    "hotline_numbers": "hotline.numbers",
    "hotline_calendar": "hotline.calendar",
    "hotline_strategy": "hotline.ring.strategy",
    "hotline_timeout": "hotline.ring.timeout",
    "menu_attempts": "menu.attempts",
    "menu_timeout": "menu.timeout",
    "menu_speech": "menu.speech",
    **{f"deadline_{p}": f"tickets.deadline_hours.{p}" for p, _ in PRIORITIES},
    "merge_window_hours": "tickets.merge_window_hours",
    "min_recording_seconds": "tickets.min_recording_seconds",
    "voicemail_max_seconds": "tickets.voicemail_max_seconds",
    "callback_attempts": "tickets.callback_attempts",
    "callback_spacing_minutes": "tickets.callback_spacing_minutes",
    "callback_ring_seconds": "tickets.callback_ring_seconds",
    "tickets_sms": "tickets.sms",
}
LISTS = {"service_numbers", "hotline_numbers"}
CHECKS = {"menu_speech", "tickets_sms"}
TEXTS = {"service_name", "service_voice", "hotline_name", "hotline_calendar", "hotline_strategy"}


def _get(data: dict[str, Any], path: str) -> Any:
    for part in path.split("."):
        data = data.get(part) if isinstance(data, dict) else None  # type: ignore[assignment]
    return data


def _put(data: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    for part in parents:
        data = data.setdefault(part, {})
    data[last] = value


def _number(text: str) -> Any:
    text = text.strip().replace(",", ".")
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text  # left for validation to name


def _values(data: dict[str, Any]) -> dict[str, str]:
    values = {}
    for name, path in PATHS.items():
        value = _get(data, path)
        if name in LISTS:
            values[name] = "\n".join(value or [])
        elif name in CHECKS:
            values[name] = "1" if value else ""
        elif isinstance(value, float) and value.is_integer():
            values[name] = str(int(value))
        else:
            values[name] = "" if value is None else str(value)
    return values


def _read_form(data: dict[str, Any]) -> None:
    form = request.form
    for name, path in PATHS.items():
        text = form.get(name, "")
        if name in LISTS:
            value: Any = split_list(text)
        elif name in CHECKS:
            value = text == "1"
        elif name == "hotline_name" and not text.strip():
            data.get("hotline", {}).pop("name", None)  # empty: the default name
            continue
        elif name in TEXTS:
            value = text.strip()
        elif name == "service_caller_id":
            value = text.strip() or None
        else:
            value = _number(text)
        _put(data, path, value)


def _errors(exc: ConfigInvalid) -> FieldErrors:
    """Problems of the four sections next to their field; the rest above the form."""
    errors = FieldErrors()
    for problem in exc.problems:
        if problem.path.split(".")[0] in SECTIONS:
            errors.add(problem.path, problem.in_locale(current_locale()))
        else:
            errors.other.append(Shown(str(problem), problem.sentence(current_locale())))
    return errors


@bp.route("/settings", methods=["GET", "POST"])
@require_role()
def settings() -> Page:
    session = get_session()
    work = working(session)
    before = {name: work.data.get(name) for name in SECTIONS}
    values = _values(work.data)
    errors: FieldErrors | None = None
    if request.method == "POST":
        _read_form(work.data)
        values = {name: request.form.get(name, "") for name in PATHS}
        try:
            save_edit(
                session,
                work,
                work.data,
                actor=actor(),
                entity_id="settings",
                before=before,
                after=lambda data: {name: data[name] for name in SECTIONS},
            )
        except ConfigInvalid as exc:
            session.rollback()
            errors = _errors(exc)
        else:
            session.commit()
            flash(gettext("Réglages enregistrés. Le brouillon n'est pas encore publié."))
            return redirect(url_for("admin.settings"))
    page = render_template(
        "admin/settings.html",
        work=work,
        values=values,
        paths=PATHS,
        errors=errors,
        priorities=PRIORITIES,
        strategies=STRATEGIES,
        hotline_default=Hotline.model_fields["name"].default,
        calendars=[(c, c) for c in work.data.get("calendars", {})],
    )
    return (page, 422) if errors else page
