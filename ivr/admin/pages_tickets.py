"""Tickets and callbacks for technicians and referents (/admin/tickets, /admin/callbacks).

Every change goes through `callbook.tickets.actions`, which writes the
ticket's history and the audit log in the same transaction. A referent
reaches its own structure's tickets and callbacks only: every query below
is narrowed by `callbook.tickets.access` (another structure's ticket is 404).
"""

from __future__ import annotations

import requests
from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response as BaseResponse

from callbook.accounts.users import list_users
from callbook.db import get_session
from callbook.tickets import (
    ESCALATION_NOTE_MAX,
    LEVELS,
    OPEN_STATUSES,
    PRIORITY_RANK,
    TICKET_STATUSES,
    Callback,
    TicketMessage,
    access,
    actions,
)
from callbook.tickets.escalation import escalation_refusal
from ivr.admin.auth import current_user, require_role
from ivr.admin.blueprint import bp
from ivr.admin.pagekit import active_or_abort, active_or_none, default_zone
from ivr.admin.views import queries
from ivr.admin.views.forms import optional
from ivr.i18n import label
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


WORKERS = ("technician", "referent")
"""Roles that work on tickets and callbacks besides admin (referents: their structure's)."""


def actor() -> str:
    user = current_user()
    assert user is not None  # require_role let us in
    return user.username


def scope() -> str | None:
    """The structure the current user is limited to, or None for every ticket."""
    return access.scope_of(current_user())


def ticket_or_404(session: Session, number: str) -> actions.Ticket:
    ticket = access.find_ticket_in(session, number, scope())
    if ticket is None:
        abort(404, gettext("Aucun ticket n° %(number)s.", number=number))
    return ticket


@bp.get("/tickets")
@require_role(*WORKERS)
def tickets() -> str:
    args = request.args
    status = optional(args, "status") or "open"
    if status not in ("open", "all", *TICKET_STATUSES):
        status = "open"
    priority = optional(args, "priority")
    level = optional(args, "level")
    f = queries.TicketFilter(
        status=status,
        priority=priority if priority in PRIORITY_RANK else "",
        structure=optional(args, "structure"),
        assignee=optional(args, "assignee"),
        overdue=args.get("overdue") == "1",
        text=optional(args, "q")[:64],
        level=level if level in LEVELS else "",
    )
    page = max(args.get("page", 1, type=int) or 1, 1)
    session = get_session()
    _, doc = active_or_abort(session)
    now = clock.now()
    query = access.scope_tickets(queries.ticket_search(f, now), scope())
    rows = session.scalars(query.offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE + 1)).all()
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
        levels=LEVELS,
        assignees=_assignees(session),
        scoped=scope() is not None,
    )


def _assignees(session: Session) -> list[tuple[str, str]]:
    """Who a ticket may be given to: technicians and admins, or a referent's colleagues."""
    structure = scope()
    return [
        (u.username, u.display_name)
        for u in list_users(session)
        if access.may_be_assigned(u, structure)
    ]


@bp.get("/tickets/<number>")
@require_role(*WORKERS)
def ticket(number: str) -> str | tuple[str, int]:
    return ticket_page(number)


def ticket_page(number: str, error: str = "", note: str = "") -> str | tuple[str, int]:
    session = get_session()
    found = ticket_or_404(session, number)
    messages = session.scalars(
        select(TicketMessage).where(TicketMessage.ticket_id == found.id).order_by(TicketMessage.id)
    ).all()
    callbacks = session.scalars(
        select(Callback).where(Callback.ticket_id == found.id).order_by(Callback.id)
    ).all()
    user = current_user()
    may_escalate = user is not None and escalation_refusal(found, user) is None
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
        may_escalate=may_escalate,
        note_max=ESCALATION_NOTE_MAX,
        note=note,
        doc=active_or_none(session),
    )
    return (page, 400) if error else page


def _done(number: str, message: str) -> BaseResponse:
    get_session().commit()
    flash(message)
    return redirect(url_for("admin.ticket", number=number))


