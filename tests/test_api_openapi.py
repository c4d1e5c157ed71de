"""The OpenAPI document describes every /api/v1 route, and is a valid OpenAPI 3.1 document."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient

from tests.api_helpers import token_for


def _document(app: Flask, client: FlaskClient) -> dict:  # type: ignore[type-arg]
    answer = client.get("/api/v1/openapi.json", headers=token_for(app, "viewer"))
    assert answer.status_code == 200
    return answer.json  # type: ignore[no-any-return]


def test_every_api_route_is_in_the_document(app: Flask, client: FlaskClient) -> None:
    paths = _document(app, client)["paths"]
    checked = 0
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/"):
            continue
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule.removeprefix("/api/v1"))
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}:
            assert method.lower() in paths.get(path, {}), f"{method} {rule.rule} undocumented"
            checked += 1
    documented = sum(len(operations) for operations in paths.values())
    assert checked == documented >= 20


def test_the_document_is_valid_and_names_roles(app: Flask, client: FlaskClient) -> None:
    import schemathesis

    document = _document(app, client)
    assert document["openapi"].startswith("3.")
    schema = schemathesis.openapi.from_dict(document)
    assert all(result.ok() for result in schema.get_all_operations())
    draft = document["paths"]["/config/draft"]["put"]
    assert draft["x-roles"] == ["admin"]
    assert draft["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ConfigDocument"
    }
    assert document["paths"]["/reports"]["get"]["x-roles"] == ["admin", "viewer", "technician"]
    assert "422" in document["paths"]["/tickets/{number}"]["patch"]["responses"]
