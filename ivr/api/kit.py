"""What the API modules share: the blueprint, errors, declared routes, bodies, queries.

Every route needs `Authorization: Bearer <token>` (`ivr.api.auth`); every
error is JSON, `{"error": …, "fields": […]}`, with a 4xx status: bad input
never produces a 5xx.

`api_route` registers a view on the API blueprint and records what the
OpenAPI document needs to describe it: method, path, roles, the pydantic
models of its body, query string and answer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from flask import Blueprint, Response, current_app, jsonify, request
from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException

from ivr.api.auth import allow, require_token
from ivr.inputs import refuse_nul_api

PREFIX = "/api/v1"
bp = Blueprint("api", __name__, url_prefix=PREFIX)


class ApiError(Exception):
    """An answer with a 4xx status and the fields at fault."""

    def __init__(self, status: int, error: str, fields: list[str] | None = None) -> None:
        super().__init__(error)
        self.status = status
        self.error = error
        self.fields = fields or []


def json_error(status: int, error: str, fields: list[str] | None = None) -> Response:
    response = jsonify(error=error, fields=fields or [])
    response.status_code = status
    return response


# -- errors and guards -------------------------------------------------------------------


@bp.errorhandler(ApiError)
def _api_error(exc: ApiError) -> Response:
    return json_error(exc.status, exc.error, exc.fields)


@bp.errorhandler(SQLAlchemyError)
def _database_error(exc: SQLAlchemyError) -> Response:
    current_app.logger.error("API: database error: %s", exc)
    return json_error(503, "the call book is unavailable, try again later")


def http_error(exc: HTTPException) -> Response | HTTPException:
    """JSON for every HTTP error under /api/v1, routing errors (404, 405, 413) included."""
    if not request.path.startswith(PREFIX + "/") and request.path != PREFIX:
        return exc
    return json_error(exc.code or 400, exc.description or exc.name)


# Personal tokens with roles (`ivr.api.auth`) guard every route.
bp.before_request(require_token)
bp.before_request(refuse_nul_api)  # after the token: strangers learn nothing


# -- declared routes ---------------------------------------------------------------------

M = TypeVar("M", bound=BaseModel)
Schema = type[BaseModel] | dict[str, Any]


@dataclass(frozen=True, slots=True)
class RouteDoc:
    """One operation of the API, as the OpenAPI document shows it."""

    method: str
    rule: str
    endpoint: str
    summary: str
    roles: tuple[str, ...]
    body: Schema | None = None
    query: type[BaseModel] | None = None
    answer: Schema | None = None
    media: tuple[str, ...] = ("application/json",)
    status: int = 200
    errors: tuple[int, ...] = field(default=())


ROUTES: list[RouteDoc] = []


def api_route(
    method: str,
    rule: str,
    *,
    summary: str,
    roles: tuple[str, ...] = (),
    body: Schema | None = None,
    query: type[BaseModel] | None = None,
    answer: Schema | None = None,
    errors: tuple[int, ...] = (),
    status: int = 200,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register the view at `rule` for `method`, admitting admins and `roles`."""

    def register(view: Callable[..., Any]) -> Callable[..., Any]:
        allow(*roles)(view)
        bp.add_url_rule(rule, endpoint=view.__name__, view_func=view, methods=[method])
        ROUTES.append(
            RouteDoc(
                method=method,
                rule=rule,
                endpoint=f"{bp.name}.{view.__name__}",
                summary=summary,
                roles=("admin", *roles),
                body=body,
                query=query,
                answer=answer,
                errors=errors,
                status=status,
            )
        )
        return view

    return register


def _fields(exc: ValidationError, prefix: str = "") -> tuple[str, list[str]]:
    paths = [".".join([prefix, *map(str, e["loc"])] if prefix else map(str, e["loc"])) or "body"
             for e in exc.errors()]  # fmt: skip
    message = "; ".join(f"{p}: {e['msg']}" for p, e in zip(paths, exc.errors(), strict=True))
    return message, paths


def json_body(model: type[M]) -> M:
    """The request's JSON body as `model`; 400 when not JSON, 422 with field paths."""
    data = request.get_json(silent=True)
    if data is None:
        raise ApiError(400, "the body must be JSON (Content-Type: application/json)", ["body"])
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ApiError(422, *_fields(exc)) from exc


def query_args(model: type[M]) -> M:
    """The query string as `model` (one value per name); 422 with the names at fault."""
    try:
        return model.model_validate(request.args.to_dict())
    except ValidationError as exc:
        raise ApiError(422, *_fields(exc)) from exc
