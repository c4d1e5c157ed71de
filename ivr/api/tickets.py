"""/api/v1/tickets and /api/v1/callbacks: what technicians and referents work on.

Every change goes through `callbook.tickets.actions`, as on the admin pages:
the ticket's history and the audit log (under the token's user) are written
in the same transaction as the change. A referent's token reaches its own
structure's tickets and callbacks only (`callbook.tickets.access`: another
structure's ticket is 404), and only a referent escalates.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Response, jsonify
from sqlalchemy import select
from sqlalchemy.orm import Session

from callbook.accounts.users import list_users
from callbook.db import get_session
from callbook.tickets import Callback, access, actions
from callbook.tickets.escalation import escalate, escalation_refusal
from ivr.admin.pagekit import default_zone
from ivr.admin.pages_tickets import CALLBACK_VIEWS, PAGE_SIZE
from ivr.admin.views import queries
from ivr.api.auth import WORKERS, current_actor, current_user
from ivr.api.kit import ApiError, api_route, json_body, query_args
from ivr.api.models import (
    MAX_ID,
    CallbackOut,
    CallbackQuery,
    EscalateBody,
    MergeBody,
    MergeOut,
    RescheduleBody,
    TicketDetail,
    TicketList,
    TicketOut,
    TicketPatch,
    TicketQuery,
)
from ivr.notify.escalation import queue_escalation_emails
from schedules import clock

TICKET = "/tickets/<number>"
CALLBACK = f"/callbacks/<int(max={MAX_ID}):callback_id>"
MAX_AHEAD = timedelta(days=366)


def _scope() -> str | None:
    return access.scope_of(current_user())


def _ticket(session: Session, number: str) -> actions.Ticket:
    found = access.find_ticket_in(session, number[:20], _scope())
    if found is None:
        raise ApiError(404, f"no ticket {number[:20]}", ["number"])
    return found


def _ticket_out(ticket: actions.Ticket) -> dict[str, Any]:
    return TicketOut.model_validate(ticket).model_dump(mode="json")


@api_route(
    "GET",
    "/tickets",
    summary="Tickets, filtered (open ones by default), urgent ones then earliest deadline first",
    roles=WORKERS,
    query=TicketQuery,
    answer=TicketList,
)
def tickets_list() -> Response:
    args = query_args(TicketQuery)
    f = queries.TicketFilter(
        status=args.status,
        priority=args.priority or "",
        structure=args.structure,
        assignee=args.assignee,
        overdue=args.overdue,
        text=args.q,
        level=args.level or "",
    )
    query = access.scope_tickets(queries.ticket_search(f, clock.now()), _scope())
    rows = (
        get_session().scalars(query.offset((args.page - 1) * PAGE_SIZE).limit(PAGE_SIZE + 1)).all()
    )
    return jsonify(
        tickets=[_ticket_out(t) for t in rows[:PAGE_SIZE]],
        page=args.page,
        more=len(rows) > PAGE_SIZE,
    )


@api_route(
    "GET", TICKET, summary="One ticket with its messages, history and callbacks",
    roles=WORKERS, answer=TicketDetail,
)  # fmt: skip
def ticket_show(number: str) -> Response:
    session = get_session()
    found = _ticket(session, number)
    callbacks = session.scalars(
        select(Callback).where(Callback.ticket_id == found.id).order_by(Callback.id)
    ).all()
    detail = TicketDetail.model_validate(
        {
            **TicketOut.model_validate(found).model_dump(),
            "messages": found.messages,
            "history": found.history,
            "callbacks": callbacks,
        }
    )
    return jsonify(detail.model_dump(mode="json"))


def _assignable(session: Session) -> set[str]:
    """Who a ticket may be given to, as on the page: active technicians and admins,
    or for a referent, the referents of its structure."""
    structure = _scope()
    return {u.username for u in list_users(session) if access.may_be_assigned(u, structure)}


@api_route(
    "PATCH",
    TICKET,
    summary="Change a ticket's status and/or assignee",
    roles=WORKERS,
    body=TicketPatch,
    answer=TicketOut,
)
def ticket_patch(number: str) -> Response:
    payload = json_body(TicketPatch)
    session = get_session()
    found = _ticket(session, number)
    now, actor = clock.now(), current_actor()
    if payload.assignee and payload.assignee not in _assignable(session):
        raise ApiError(422, f"{payload.assignee} is not an active technician", ["assignee"])
    try:
        if payload.status is not None:
            actions.set_status(session, found, payload.status, actor=actor, now=now)
        if payload.assignee is not None:
            actions.assign(session, found, payload.assignee, actor=actor, now=now)
    except actions.ActionRefused as exc:
        session.rollback()
        raise ApiError(422, str(exc), ["status"]) from exc
    session.commit()
    return jsonify(_ticket_out(found))


@api_route(
    "POST",
    TICKET + "/merge",
    summary="Merge this ticket into another one (this one is closed)",
    roles=WORKERS,
    body=MergeBody,
    answer=MergeOut,
    errors=(409,),
)
def ticket_merge(number: str) -> Response:
    payload = json_body(MergeBody)
    session = get_session()
    source = _ticket(session, number)
    target = access.find_ticket_in(session, payload.into, _scope())
    if target is None:
        raise ApiError(422, f"no ticket {payload.into} to merge into", ["into"])
    try:
        moved = actions.merge(session, source, target, actor=current_actor(), now=clock.now())
    except actions.ActionRefused as exc:
        session.rollback()
        raise ApiError(409, str(exc), ["into"]) from exc
    session.commit()
    return jsonify(ticket=_ticket_out(target), messages_moved=moved)


@api_route(
    "POST",
    TICKET + "/escalate",
    summary="Escalate the ticket to the national level with the request reformulated"
    " (referents, their structure's tickets)",
    roles=("referent",),
    body=EscalateBody,
    answer=TicketOut,
    errors=(409,),
)
def ticket_escalate(number: str) -> Response:
    payload = json_body(EscalateBody)
    session = get_session()
    found = _ticket(session, number)
    user = current_user()
    if user is None or user.role != "referent":  # the shared token acts as an admin
        raise ApiError(403, "only a structure's referent may escalate a ticket", [])
    refusal = escalation_refusal(found, user)
    if refusal is not None:
        raise ApiError(409, refusal, ["number"])
    try:
        escalate(session, found, user, payload.note, clock.now())
    except actions.ActionRefused as exc:  # what is left to refuse is the note
        session.rollback()
        raise ApiError(422, str(exc), ["note"]) from exc
    queue_escalation_emails(session, found, user)
    session.commit()
    return jsonify(_ticket_out(found))


# -- callbacks ---------------------------------------------------------------------------


def _callback_out(callback: Callback) -> dict[str, Any]:
    return CallbackOut.model_validate(callback).model_dump(mode="json")


@api_route(
    "GET",
    "/callbacks",
    summary="Callbacks of one view (active by default), soonest first",
    roles=WORKERS,
    query=CallbackQuery,
    answer={"type": "array", "items": {"$ref": "#/components/schemas/CallbackOut"}},
)
def callbacks_list() -> Response:
    args = query_args(CallbackQuery)
    query = select(Callback).order_by(Callback.due_at, Callback.rank, Callback.id)
    statuses = CALLBACK_VIEWS[args.view]
    if statuses:
        query = query.where(Callback.status.in_(statuses))
    query = access.scope_callbacks(query, _scope())
    rows = get_session().scalars(query.limit(PAGE_SIZE * 5)).all()
    return jsonify([_callback_out(r) for r in rows])


def _callback(session: Session, callback_id: int) -> Callback:
    found = access.find_callback_in(session, callback_id, _scope())
    if found is None:
        raise ApiError(404, f"no callback {callback_id}", ["callback_id"])
    return found


def _instant(moment: datetime) -> datetime:
    """An aware UTC instant; a moment without offset is read in IVR_DEFAULT_TIMEZONE."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=default_zone())
    try:
        return moment.astimezone(UTC)
    except (OverflowError, ValueError) as exc:  # year 1 or 9999 shifted out of range
        raise ApiError(422, "due_at: out of range", ["due_at"]) from exc


