"""The call book (/admin/calls), a call's timeline and annotations, reports and exports.

Technicians and admins search and annotate calls; viewers read the reports
and may export the history with callers' numbers masked only.
"""

from __future__ import annotations

import io
import tempfile
from datetime import date, timedelta

from flask import Response, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext
from werkzeug.wrappers import Response as BaseResponse

from callbook.calls import annotate
from callbook.db import get_session
from callbook.reports import build_report, period
from callbook.reports.exports import (
    CSV_STYLES,
    EXPORT_FORMATS,
    MEDIA_TYPES,
    write_csv,
    write_xlsx,
)
from ivr.admin.auth import READERS, current_user, has_role, require_role
from ivr.admin.blueprint import bp
from ivr.admin.pagekit import active_or_abort, default_zone
from ivr.admin.views import charts, queries, results
from ivr.admin.views.call_story import tell
from ivr.admin.views.contact_centre import service_level_seconds
from ivr.admin.views.forms import FormError, date_range, optional
from ivr.runtime import active_names
from schedules import clock

PAGE_SIZE = 100
OUTCOMES = {
    "answered": "répondu",
    "unanswered": "non répondu",
    "referent": "référent",
    "hotline": "assistance nationale",
    "oncall": "astreinte",
    "voicemail": "messagerie",
    "no_phone": "structure sans téléphone",
    "closed": "fermé",
    "abandoned": "raccroché avant orientation",
}


def _actor() -> str:
    user = current_user()
    assert user is not None  # require_role let us in
    return user.username


def _period(default_days: int) -> tuple[date, date]:
    today = clock.now().astimezone(default_zone()).date()
    return date_range(request.args, (today - timedelta(days=default_days - 1), today))


@bp.get("/calls")
@require_role("technician")
def calls() -> str | tuple[str, int]:
    session = get_session()
    _, doc = active_or_abort(session)
    zone = default_zone()
    error: FormError | None = None
    try:
        first, last = _period(7)
    except FormError as exc:
        error = exc
        today = clock.now().astimezone(zone).date()
        first, last = today - timedelta(days=6), today
    start, end = period("custom", first, zone, last=last)
    outcome = optional(request.args, "outcome")
    f = queries.CallFilter(
        start=start,
        end=end,
        number=optional(request.args, "number")[:32],
        structure=optional(request.args, "structure"),
        motive=optional(request.args, "motive"),
        outcome=outcome if outcome in OUTCOMES else "",
    )
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    rows = session.scalars(
        queries.call_search(f).offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE + 1)
    ).all()
    html = render_template(
        "admin/calls.html",
        rows=rows[:PAGE_SIZE],
        more=len(rows) > PAGE_SIZE,
        page=page,
        f=f,
        first=first,
        last=last,
        doc=doc,
        zone=zone,
        outcomes=OUTCOMES,
        error=error,
    )
    return (html, 400) if error else html


@bp.get("/calls/<sid>")
@require_role("technician")
def call(sid: str) -> str | tuple[str, int]:
    return _call_page(sid)


def _call_page(sid: str, error: str = "", status: int = 200) -> str | tuple[str, int]:
    session = get_session()
    _, doc = active_or_abort(session)
    try:
        found = annotate.get_call(session, sid)
    except annotate.UnknownCall:
        abort(404, gettext("Aucun appel %(sid)s dans la main courante.", sid=sid))
    zone = default_zone()
    html = render_template(
        "admin/call.html",
        c=found,
        doc=doc,
        zone=zone,
        story=tell(found.events, doc, zone),
        chosen={m.motive for m in found.motives},
        error=error,
    )
    return (html, status) if error else html


@bp.post("/calls/<sid>/motives")
@require_role("technician")
def call_motives(sid: str) -> str | tuple[str, int] | BaseResponse:
    session = get_session()
    _, doc = active_or_abort(session)
    keys = request.form.getlist("motive")
    pairs = [(k, m.family.value if (m := doc.motive(k)) else "") for k in keys]
    now, actor = clock.now(), _actor()
    try:
        found = annotate.get_call(session, sid)
        before = [m.motive for m in found.motives]
        annotate.set_motives(
            session, sid, pairs, author=actor, now=now, known={m.key for m in doc.motives},
            replace_caller=request.form.get("replace_caller") == "1",
        )  # fmt: skip
    except annotate.UnknownCall:
        abort(404, gettext("Aucun appel %(sid)s dans la main courante.", sid=sid))
    except annotate.UnknownMotive as exc:
        session.rollback()
        return _call_page(
            sid, gettext("Motif inconnu : %(keys)s", keys=", ".join(exc.positions.values())), 422
        )
    after = [m.motive for m in found.motives]  # audited by set_motives
    session.commit()
    flash(gettext("Motifs enregistrés.") if after != before else gettext("Motifs inchangés."))
    return redirect(url_for("admin.call", sid=sid))


