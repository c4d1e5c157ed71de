"""One rule for every admin form and API call: no NUL character anywhere.

PostgreSQL cannot store a NUL in a text column, and no person types one; such
input is refused before any view runs, with the field at fault, so it never
reaches the database as a 5xx. The voice webhooks have their own checks.
"""

from __future__ import annotations

from flask import Flask, Response, jsonify, request

NUL = "\x00"


def _field_with_nul() -> str | None:
    """The first input holding a NUL ('path' for the URL itself), or None."""
    if NUL in request.path:
        return "path"
    for key, value in request.args.items(multi=True):
        if NUL in key or NUL in value:
            return key.replace(NUL, "") or "query"
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        for key, value in request.form.items(multi=True):
            if NUL in key or NUL in value:
                return key.replace(NUL, "") or "form"
    elif request.is_json:
        raw = request.get_data(cache=True)
        if b"\\u0000" in raw or b"\x00" in raw:
            return "body"
    return None


def refuse_nul() -> Response | None:
    """Admin pages and the rest: 400. (The API checks its token first: `refuse_nul_api`.)"""
    if request.path.startswith(("/voice/", "/api/")):
        return None
    field = _field_with_nul()
    if field is None:
        return None
    return Response(f"{field}: the NUL character is not allowed\n", 400, mimetype="text/plain")


def refuse_nul_api() -> Response | None:
    """The JSON API, after its token check: 422 with the field at fault."""
    field = _field_with_nul()
    if field is None:
        return None
    response = jsonify(error=f"{field}: the NUL character is not allowed", fields=[field])
    response.status_code = 422
    return response


def init_app(app: Flask) -> None:
    app.before_request(refuse_nul)
