""" "Que se passe-t-il si…" (/admin/simulate): the route and sentences of a call at a moment.

Played by `ivr.admin.views.simulate` through the live flow code, against the
active revision or the pending draft; nothing is written to the call book.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from flask import render_template, request
from flask_babel import gettext

from callbook.db import get_session
from ivr.admin.auth import READERS, require_role
from ivr.admin.blueprint import bp
from ivr.admin.pagekit import document_or_abort
from ivr.admin.views.forms import FormError, optional, parse_local_datetime
from ivr.admin.views.simulate import Scenario, simulate
from ivr.admin.views.status import technician_names
from ivr.config import ConfigDocument
from ivr.config.fields import try_e164
from ivr.flows.structure import department_code
from schedules import clock


def _scenario(doc: ConfigDocument, zone: ZoneInfo) -> Scenario:
    args = request.args
    moment = parse_local_datetime(args["at"], "at", zone)
    motive = optional(args, "motive")
    if doc.motive(motive) is None:
        raise FormError("motive", gettext("choisissez un motif"))
    caller = optional(args, "caller")
    if caller:
        number = try_e164(caller)
        if number is None:
            raise FormError(
                "caller", gettext("« %(caller)s » n'est pas un numéro de téléphone", caller=caller)
            )
        caller = number
    department = optional(args, "department")
    if department and department_code(department) is None:
        raise FormError(
            "department",
            gettext("« %(department)s » n'est pas un numéro de département", department=department),
        )
    answer = args.get("answer") if args.get("answer") in ("no-answer", "busy") else "answer"
    return Scenario(
        moment=moment,
        motive=motive,
        caller=caller,
        department=department,
        answer=answer,
        wants_callback=args.get("callback", "1") == "1",
    )


@bp.get("/simulate")
@require_role(*READERS)
def whatif() -> str | tuple[str, int]:
    source, label, doc = document_or_abort(get_session(), request.args.get("source", "active"))
    zone = ZoneInfo(doc.calendar(doc.hotline.calendar).timezone)
    error: FormError | None = None
    result = None
    if optional(request.args, "at"):
        try:
            result = simulate(doc, _scenario(doc, zone))
        except FormError as exc:
            error = exc
    page = render_template(
        "admin/simulate.html",
        doc=doc,
        source=source,
        source_label=label,
        zone=zone,
        args=request.args,
        default_at=clock.now().astimezone(zone).strftime("%Y-%m-%dT%H:%M"),
        result=result,
        names=lambda keys: technician_names(doc, tuple(keys)),
        error=error,
    )
    return (page, 400) if error else page
