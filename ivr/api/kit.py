"""What the API modules share: the blueprint, errors, declared routes, bodies, queries.

Every route needs `Authorization: Bearer <token>` (`ivr.api.auth`); every
error is JSON, `{"error": …, "fields": […], "message": …}`, with a 4xx status:
bad input never produces a 5xx. `error` and `fields` are for programs (they
do not change with the language); `message` is for people, in the language
of the token's user (French for the shared token). A refused body or query
adds `details`: one `{"field", "code", "message"}` per problem, `code` being
pydantic's error type.

`api_route` registers a view on the API blueprint and records what the
OpenAPI document needs to describe it: method, path, roles, the pydantic
models of its body, query string and answer.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from flask import Blueprint, Response, current_app, jsonify, request
from flask_babel import gettext
from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException

from callbook.i18n import N_
from ivr.api.auth import allow, require_token
from ivr.config.messages import describe, pydantic_message, sentence
from ivr.i18n import current_locale
from ivr.inputs import refuse_nul_api

PREFIX = "/api/v1"
bp = Blueprint("api", __name__, url_prefix=PREFIX)


class ApiError(Exception):
    """An answer with a 4xx status and the fields at fault; `message` for people."""

    def __init__(
        self,
        status: int,
        error: str,
        fields: list[str] | None = None,
        message: str | None = None,
        details: list[dict[str, str]] | None = None,
    ) -> None:
        super().__init__(error)
        self.status = status
        self.error = error
        self.fields = fields or []
        self.message = message
        self.details = details


STATUS_MESSAGES: dict[int, str] = {
    400: N_("La requête est mal formée."),
    401: N_("Jeton d'accès absent ou invalide."),
    403: N_("Votre rôle ne permet pas cette action."),
    404: N_("Ressource introuvable."),
    405: N_("Méthode non autorisée pour cette adresse."),
    409: N_("La demande contredit l'état actuel du service."),
    413: N_("La requête est trop volumineuse."),
    415: N_("Le type de contenu n'est pas accepté."),
    422: N_("Certaines valeurs sont refusées."),
    429: N_("Trop de requêtes : réessayez plus tard."),
    500: N_("Erreur interne du service."),
    503: N_("Le registre des appels est indisponible : réessayez plus tard."),
}
"""The human `message` of an error answer without a more precise one."""


def status_message(status: int) -> str:
    """The French sentence for `status`, in the request's language."""
    return gettext(STATUS_MESSAGES.get(status, STATUS_MESSAGES[400 if status < 500 else 500]))


def json_error(
    status: int,
    error: str,
    fields: list[str] | None = None,
    message: str | None = None,
    details: list[dict[str, str]] | None = None,
) -> Response:
    body: dict[str, Any] = {
        "error": error,
        "fields": fields or [],
        "message": message or status_message(status),
    }
    if details:
        body["details"] = details
    response = jsonify(body)
    response.status_code = status
    return response


def add_message(response: Response) -> Response:
    """Every JSON error answer of the API says it in words too (`message`)."""
    if response.status_code >= 400 and response.is_json:
        body = response.get_json(silent=True)
        if isinstance(body, dict) and "error" in body and "message" not in body:
            body["message"] = status_message(response.status_code)
            response.set_data(json.dumps(body))
    return response


# -- errors and guards -------------------------------------------------------------------


@bp.errorhandler(ApiError)
def _api_error(exc: ApiError) -> Response:
    return json_error(exc.status, exc.error, exc.fields, exc.message, exc.details)


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
bp.after_request(add_message)


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


def validation_error(exc: ValidationError, prefix: str = "") -> ApiError:
    """422 for a refused body or query: English `error` and paths, words in `message`."""
    locale = current_locale()
    errors = exc.errors(include_url=False)
    paths = [describe(e, prefix)[0] or "body" for e in errors]
    error = "; ".join(f"{p}: {e['msg']}" for p, e in zip(paths, errors, strict=True))
    details = [
        {"field": path, "code": e["type"], "message": pydantic_message(e, locale)}
        for path, e in zip(paths, errors, strict=True)
    ]
    message = "; ".join(sentence(d["field"], d["message"], locale) for d in details)
    return ApiError(422, error, paths, message, details)


def json_body(model: type[M]) -> M:
    """The request's JSON body as `model`; 400 when not JSON, 422 with field paths."""
    data = request.get_json(silent=True)
    if data is None:
        raise ApiError(400, "the body must be JSON (Content-Type: application/json)", ["body"])
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc) from exc


def query_args(model: type[M]) -> M:
    """The query string as `model` (one value per name); 422 with the names at fault."""
    try:
        return model.model_validate(request.args.to_dict())
    except ValidationError as exc:
        raise validation_error(exc) from exc
