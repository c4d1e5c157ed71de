"""Tickets and callbacks for technicians (/admin/tickets, /admin/callbacks).

Every change goes through `callbook.tickets.actions`, which writes the
ticket's history and the audit log in the same transaction.
"""

from __future__ import annotations

from datetime import datetime

import requests
from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response as BaseResponse

from callbook.accounts.users import list_users
from callbook.db import get_session
from callbook.tickets import (
    OPEN_STATUSES,
    PRIORITY_RANK,
    TICKET_STATUSES,
    Callback,
    TicketMessage,
    actions,
)
from ivr.admin.auth import current_user, require_role
from ivr.admin.blueprint import bp
from ivr.admin.pagekit import active_or_abort, default_zone
from ivr.admin.views import queries
from ivr.admin.views.forms import FormError, optional, parse_local_datetime
from schedules import clock

PAGE_SIZE = 100
CALLBACK_VIEWS = {
    "active": ("held", "pending", "claimed", "dialing", "failed"),
    "pending": ("pending",),
    "failed": ("failed",),
    "done": ("done",),
    "canceled": ("canceled",),
    "all": (),
}
TWILIO_MEDIA = "https://api.twilio.com/"
RECORDING_TIMEOUT = 15


def _actor() -> str:
    user = current_user()
    assert user is not None  # require_role let us in
    return user.username


def _ticket_or_404(session: Session, number: str) -> actions.Ticket:
    ticket = actions.find_ticket(session, number)
    if ticket is None:
        abort(404, f"Aucun ticket n° {number}.")
    return ticket


@bp.get("/tickets")
@require_role("technician")
def tickets() -> str:
    args = request.args
    status = optional(args, "status") or "open"
    if status not in ("open", "all", *TICKET_STATUSES):
        status = "open"
    priority = optional(args, "priority")
    f = queries.TicketFilter(
        status=status,
        priority=priority if priority in PRIORITY_RANK else "",
        structure=optional(args, "structure"),
        assignee=optional(args, "assignee"),
        overdue=args.get("overdue") == "1",
        text=optional(args, "q")[:64],
    )
    page = max(args.get("page", 1, type=int) or 1, 1)
    session = get_session()
    _, doc = active_or_abort(session)
    now = clock.now()
    rows = session.scalars(
        queries.ticket_search(f, now).offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE + 1)
    ).all()
    return render_template(
        "admin/tickets.html",
        rows=rows[:PAGE_SIZE],
        more=len(rows) > PAGE_SIZE,
        page=page,
        f=f,
        doc=doc,
        now=now,
        zone=default_zone(),
        statuses=TICKET_STATUSES,
        priorities=list(PRIORITY_RANK),
        assignees=_assignees(session),
    )


def _assignees(session: Session) -> list[tuple[str, str]]:
    return [
        (u.username, u.display_name)
        for u in list_users(session)
        if u.active and u.role in ("technician", "admin")
    ]


@bp.get("/tickets/<number>")
@require_role("technician")
def ticket(number: str) -> str | tuple[str, int]:
    return _ticket_page(number)


def _ticket_page(number: str, error: str = "") -> str | tuple[str, int]:
    session = get_session()
    found = _ticket_or_404(session, number)
    messages = session.scalars(
        select(TicketMessage).where(TicketMessage.ticket_id == found.id).order_by(TicketMessage.id)
    ).all()
    callbacks = session.scalars(
        select(Callback).where(Callback.ticket_id == found.id).order_by(Callback.id)
    ).all()
    page = render_template(
        "admin/ticket.html",
        t=found,
        messages=messages,
        callbacks=callbacks,
        now=clock.now(),
        zone=default_zone(),
        statuses=TICKET_STATUSES,
        open_statuses=OPEN_STATUSES,
        assignees=_assignees(session),
        error=error,
    )
    return (page, 400) if error else page


def _done(number: str, message: str) -> BaseResponse:
    get_session().commit()
    flash(message)
    return redirect(url_for("admin.ticket", number=number))


@bp.post("/tickets/<number>/status")
@require_role("technician")
def ticket_status(number: str) -> str | tuple[str, int] | BaseResponse:
    session = get_session()
    found = _ticket_or_404(session, number)
    status = request.form.get("status", "")
    try:
        changed = actions.set_status(session, found, status, actor=_actor(), now=clock.now())
    except actions.ActionRefused as exc:
        session.rollback()
        return _ticket_page(number, str(exc))
    return _done(number, f"Statut : {status}." if changed else "Statut inchangé.")


@bp.post("/tickets/<number>/assign")
@require_role("technician")
def ticket_assign(number: str) -> str | tuple[str, int] | BaseResponse:
    session = get_session()
    found = _ticket_or_404(session, number)
    assignee = request.form.get("assignee", "").strip()
    if assignee and assignee not in {u for u, _ in _assignees(session)}:
        return _ticket_page(number, f"« {assignee} » n'est pas un technicien actif")
    changed = actions.assign(session, found, assignee, actor=_actor(), now=clock.now())
    what = f"Attribué à {assignee}." if assignee else "Attribution retirée."
    return _done(number, what if changed else "Attribution inchangée.")


