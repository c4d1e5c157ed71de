"""Personal API tokens for the JSON API tests."""

from __future__ import annotations

from flask import Flask

from callbook.accounts.tokens import issue_token
from callbook.accounts.users import create_user, get_user
from callbook.db import session_scope
from schedules import clock
from tests.conftest import ADMIN_PASSWORD


def token_for(app: Flask, role: str, username: str | None = None) -> dict[str, str]:
    """Headers carrying a fresh token of user `username` (default `api-<role>`) with `role`."""
    username = username or f"api-{role}"
    with session_scope(app) as session:
        user = get_user(session, username) or create_user(
            session, username, ADMIN_PASSWORD, role=role, actor="test", now=clock.now()
        )
        token = issue_token(session, user, actor="test", now=clock.now())
    return {"Authorization": f"Bearer {token}"}