def _done(session: Session, callback: Callback) -> Response:
    session.commit()
    return jsonify(_callback_out(callback))


def _refused(session: Session, exc: actions.ActionRefused) -> ApiError:
    session.rollback()
    return ApiError(409, str(exc), [])


@api_route(
    "POST", CALLBACK + "/call-now", summary="Place the callback at the next dispatch",
    roles=WORKERS, answer=CallbackOut, errors=(409,),
)  # fmt: skip
def callback_call_now(callback_id: int) -> Response:
    session = get_session()
    found = _callback(session, callback_id)
    try:
        actions.call_now(session, found, actor=current_actor(), now=clock.now())
    except actions.ActionRefused as exc:
        raise _refused(session, exc) from exc
    return _done(session, found)


@api_route(
    "POST", CALLBACK + "/cancel", summary="Cancel the callback (its ticket stays open)",
    roles=WORKERS, answer=CallbackOut, errors=(409,),
)  # fmt: skip
def callback_cancel(callback_id: int) -> Response:
    session = get_session()
    found = _callback(session, callback_id)
    try:
        actions.cancel(session, found, actor=current_actor(), now=clock.now())
    except actions.ActionRefused as exc:
        raise _refused(session, exc) from exc
    return _done(session, found)


@api_route(
    "POST", CALLBACK + "/reschedule", summary="Move the callback to another moment",
    roles=WORKERS, body=RescheduleBody, answer=CallbackOut, errors=(409,),
)  # fmt: skip
def callback_reschedule(callback_id: int) -> Response:
    payload = json_body(RescheduleBody)
    session = get_session()
    found = _callback(session, callback_id)
    now = clock.now()
    due = _instant(payload.due_at)
    if due < now:
        raise ApiError(422, "due_at: the new moment is already past", ["due_at"])
    if due > now + MAX_AHEAD:
        raise ApiError(422, "due_at: more than a year ahead", ["due_at"])
    try:
        actions.reschedule(session, found, due, actor=current_actor(), now=now)
    except actions.ActionRefused as exc:
        raise _refused(session, exc) from exc
    return _done(session, found)
