"""What the API modules share: declared routes (for the OpenAPI document), bodies, queries.

`api_route` registers a view on the API blueprint and records what the
OpenAPI document needs to describe it: method, path, roles, the pydantic
models of its body, query string and answer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from flask import request
from pydantic import BaseModel, ValidationError

from ivr.api import ApiError, bp
from ivr.api_auth import allow

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
