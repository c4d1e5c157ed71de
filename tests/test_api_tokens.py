"""Personal API tokens: made and revoked on the command line, stored hashed, roles per route."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask
from flask.testing import FlaskClient
from pydantic import SecretStr
from sqlalchemy import select

from callbook.accounts.tokens import ApiToken, hash_token
from callbook.db import Base, database, session_scope
from callbook.db.schema import expected_schema_version
from callbook.history.audit import AuditEntry
from ivr.app import create_app
from tests.api_helpers import token_for
from tests.conftest import ADMIN_PASSWORD, IvrRunner

REPORT = "/api/v1/reports?from=2026-03-01&to=2026-03-31"
# (method, path, body): one route of each kind of the role table.
ROUTES: dict[str, tuple[str, str, object]] = {
    "note": ("PUT", "/api/v1/calls/CA404/note", {"note": "x"}),
    "tickets": ("GET", "/api/v1/tickets", None),
    "callbacks": ("GET", "/api/v1/callbacks", None),
    "draft": ("GET", "/api/v1/config/draft", None),
    "users": ("GET", "/api/v1/users", None),
}


def _create_user(runner: IvrRunner, name: str, role: str) -> None:
    result = runner.invoke(
        "users", "create", name, "--role", role, "--password-stdin", input=ADMIN_PASSWORD + "\n"
    )
    assert result.exit_code == 0, result.output


def test_cli_token_is_shown_once_stored_hashed_and_revocable(
    app: Flask, client: FlaskClient, runner: IvrRunner
) -> None:
    _create_user(runner, "vera", "viewer")
    made = runner.invoke("users", "token", "vera")
    assert made.exit_code == 0, made.output
    token = made.stdout.strip()
    assert token.startswith("ivr_") and len(token) > 40
    with session_scope(app) as session:
        row = session.scalars(select(ApiToken)).one()
        assert row.token_hash == hash_token(token) and token not in row.token_hash
        assert row.revoked_at is None
    auth = {"Authorization": f"Bearer {token}"}
    assert client.get(REPORT, headers=auth).status_code == 200

    again = runner.invoke("users", "token", "vera").stdout.strip()
    assert again != token
    assert client.get(REPORT, headers=auth).status_code == 401  # the first one was revoked
    assert client.get(REPORT, headers={"Authorization": f"Bearer {again}"}).status_code == 200

    revoked = runner.invoke("users", "token", "vera", "--revoke")
    assert revoked.exit_code == 0 and "1 token(s)" in revoked.output
    assert client.get(REPORT, headers={"Authorization": f"Bearer {again}"}).status_code == 401
    with session_scope(app) as session:
        actions = session.scalars(
            select(AuditEntry.action).where(AuditEntry.entity == "api-token")
        ).all()
    assert actions == ["create", "create", "revoke"]


def test_cli_token_of_unknown_or_disabled_user_is_refused(runner: IvrRunner) -> None:
    assert runner.invoke("users", "token", "nobody").exit_code == 1
    _create_user(runner, "gone", "technician")
    assert runner.invoke("users", "disable", "gone").exit_code == 0
    refused = runner.invoke("users", "token", "gone")
    assert refused.exit_code == 1 and "disabled" in refused.output


def test_disabling_the_user_stops_the_token(
    app: Flask, client: FlaskClient, runner: IvrRunner
) -> None:
    auth = token_for(app, "technician", "tina")
    assert client.get("/api/v1/tickets", headers=auth).status_code == 200
    assert runner.invoke("users", "disable", "tina").exit_code == 0
    answer = client.get("/api/v1/tickets", headers=auth)
    assert answer.status_code == 401 and answer.json["fields"] == ["Authorization"]


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        ("viewer", set()),
        ("technician", {"note", "tickets", "callbacks"}),
        ("admin", set(ROUTES)),
    ],
)
def test_each_role_reaches_its_routes_only(
    app: Flask, client: FlaskClient, role: str, allowed: set[str]
) -> None:
    auth = token_for(app, role)
    assert client.get(REPORT, headers=auth).status_code == 200  # every role reads reports
    for name, (method, path, body) in ROUTES.items():
        answer = client.open(path, method=method, json=body, headers=auth)
        if name in allowed:
            assert answer.status_code != 403, (role, name)
        else:
            assert answer.status_code == 403, (role, name)
            assert answer.json["error"].startswith(f"the role {role} may not")


def test_wrong_tokens_get_401(app: Flask, client: FlaskClient) -> None:
    token_for(app, "admin")
    for header in ("", "Bearer", "Bearer ivr_nope", "Basic abc", "Bearer " + "x" * 5000):
        answer = client.get("/api/v1/users", headers={"Authorization": header})
        assert answer.status_code == 401 and answer.headers["WWW-Authenticate"].startswith("Bearer")


def test_the_shared_token_has_full_access_audited_as_api(app: Flask) -> None:
    settings = app.config["IVR_SETTINGS"].model_copy(update={"api_token": SecretStr("s" * 32)})
    shared = create_app(settings)
    client = shared.test_client()
    auth = {"Authorization": "Bearer " + "s" * 32}
    created = client.post(
        "/api/v1/users",
        json={"username": "newbie", "password": ADMIN_PASSWORD, "role": "viewer"},
        headers=auth,
    )
    assert created.status_code == 201, created.json
    with session_scope(shared) as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.entity == "user")).all()[-1]
    assert (entry.actor, entry.entity_id, entry.action) == ("api", "newbie", "create")
    database(shared).engine.dispose()


def test_the_token_table_matches_its_migration(app: Flask) -> None:
    assert expected_schema_version() is not None
    with database(app).engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = compare_metadata(context, Base.metadata)
    assert [d for d in diff if "api_tokens" in repr(d)] == []
