"""Envois (/admin/outbox): what left, what waits, what failed and why; "Renvoyer".

Messages are delivered by the scheduler's outbox job (`ivr.jobs.outbox`);
this page only reads the outbox and puts a failed message back in the queue
(audited), due at once.
"""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from callbook.db import get_session
from callbook.history.audit import record_audit
from callbook.labels import label
from callbook.outbox import store
from ivr.admin.auth import current_user, require_role
from ivr.admin.blueprint import bp
from ivr.admin.pagekit import default_zone
from ivr.settings import Settings
from schedules import clock

VIEWS = {
    "failed": (("failed",), "en échec"),
    "waiting": (("pending", "sending"), "en attente"),
    "sent": (("sent",), "envoyés"),
}
PAGE_SIZE = 200


@bp.get("/outbox")
@require_role()
def outbox() -> str:
    view = request.args.get("view", "failed")
    if view not in VIEWS:
        view = "failed"
    session = get_session()
    settings: Settings = current_app.config["IVR_SETTINGS"]
    return render_template(
        "admin/outbox.html",
        view=view,
        views={key: title for key, (_, title) in VIEWS.items()},
        rows=store.listing(session, VIEWS[view][0], limit=PAGE_SIZE),
        counts=store.counts(session),
        email_off=settings.email_off_reason,
        sms_off="" if settings.twilio_configured else "identifiants Twilio absents",
        label=label,
        zone=default_zone(),
        now=clock.now(),
    )


@bp.post("/outbox/<int:message_id>/resend")
@require_role()
def outbox_resend(message_id: int) -> BaseResponse:
    session = get_session()
    row = store.resend(session, message_id, clock.now())
    if row is None:
        abort(404, "Aucun envoi en échec sous ce numéro.")
    user = current_user()
    assert user is not None  # require_role let us in
    record_audit(session, user.username, "outbox", message_id, "resend",
                 {"status": "failed", "error": row.last_error},
                 {"status": "pending", "recipient": row.recipient})  # fmt: skip
    session.commit()
    flash(f"Envoi n° {message_id} remis dans la file : il part au prochain passage (10 s).")
    return redirect(url_for("admin.outbox", view="failed"))