@bp.post("/calls/<sid>/note")
@require_role("technician")
def call_note(sid: str) -> str | tuple[str, int] | BaseResponse:
    session = get_session()
    note = request.form.get("note", "")
    if len(note) > 5000:
        return _call_page(sid, gettext("La note dépasse 5 000 caractères."), 422)
    try:
        annotate.set_note(session, sid, note, author=_actor(), now=clock.now())  # audited
    except annotate.UnknownCall:
        abort(404, gettext("Aucun appel %(sid)s dans la main courante.", sid=sid))
    session.commit()
    flash(gettext("Note enregistrée."))
    return redirect(url_for("admin.call", sid=sid))


# -- reports and exports --------------------------------------------------------------


@bp.get("/reports")
@require_role(*READERS)
def reports() -> str | tuple[str, int]:
    session = get_session()
    _, doc = active_or_abort(session)
    zone = default_zone()
    try:
        first, last = _period(30)
    except FormError as exc:
        return render_template("admin/reports.html", error=exc, doc=doc, args=request.args), 400
    structure = optional(request.args, "structure") or None
    start, end = period("custom", first, zone, last=last)
    report = build_report(session, start, end, structure=structure, tz=zone)
    daily = queries.daily_figures(session, start, end, zone, structure)
    return render_template(
        "admin/reports.html",
        error=None,
        doc=doc,
        args=request.args,
        first=first,
        last=last,
        structure=structure or "",
        report=report,
        bars=charts.stacked_bars(daily.days, daily.families),
        heat=charts.heat_map(report.hourly),
        rate=charts.answer_rate(daily.days, daily.answered, daily.calls),
        breakdowns=results.breakdowns(report, doc),
        deadlines=results.deadlines(report),
        callbacks=results.callback_rows(report),
        motives=results.motive_rows(report, doc),
        may_unmask=has_role("technician"),
    )


@bp.get("/reports/export")
@require_role(*READERS)
def export() -> Response:
    """The "Historique des sollicitations" of the period as CSV or XLSX.

    CSV is for French spreadsheets unless `csv_style=plain` (commas, codes:
    for scripts). Viewers only get callers' numbers masked: the file leaves
    the service.
    """
    zone = default_zone()
    try:
        first, last = _period(30)
    except FormError as exc:
        abort(400, exc.message)
    fmt = request.args.get("format", "csv")
    if fmt not in EXPORT_FORMATS:
        abort(400, gettext("Format inconnu : %(format)s (csv ou xlsx).", format=fmt[:20]))
    style = request.args.get("csv_style", "excel-fr")
    if style not in CSV_STYLES:
        unknown = gettext("Style de CSV inconnu : %(style)s (excel-fr ou plain).", style=style[:20])
        abort(400, unknown)
    masked = request.args.get("mask") == "1" or not has_role("technician")
    structure = optional(request.args, "structure") or None
    start, end = period("custom", first, zone, last=last)
    spool = tempfile.TemporaryFile()  # noqa: SIM115 - send_file closes it once sent
    session = get_session()
    options = {"structure": structure, "tz": zone, "mask_numbers": masked, "names": active_names()}
    if fmt == "xlsx":
        level = service_level_seconds()
        write_xlsx(session, spool, start, end, **options, service_level_seconds=level)  # type: ignore[arg-type]
    else:
        text = io.TextIOWrapper(spool, encoding="utf-8", newline="")
        write_csv(session, text, start, end, style=style, **options)  # type: ignore[arg-type]
        text.flush()
        text.detach()
    spool.seek(0)
    name = f"historique-{first:%Y%m%d}-{last:%Y%m%d}.{fmt}"
    return send_file(spool, mimetype=MEDIA_TYPES[fmt], as_attachment=True, download_name=name)
