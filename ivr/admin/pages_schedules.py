"""Horaires (/admin/schedules): weekly hours, holidays, exceptions, on-call, a 14-day agenda.

Read-only: it shows the active revision, or the pending draft with
`?source=draft`, so an admin can check an edit before publishing it.
"""

from __future__ import annotations

from datetime import datetime, time

from flask import abort, render_template, request
from flask_babel import gettext

from callbook.db import get_session
from ivr.admin.auth import READERS, require_role
from ivr.admin.blueprint import bp
from ivr.admin.pagekit import document_or_abort
from ivr.admin.views import agenda as views
from ivr.admin.views.agenda import weekday_names
from ivr.admin.views.forms import FormError, optional, parse_date
from ivr.admin.views.status import technician_names
from schedules import clock


@bp.get("/schedules")
@require_role(*READERS)
def agenda() -> str | tuple[str, int]:
    now = clock.now()
    source, label, doc = document_or_abort(get_session(), request.args.get("source", "active"))
    key = optional(request.args, "calendar") or doc.hotline.calendar
    if key not in doc.calendars:
        abort(404, gettext("Calendrier inconnu : %(key)s", key=key))
    calendar = doc.calendar(key)
    error: FormError | None = None
    start = now
    if optional(request.args, "from"):
        try:
            day = parse_date(request.args["from"], "from")
            start = datetime.combine(day, time(12), tzinfo=calendar.zone)
        except FormError as exc:
            error = exc
    schedule = doc.oncall.schedule if doc.oncall else None
    page = render_template(
        "admin/schedules.html",
        now=now,
        source=source,
        source_label=label,
        doc=doc,
        key=key,
        calendar=calendar,
        zone=calendar.zone,
        weekly=views.weekly_lines(calendar),
        holidays=views.public_holidays(calendar.holidays, calendar.local_day(start).year),
        year=calendar.local_day(start).year,
        schedule=schedule,
        rota_names=technician_names(doc, tuple(schedule.rota.members)) if schedule else (),
        weekday_names=weekday_names(),
        handovers=views.next_handovers(doc, start),
        agenda=views.agenda(doc, key, start),
        start_day=calendar.local_day(start),
        error=error,
    )
    return (page, 400) if error else page
