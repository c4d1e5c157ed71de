"""Callbacks to place, for technicians and referents (/admin/callbacks).

Every change goes through `callbook.tickets.actions` (history and audit in
the same transaction); a referent reaches its own structure's callbacks only
(`callbook.tickets.access`).
"""

from __future__ import annotations

from datetime import datetime

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response as BaseResponse

from callbook.db import get_session
from callbook.tickets import Callback, access, actions
from ivr.admin.auth import require_role
from ivr.admin.blueprint import bp
from ivr.admin.pagekit import default_zone
from ivr.admin.pages_tickets import CALLBACK_VIEWS, PAGE_SIZE, WORKERS, actor, scope
from ivr.admin.views.forms import FormError, parse_local_datetime
from schedules import clock


@bp.get("/callbacks")
@require_role(*WORKERS)
def callbacks() -> str:
    view = request.args.get("view", "active")
    statuses = CALLBACK_VIEWS.get(view, CALLBACK_VIEWS["active"])
    query = select(Callback).order_by(Callback.due_at, Callback.rank, Callback.id)
    if statuses:
        query = query.where(Callback.status.in_(statuses))
    query = access.scope_callbacks(query, scope())
    session = get_session()
    rows = session.scalars(query.limit(PAGE_SIZE * 5)).all()
    tickets = {
        t.id: t.number
        for t in session.scalars(
            select(actions.Ticket).where(actions.Ticket.id.in_({r.ticket_id for r in rows}))
        )
    }
    return render_template(
        "admin/callbacks.html",
        rows=rows,
        tickets=tickets,
        view=view,
        views=list(CALLBACK_VIEWS),
        now=clock.now(),
        zone=default_zone(),
    )


def _callback_or_404(session: Session, callback_id: int) -> Callback:
    found = access.find_callback_in(session, callback_id, scope())
    if found is None:
        abort(404, gettext("Aucun rappel n° %(number)s.", number=callback_id))
    return found


def _back(message: str) -> BaseResponse:
    flash(message)
    target = request.form.get("next", "")
    if not target.startswith("/admin/"):
        target = url_for("admin.callbacks")
    return redirect(target)


@bp.post("/callbacks/<int:callback_id>/<action>")
@require_role(*WORKERS)
def callback_action(callback_id: int, action: str) -> BaseResponse:
    session = get_session()
    found = _callback_or_404(session, callback_id)
    now, who = clock.now(), actor()
    try:
        if action == "call-now":
            actions.call_now(session, found, actor=who, now=now)
            message = gettext(
                "Rappel %(callback_id)s : appel lancé au prochain passage du répartiteur.",
                callback_id=callback_id,
            )
        elif action == "cancel":
            actions.cancel(session, found, actor=who, now=now)
            message = gettext(
                "Rappel %(callback_id)s annulé ; son ticket reste ouvert.", callback_id=callback_id
            )
        elif action == "reschedule":
            due = _due_at(request.form.get("due_at", ""), now)
            actions.reschedule(session, found, due, actor=who, now=now)
            message = gettext("Rappel %(callback_id)s reprogrammé.", callback_id=callback_id)
        else:
            abort(404)
    except (actions.ActionRefused, FormError) as exc:
        session.rollback()
        text = exc.message if isinstance(exc, FormError) else str(exc)
        abort(400, gettext("Action refusée : %(text)s.", text=text))
    session.commit()
    return _back(message)


def _due_at(text: str, now: datetime) -> datetime:
    if not text.strip():
        raise FormError("due_at", gettext("indiquez la nouvelle date et heure du rappel"))
    due = parse_local_datetime(text, "due_at", default_zone())
    if due < now:
        raise FormError("due_at", gettext("la nouvelle heure du rappel est déjà passée"))
    return due
