"""Every route of the app, enumerated: none is reachable without the right role.

Admin pages declare their roles with `require_role`; this test checks each
declaration against what really happens for a stranger, a viewer and a
technician, for every method. Webhooks need Twilio's signature and the JSON
API its bearer token.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.routing import Rule

from ivr.admin.auth import PUBLIC

ROLES = ("viewer", "technician", "referent")
PUBLIC_ROUTES = {"static", "root", *PUBLIC}
# Health checks (/healthz…) answer load balancers and monitoring, without login;
# `/` only leads to the admin, whose pages ask for a login;
# /metrics answers Prometheus: off unless IVR_METRICS, its own token (tests/test_metrics.py).


def _public(rule: Rule) -> bool:
    return rule.endpoint in PUBLIC_ROUTES or rule.endpoint.startswith(("healthz", "metrics"))


# Configuration, publication, audit and accounts are the admins' alone.
ADMIN_ONLY_MODULES = (
    "ivr.admin.pages_directory",
    "ivr.admin.pages_calendars",
    "ivr.admin.pages_oncall",
    "ivr.admin.pages_technicians",
    "ivr.admin.pages_contacts",
    "ivr.admin.pages_settings",
    "ivr.admin.pages_motives",
    "ivr.admin.pages_publish",
    "ivr.admin.pages_audit",
    "ivr.admin.pages_users",
    "ivr.admin.pages_outbox",
)


def _url(rule: Rule) -> str:
    values = {
        name: 1 if type(conv).__name__ in ("IntegerConverter", "FloatConverter") else "x"
        for name, conv in rule._converters.items()
    }
    return rule.build(values, append_unknown=False)[1]  # type: ignore[index]


def _routes(app: Flask) -> Iterator[tuple[Rule, str]]:
    for rule in app.url_map.iter_rules():
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            yield rule, method


def _request(client: FlaskClient, method: str, url: str, token: str) -> tuple[int, str]:
    response = client.open(url, method=method, data={"csrf_token": token})
    return response.status_code, response.headers.get("Location", "")


def _stranger(app: Flask) -> FlaskClient:
    client = app.test_client()
    with client.session_transaction() as session:
        session["csrf_token"] = "stranger-token"
    return client


def test_every_route_is_known(app: Flask) -> None:
    for rule in app.url_map.iter_rules():
        known = (
            _public(rule)
            or rule.rule.startswith(("/voice/", "/api/v1/", "/admin/"))
            or rule.rule == "/admin/"
        )
        assert known, f"{rule.rule} ({rule.endpoint}) is outside every protected surface"


def test_every_admin_view_declares_its_roles(app: Flask) -> None:
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("admin.") and rule.endpoint not in PUBLIC:
            view = app.view_functions[rule.endpoint]
            roles = getattr(view, "required_roles", None)
            assert roles is not None, f"{rule.endpoint} has no require_role"
            assert "admin" in roles
            if view.__module__ in ADMIN_ONLY_MODULES:
                assert roles == {"admin"}, f"{rule.endpoint} must be for admins only"


def test_strangers_reach_no_admin_page_and_no_webhook_or_api(app: Flask) -> None:
    client = _stranger(app)
    checked = 0
    for rule, method in _routes(app):
        if _public(rule):
            continue
        status, location = _request(client, method, _url(rule), "stranger-token")
        where = f"{method} {rule.rule}"
        if rule.rule.startswith("/admin"):
            assert status == 302 and location.startswith("/admin/login"), where
        elif rule.rule.startswith("/voice/"):
            assert status == 403, where  # no Twilio signature
        else:
            assert rule.rule.startswith("/api/v1"), where
            assert status in (401, 403), where  # no bearer token
        checked += 1
    assert checked > 20


@pytest.mark.parametrize("role", ROLES)
def test_each_role_reaches_only_what_it_is_given(
    app: Flask, login_as: Callable[[str], FlaskClient], role: str
) -> None:
    client = login_as(role)
    token = client.csrf_token  # type: ignore[attr-defined]
    for rule, method in _routes(app):
        if not rule.endpoint.startswith("admin.") or rule.endpoint in PUBLIC:
            continue
        roles = app.view_functions[rule.endpoint].required_roles  # type: ignore[attr-defined]
        if role == "viewer" and method != "GET":
            # Viewers read; the only things they may post are their logout and
            # their own account's language.
            own = ("admin.logout", "admin.save_account")
            assert role not in roles or rule.endpoint in own, rule.endpoint
        if role in roles:
            continue
        status, _ = _request(client, method, _url(rule), token)
        assert status == 403, f"{role}: {method} {rule.rule} answered {status}"


def test_the_api_with_its_token_and_the_stylesheet_without_login(app: Flask) -> None:
    client = app.test_client()
    response = client.get("/admin/static/admin.css")
    assert response.status_code == 200 and b"CDN" in response.data
    page = client.get("/admin/login").get_data(as_text=True)
    assert "http://" not in page and "https://" not in page  # every asset is local


def test_every_form_needs_the_csrf_token(
    app: Flask, login_as: Callable[[str], FlaskClient]
) -> None:
    client = login_as("admin")
    checked = 0
    for rule, method in _routes(app):
        if not rule.rule.startswith("/admin") or method == "GET":
            continue
        for token in ("", "forged"):
            status, _ = _request(client, method, _url(rule), token)
            assert status == 400, f"{method} {rule.rule} without a valid CSRF token: {status}"
        checked += 1
    assert checked >= 10