@bp.post("/tickets/<number>/merge")
@require_role("technician")
def ticket_merge(number: str) -> str | tuple[str, int] | BaseResponse:
    session = get_session()
    source = _ticket_or_404(session, number)
    into = request.form.get("into", "").strip()
    target = actions.find_ticket(session, into) if into else None
    if target is None:
        return _ticket_page(number, f"Aucun ticket n° {into or '(vide)'} vers lequel fusionner")
    try:
        moved = actions.merge(session, source, target, actor=_actor(), now=clock.now())
    except actions.ActionRefused as exc:
        session.rollback()
        return _ticket_page(number, str(exc))
    get_session().commit()
    flash(f"Ticket {source.number} fusionné dans {target.number} ({moved} message(s)).")
    return redirect(url_for("admin.ticket", number=target.number))


@bp.get("/tickets/<number>/recordings/<int:message_id>")
@require_role("technician")
def recording(number: str, message_id: int) -> Response:
    """The voicemail's audio, fetched from Twilio with the account's credentials.

    Served from here rather than linked: Twilio media may need HTTP
    authentication, and the admin's Content-Security-Policy only lets the
    page load media from its own origin.
    """
    session = get_session()
    found = _ticket_or_404(session, number)
    message = session.get(TicketMessage, message_id)
    if message is None or message.ticket_id != found.id:
        abort(404, "Aucun enregistrement.")
    url = message.recording_url
    if not url.startswith(TWILIO_MEDIA):
        abort(404, "Enregistrement indisponible.")
    settings = current_app.config["IVR_SETTINGS"]
    if not settings.twilio_configured:
        abort(503, "Identifiants Twilio absents : l'enregistrement ne peut pas être lu.")
    media = url if url.endswith((".mp3", ".wav")) else url + ".mp3"
    auth = (settings.twilio_account_sid, settings.twilio_auth_token.get_secret_value())
    try:
        answer = requests.get(media, auth=auth, timeout=RECORDING_TIMEOUT)
    except requests.RequestException:
        abort(502, "Twilio ne répond pas : réessayez plus tard.")
    if answer.status_code != 200:
        abort(502, f"Twilio a répondu {answer.status_code} pour cet enregistrement.")
    mimetype = answer.headers.get("Content-Type", "audio/mpeg").split(";")[0]
    return Response(answer.content, mimetype=mimetype)


# -- callbacks ---------------------------------------------------------------------------


@bp.get("/callbacks")
@require_role("technician")
def callbacks() -> str:
    view = request.args.get("view", "active")
    statuses = CALLBACK_VIEWS.get(view, CALLBACK_VIEWS["active"])
    query = select(Callback).order_by(Callback.due_at, Callback.rank, Callback.id)
    if statuses:
        query = query.where(Callback.status.in_(statuses))
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
    found = session.get(Callback, callback_id)
    if found is None:
        abort(404, f"Aucun rappel n° {callback_id}.")
    return found


def _back(message: str) -> BaseResponse:
    flash(message)
    target = request.form.get("next", "")
    if not target.startswith("/admin/"):
        target = url_for("admin.callbacks")
    return redirect(target)


@bp.post("/callbacks/<int:callback_id>/<action>")
@require_role("technician")
def callback_action(callback_id: int, action: str) -> BaseResponse:
    session = get_session()
    found = _callback_or_404(session, callback_id)
    now, actor = clock.now(), _actor()
    try:
        if action == "call-now":
            actions.call_now(session, found, actor=actor, now=now)
            message = f"Rappel {callback_id} : appel lancé au prochain passage du répartiteur."
        elif action == "cancel":
            actions.cancel(session, found, actor=actor, now=now)
            message = f"Rappel {callback_id} annulé ; son ticket reste ouvert."
        elif action == "reschedule":
            due = _due_at(request.form.get("due_at", ""), now)
            actions.reschedule(session, found, due, actor=actor, now=now)
            message = f"Rappel {callback_id} reprogrammé."
        else:
            abort(404)
    except (actions.ActionRefused, FormError) as exc:
        session.rollback()
        text = exc.message if isinstance(exc, FormError) else str(exc)
        abort(400, f"Action refusée : {text}.")
    session.commit()
    return _back(message)


def _due_at(text: str, now: datetime) -> datetime:
    if not text.strip():
        raise FormError("due_at", "indiquez la nouvelle date et heure du rappel")
    due = parse_local_datetime(text, "due_at", default_zone())
    if due < now:
        raise FormError("due_at", "la nouvelle heure du rappel est déjà passée")
    return due
