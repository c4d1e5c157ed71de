"""The JSON API (/api/v1): the call book for technicians' tools and reporting.

Every route needs `Authorization: Bearer <IVR_API_TOKEN>`; with no token set
the API is off and says so. Every error is JSON, `{"error": …, "fields": […]}`,
with a 4xx status: bad input never produces a 5xx.
"""

from __future__ import annotations

import io
import re
import tempfile
from datetime import date, datetime
from typing import Any, TypeVar

from flask import Blueprint, Flask, Response, current_app, jsonify, request, send_file
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException

from callbook.calls.annotate import UnknownCall, UnknownMotive, get_call, set_motives, set_note
from callbook.calls.models import Call
from callbook.db import session_scope
from callbook.reports import build_report, period
from callbook.reports.exports import EXPORT_FORMATS, MEDIA_TYPES, write_csv, write_xlsx
from ivr.runtime import NoActiveConfig, current_config
from schedules import clock

PREFIX = "/api/v1"
bp = Blueprint("api", __name__, url_prefix=PREFIX)


class ApiError(Exception):
    """An answer with a 4xx status and the fields at fault."""

    def __init__(self, status: int, error: str, fields: list[str] | None = None) -> None:
        super().__init__(error)
        self.status = status
        self.error = error
        self.fields = fields or []


def _error(status: int, error: str, fields: list[str] | None = None) -> Response:
    response = jsonify(error=error, fields=fields or [])
    response.status_code = status
    return response


# -- payloads --------------------------------------------------------------------------


class Payload(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    author: str | None = Field(default=None, min_length=1, max_length=64)


P = TypeVar("P", bound=Payload)


def _author(payload: Payload) -> str:
    """Who the call book names: a personal token's user; for the shared scripts'
    token, the `author` the script gives (the person it acts for), else the token."""
    user = api_auth.current_user()
    if user is None:
        return payload.author or api_auth.current_actor()
    if payload.author not in (None, user.username):
        raise ApiError(422, f"author: a personal token acts as {user.username}", ["author"])
    return user.username


class MotivesPayload(Payload):
    motives: list[str] = Field(max_length=20, description="Motive keys of the configuration.")
    replace_caller: bool = Field(
        default=False, description="Also drop the caller's own choices that are not listed."
    )


class NotePayload(Payload):
    note: str = Field(max_length=10_000)

    @field_validator("note", mode="before")
    @classmethod
    def _text(cls, value: Any) -> Any:
        return "" if value is None else value


def _payload(model: type[P], *, wrap: str | None = None) -> P:
    body = request.get_json(silent=True)
    if body is None:
        raise ApiError(400, "the body must be JSON (Content-Type: application/json)")
    if wrap is not None and not isinstance(body, dict):
        body = {wrap: body}  # a bare value stands for the main field
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        fields = [".".join(map(str, e["loc"])) or "body" for e in exc.errors()]
        messages = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in exc.errors()
        )
        raise ApiError(422, messages, fields) from exc


# -- calls ---------------------------------------------------------------------------------


