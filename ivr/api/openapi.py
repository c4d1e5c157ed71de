"""The OpenAPI 3.1 document of /api/v1, built from the routes and their pydantic models.

Routes made with `ivr.api.kit.api_route` describe themselves; the call-book
routes (`ivr.api.calls`, `ivr.api.reports`) are described in CALL_BOOK_ROUTES
below. Path parameters come from the URL map itself (an `int(max=…)`
converter is an integer with that maximum), so the document and the routing
cannot disagree on them.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any, Literal

from flask import Flask, Response, current_app, jsonify
from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import models_json_schema
from werkzeug.routing import Rule

from ivr.api.auth import ROUTE_ROLES, TECHNICIANS, VIEWERS
from ivr.api.kit import PREFIX, ROUTES, RouteDoc, api_route
from ivr.api.models import Error, MotivesPayload, NotePayload

ERRORS = {
    400: "The body is not JSON",
    401: "Missing or wrong bearer token",
    403: "The token's role may not do this",
    404: "Unknown path or resource",
    413: "The body is too large",
    422: "Refused input; `fields` lists the paths at fault",
    503: "The database is unavailable",
}
REF = "#/components/schemas/{model}"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class ReportQuery(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    from_: date = Field(alias="from", description="First local day (YYYY-MM-DD).")
    to: date = Field(description="Last local day, included.")
    structure: str = Field(default="", description="Only this structure's calls.")


class ExportQuery(ReportQuery):
    format: Literal["csv", "xlsx"] = "csv"
    csv_style: Literal["excel-fr", "plain"] = Field(
        default="excel-fr",
        description="CSV for French spreadsheets (';', BOM, decimal comma, labels) "
        "or plain (',', no BOM, decimal point, codes).",
    )
    mask_numbers: Literal["1", "0", "true", "false", "yes", "no"] = "0"


def _call_book_route(method: str, rule: str, endpoint: str, summary: str, **more: Any) -> RouteDoc:
    roles = ("admin", *ROUTE_ROLES[f"api.{endpoint}"])
    return RouteDoc(method, rule, f"api.{endpoint}", summary, roles, **more)


CALL = {"type": "object", "description": "A call of the call book, with motives and events."}
CALL_BOOK_ROUTES = [
    _call_book_route("GET", "/calls/<call_sid>", "show_call", "One call", answer=CALL),
    _call_book_route(
        "PUT", "/calls/<call_sid>/motives", "put_motives",
        "Set the real motives of a call (or a bare list of keys)", body=MotivesPayload,
        answer=CALL, errors=(409,),
    ),
    _call_book_route(
        "PUT", "/calls/<call_sid>/note", "put_note",
        "Replace the note of a call (or a bare string)", body=NotePayload, answer=CALL,
    ),
    _call_book_route(
        "GET", "/reports", "get_report", "The figures of a period", query=ReportQuery,
        answer={"type": "object"},
    ),
    _call_book_route(
        "GET", "/exports", "get_export", "The call history of a period as CSV or XLSX",
        query=ExportQuery, answer={"type": "string", "format": "binary"},
        media=("text/csv", XLSX),
    ),
]  # fmt: skip


def _path(rule: str) -> str:
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)


def _path_parameters(rule: Rule) -> list[dict[str, Any]]:
    out = []
    for name, converter in rule._converters.items():
        schema: dict[str, Any] = {"type": "string", "minLength": 1, "pattern": "^[^/]+$"}
        if type(converter).__name__ == "IntegerConverter":
            schema = {"type": "integer", "minimum": 0}
            if getattr(converter, "max", None) is not None:
                schema["maximum"] = converter.max  # type: ignore[attr-defined]
        out.append({"name": name, "in": "path", "required": True, "schema": schema})
    return out


def _query_parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    schema = model.model_json_schema(by_alias=True, ref_template=REF)
    required = set(schema.get("required", []))
    return [
        {"name": name, "in": "query", "required": name in required, "schema": prop}
        for name, prop in schema["properties"].items()
    ]


def _schema(value: type[BaseModel] | dict[str, Any]) -> dict[str, Any]:
    return value if isinstance(value, dict) else {"$ref": REF.format(model=value.__name__)}


def _operation(doc: RouteDoc, rule: Rule) -> dict[str, Any]:
    roles = ", ".join(doc.roles)
    operation: dict[str, Any] = {
        "operationId": doc.endpoint.removeprefix("api."),
        "summary": doc.summary,
        "description": f"Roles: {roles}.",
        "x-roles": list(doc.roles),
        "parameters": _path_parameters(rule) + (_query_parameters(doc.query) if doc.query else []),
        "responses": {
            str(doc.status): {
                "description": "Done",
                "content": {m: {"schema": _schema(doc.answer or {})} for m in doc.media},
            },
            **{
                str(code): {"$ref": f"#/components/responses/E{code}"}
                for code in sorted({*ERRORS, *doc.errors})
            },
        },
    }
    if doc.body is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": _schema(doc.body)}},
        }
    return operation


def _models(routes: list[RouteDoc]) -> tuple[set[type[BaseModel]], set[type[BaseModel]]]:
    inputs = {r.body for r in routes if isinstance(r.body, type)}
    outputs = {r.answer for r in routes if isinstance(r.answer, type)}
    return inputs, outputs  # type: ignore[return-value]


def _components(routes: list[RouteDoc]) -> dict[str, Any]:
    inputs, outputs = _models(routes)
    # Answers described by a plain schema refer to these by name.
    from ivr.api.models import CallbackOut, RevisionOut, UserOut

    outputs |= {Error, CallbackOut, RevisionOut, UserOut}
    pairs: list[tuple[type[BaseModel], Literal["validation", "serialization"]]] = [
        *((m, "validation") for m in sorted(inputs, key=lambda m: m.__name__)),
        *((m, "serialization") for m in sorted(outputs, key=lambda m: m.__name__)),
    ]
    _, top = models_json_schema(pairs, ref_template=REF)
    return top.get("$defs", {})


def build_document(app: Flask) -> dict[str, Any]:
    """The whole OpenAPI document of `app`'s API routes."""
    routes = [*CALL_BOOK_ROUTES, *ROUTES]
    rules = {r.endpoint: r for r in app.url_map.iter_rules() if r.rule.startswith(PREFIX)}
    paths: dict[str, dict[str, Any]] = {}
    for doc in routes:
        rule = rules[doc.endpoint]
        paths.setdefault(_path(doc.rule), {})[doc.method.lower()] = _operation(doc, rule)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "IVR hotline API",
            "version": "1",
            "description": "Bearer token: a personal one (`ivr users token USERNAME`) acts "
            "with its user's role; IVR_API_TOKEN acts as an admin. Errors are "
            '{"error": …, "fields": […], "message": …} (`message` in the language of '
            "the token's user, French by default).",
        },
        "servers": [{"url": PREFIX}],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": _components(routes),
            "responses": {
                f"E{code}": {
                    "description": text,
                    "content": {"application/json": {"schema": _schema(Error)}},
                }
                for code, text in {**ERRORS, 409: "Conflicts with the current state"}.items()
            },
        },
    }


@api_route(
    "GET",
    "/openapi.json",
    summary="This document",
    roles=(*VIEWERS, *TECHNICIANS, "referent"),
    answer={"type": "object"},
)
def openapi() -> Response:
    key = "ivr_openapi"
    if key not in current_app.extensions:
        current_app.extensions[key] = build_document(current_app)  # type: ignore[arg-type]
    return jsonify(current_app.extensions[key])