@bp.post("/tickets/<number>/status")
@require_role(*WORKERS)
def ticket_status(number: str) -> str | tuple[str, int] | BaseResponse:
    session = get_session()
    found = ticket_or_404(session, number)
    status = request.form.get("status", "")
    try:
        changed = actions.set_status(session, found, status, actor=actor(), now=clock.now())
    except actions.ActionRefused as exc:
        session.rollback()
        return ticket_page(number, str(exc))
    return _done(
        number,
        gettext("Statut : %(status)s.", status=label("ticket_status", status))
        if changed
        else gettext("Statut inchangé."),
    )


@bp.post("/tickets/<number>/assign")
@require_role(*WORKERS)
def ticket_assign(number: str) -> str | tuple[str, int] | BaseResponse:
    session = get_session()
    found = ticket_or_404(session, number)
    assignee = request.form.get("assignee", "").strip()
    if assignee and assignee not in {u for u, _ in _assignees(session)}:
        return ticket_page(
            number, gettext("« %(assignee)s » n'est pas un technicien actif", assignee=assignee)
        )
    changed = actions.assign(session, found, assignee, actor=actor(), now=clock.now())
    what = (
        gettext("Attribué à %(assignee)s.", assignee=assignee)
        if assignee
        else gettext("Attribution retirée.")
    )
    return _done(number, what if changed else gettext("Attribution inchangée."))


@bp.post("/tickets/<number>/merge")
@require_role(*WORKERS)
def ticket_merge(number: str) -> str | tuple[str, int] | BaseResponse:
    session = get_session()
    source = ticket_or_404(session, number)
    into = request.form.get("into", "").strip()
    target = access.find_ticket_in(session, into, scope()) if into else None
    if target is None:
        return ticket_page(
            number,
            gettext(
                "Aucun ticket n° %(number)s vers lequel fusionner", number=into or gettext("(vide)")
            ),
        )
    try:
        moved = actions.merge(session, source, target, actor=actor(), now=clock.now())
    except actions.ActionRefused as exc:
        session.rollback()
        return ticket_page(number, str(exc))
    get_session().commit()
    flash(
        gettext(
            "Ticket %(number)s fusionné dans %(number2)s (%(moved)s message(s)).",
            number=source.number,
            number2=target.number,
            moved=moved,
        )
    )
    return redirect(url_for("admin.ticket", number=target.number))


@bp.get("/tickets/<number>/recordings/<int:message_id>")
@require_role(*WORKERS)
def recording(number: str, message_id: int) -> Response:
    """The voicemail's audio, fetched from Twilio with the account's credentials.

    Served from here rather than linked: Twilio media may need HTTP
    authentication, and the admin's Content-Security-Policy only lets the
    page load media from its own origin.
    """
    session = get_session()
    found = ticket_or_404(session, number)
    message = session.get(TicketMessage, message_id)
    if message is None or message.ticket_id != found.id:
        abort(404, gettext("Aucun enregistrement."))
    url = message.recording_url
    if not url.startswith(TWILIO_MEDIA):
        abort(404, gettext("Enregistrement indisponible."))
    settings = current_app.config["IVR_SETTINGS"]
    if not settings.twilio_configured:
        abort(503, gettext("Identifiants Twilio absents : l'enregistrement ne peut pas être lu."))
    media = url if url.endswith((".mp3", ".wav")) else url + ".mp3"
    auth = (settings.twilio_account_sid, settings.twilio_auth_token.get_secret_value())
    try:
        answer = requests.get(media, auth=auth, timeout=RECORDING_TIMEOUT)
    except requests.RequestException:
        abort(502, gettext("Twilio ne répond pas : réessayez plus tard."))
    if answer.status_code != 200:
        abort(
            502,
            gettext(
                "Twilio a répondu %(status_code)s pour cet enregistrement.",
                status_code=answer.status_code,
            ),
        )
    mimetype = answer.headers.get("Content-Type", "audio/mpeg").split(";")[0]
    return Response(answer.content, mimetype=mimetype)