def _instant(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def call_to_dict(call: Call) -> dict[str, Any]:
    """What the API shows of a call: the book's facts, not the flow's internal state."""
    return {
        "call_sid": call.call_sid,
        "direction": call.direction,
        "from": call.from_number,
        "to": call.to_number,
        "contact": call.contact,
        "structure": call.structure,
        "revision": call.revision,
        "status": call.status,
        "route": call.route,
        "answered_by": call.answered_by,
        "in_hours": call.in_hours,
        "urgent": call.urgent,
        "started_at": _instant(call.started_at),
        "answered_at": _instant(call.answered_at),
        "ended_at": _instant(call.ended_at),
        "duration": call.duration,
        "callback_at": _instant(call.callback_at),
        "note": call.note,
        "motives": [
            {"position": m.position, "motive": m.motive, "family": m.family, "channel": m.channel}
            for m in call.motives
        ],
        "events": [
            {"seq": e.seq, "at": _instant(e.at), "kind": e.kind, "data": e.data}
            for e in call.events
        ],
    }


@bp.get("/calls/<call_sid>")
def show_call(call_sid: str) -> Response:
    with session_scope() as session:
        return jsonify(call_to_dict(_call(session, call_sid)))


@bp.put("/calls/<call_sid>/motives")
def put_motives(call_sid: str) -> Response:
    """Body: {"motives": ["incident", …], "replace_caller": false, "author": "…"} or a bare list."""
    payload = _payload(MotivesPayload, wrap="motives")
    try:
        _, doc = current_config()
    except NoActiveConfig as exc:
        raise ApiError(409, f"no active configuration: {exc}") from exc
    families = {m.key: str(m.family) for m in doc.motives}
    with session_scope() as session:
        try:
            call = set_motives(
                session,
                call_sid,
                [(key, families.get(key, "")) for key in payload.motives],
                author=_author(payload),
                now=clock.now(),
                known=families,
                replace_caller=payload.replace_caller,
            )
        except UnknownCall as exc:
            raise _unknown_call(call_sid) from exc
        except UnknownMotive as exc:
            raise ApiError(
                422,
                f"{exc} (known: {', '.join(families)})",
                [f"motives.{i}" for i in sorted(exc.positions)],
            ) from exc
        return jsonify(call_to_dict(call))


@bp.put("/calls/<call_sid>/note")
def put_note(call_sid: str) -> Response:
    """Body: {"note": "…", "author": "…"} or a bare JSON string."""
    payload = _payload(NotePayload, wrap="note")
    with session_scope() as session:
        try:
            call = set_note(
                session, call_sid, payload.note, author=_author(payload), now=clock.now()
            )
        except UnknownCall as exc:
            raise _unknown_call(call_sid) from exc
        return jsonify(call_to_dict(call))


def _call(session: Any, call_sid: str) -> Call:
    try:
        return get_call(session, call_sid)
    except UnknownCall as exc:
        raise _unknown_call(call_sid) from exc


def _storable(text: str) -> bool:
    """No control characters: PostgreSQL refuses NUL in text, and no id holds any."""
    return not any(ord(c) < 32 for c in text)


def _unknown_call(call_sid: str) -> ApiError:
    return ApiError(404, f"no call {call_sid} in the call book", ["call_sid"])


# -- reports and exports ----------------------------------------------------------------------


def _day(name: str) -> date:
    text = request.args.get(name, "").strip()
    if not text:
        raise ApiError(422, f"{name}: a day is required (YYYY-MM-DD)", [name])
    try:
        day = date.fromisoformat(text)
    except ValueError as exc:
        raise ApiError(422, f"{name}: '{text[:40]}' is not a day (YYYY-MM-DD)", [name]) from exc
    if not 1900 <= day.year <= 2999:  # beyond, local days do not convert to UTC instants
        raise ApiError(422, f"{name}: a day between 1900 and 2999", [name])
    return day


def _period_args() -> tuple[datetime, datetime, str | None, str]:
    """from/to (local days, `to` included) and structure of the query string."""
    zone = current_app.config["IVR_SETTINGS"].default_timezone
    first, last = _day("from"), _day("to")
    if last < first:
        raise ApiError(422, "to: the period ends before it starts", ["to"])
    start, end = period("custom", first, zone, last=last)
    structure = request.args.get("structure", "").strip() or None
    if structure is not None and not _storable(structure):
        raise ApiError(422, "structure: control characters are not allowed", ["structure"])
    return start, end, structure, zone


@bp.get("/reports")
def get_report() -> Response:
    """?from=YYYY-MM-DD&to=YYYY-MM-DD[&structure=ID]: the report as JSON."""
    start, end, structure, zone = _period_args()
    with session_scope() as session:
        report = build_report(session, start, end, structure=structure, tz=zone, now=clock.now())
    return jsonify(report.to_dict())


FLAGS = {"1": True, "true": True, "yes": True, "0": False, "false": False, "no": False, "": False}


@bp.get("/exports")
def get_export() -> Response:
    """?from=&to=&format=csv|xlsx[&structure=ID][&mask_numbers=1]: the history as a file.

    The file is written to a temporary file first (bounded memory), then sent.
    """
    start, end, structure, zone = _period_args()
    fmt = request.args.get("format", "csv").strip().lower()
    if fmt not in EXPORT_FORMATS:
        raise ApiError(422, f"format: '{fmt[:20]}' is not one of csv, xlsx", ["format"])
    flag = request.args.get("mask_numbers", "").strip().lower()
    if flag not in FLAGS:
        raise ApiError(422, "mask_numbers: expected 1 or 0", ["mask_numbers"])
    masked = FLAGS[flag]
    spool = tempfile.TemporaryFile()  # noqa: SIM115  # send_file closes it once sent
    try:
        with session_scope() as session:
            if fmt == "xlsx":
                write_xlsx(
                    session,
                    spool,
                    start,
                    end,
                    structure=structure,
                    tz=zone,
                    mask_numbers=masked,
                    now=clock.now(),
                )
            else:
                text = io.TextIOWrapper(spool, encoding="utf-8", newline="")
                write_csv(
                    session, text, start, end, structure=structure, tz=zone, mask_numbers=masked
                )
                text.flush()
                text.detach()  # keep `spool` open
        spool.seek(0)
    except BaseException:
        spool.close()
        raise
    name = f"historique-{start:%Y-%m-%d}-{_day('to'):%Y-%m-%d}"
    if structure:
        name += "-" + re.sub(r"[^A-Za-z0-9_-]+", "_", structure)[:40]
    return send_file(
        spool,
        mimetype=MEDIA_TYPES[fmt],
        as_attachment=True,
        download_name=f"{name}.{fmt}",
        max_age=0,
    )


# -- errors --------------------------------------------------------------------------------


@bp.errorhandler(ApiError)
def _api_error(exc: ApiError) -> Response:
    return _error(exc.status, exc.error, exc.fields)


@bp.errorhandler(SQLAlchemyError)
def _database_error(exc: SQLAlchemyError) -> Response:
    current_app.logger.error("API: database error: %s", exc)
    return _error(503, "the call book is unavailable, try again later")


def _http_error(exc: HTTPException) -> Response | HTTPException:
    """JSON for every HTTP error under /api/v1, routing errors (404, 405, 413) included."""
    if not request.path.startswith(PREFIX + "/") and request.path != PREFIX:
        return exc
    return _error(exc.code or 400, exc.description or exc.name)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    # Routing errors happen before a blueprint is chosen: handle them app-wide,
    # for our prefix only.
    app.register_error_handler(HTTPException, _http_error)


# -- the rest of the API, on the same blueprint -----------------------------------------------
# Personal tokens with roles (ivr/api_auth.py) guard every route; the modules
# below add their routes to `bp` when imported.

from ivr import api_auth, api_config, api_openapi, api_tickets, api_users  # noqa: E402, F401
from ivr.inputs import refuse_nul_api  # noqa: E402

bp.before_request(api_auth.require_token)
bp.before_request(refuse_nul_api)  # after the token: strangers learn nothing
