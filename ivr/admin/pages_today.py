"""Aujourd'hui (/admin/ and /admin/today): open or closed now, on call, what needs doing.

The manual closure switch lives here: one click publishes a new revision of
the configuration (see `ivr.admin.views.closure`).
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from werkzeug.wrappers import Response as BaseResponse

from callbook.db import get_session
from ivr.admin.auth import READERS, current_user, has_role, require_role
from ivr.admin.blueprint import bp
from ivr.admin.pagekit import active_or_abort
from ivr.admin.views import queries, status
from ivr.admin.views.closure import publish_closure
from ivr.admin.views.forms import FormError, parse_local_datetime
from schedules import clock

LIST_LIMIT = 50


@bp.get("/today")
@require_role(*READERS)
def today() -> str | tuple[str, int]:
    return _page()


def _page(error: FormError | None = None) -> str | tuple[str, int]:
    now = clock.now()
    session = get_session()
    revision, doc = active_or_abort(session)
    zone = ZoneInfo(doc.calendar(doc.hotline.calendar).timezone)
    context: dict[str, object] = {
        "now": now,
        "zone": zone,
        "revision": revision,
        "doc": doc,
        "states": status.opening_states(doc, now),
        "duty": status.duty(doc, now),
        "closure": status.closure_state(doc, now),
        "error": error,
        "form": request.form if error else {},
        "calls": [],
        "callbacks": [],
        "tickets": [],
    }
    if has_role("technician"):
        live = queries.calls_in_progress(now, current_app.config["IVR_SETTINGS"].max_talk)
        context["calls"] = session.scalars(live.limit(LIST_LIMIT)).all()
        context["callbacks"] = session.scalars(queries.callbacks_due(now).limit(LIST_LIMIT)).all()
        context["tickets"] = session.scalars(queries.tickets_at_risk(now).limit(LIST_LIMIT)).all()
    page = render_template("admin/today.html", **context)
    return (page, 400) if error else page


@bp.post("/today/closure")
@require_role()
def closure() -> str | tuple[str, int] | BaseResponse:
    """Turn the manual closure on (with a message and an optional end) or off
    ("Rouvrir maintenant": the calls that follow are routed as usual)."""
    now = clock.now()
    session = get_session()
    _, doc = active_or_abort(session)
    zone = ZoneInfo(doc.calendar(doc.hotline.calendar).timezone)
    active = request.form.get("active") == "1"
    until_text = request.form.get("until", "").strip()
    user = current_user()
    assert user is not None  # require_role let us in
    try:
        until = parse_local_datetime(until_text, "until", zone) if active and until_text else None
        rev = publish_closure(
            session,
            doc,
            active=active,
            message=request.form.get("message", ""),
            until=until,
            author=user.username,
            now=now,
        )
    except FormError as exc:
        session.rollback()
        return _page(exc)
    session.commit()
    if active:
        flash(gettext("Fermeture manuelle activée : révision %(id)s publiée.", id=rev.id))
    else:
        flash(
            gettext(
                "Service rouvert, fermeture manuelle levée : révision %(id)s publiée.", id=rev.id
            )
        )
    return redirect(url_for("admin.today"))
