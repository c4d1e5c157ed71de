"""CSRF protection: a random token per session, required on every unsafe request.

Forms carry it as `<input type="hidden" name="csrf_token" value="{{ csrf_token() }}">`,
scripts as an `X-CSRF-Token` header. It is checked app-wide, so any new form
anywhere is covered; only the Twilio webhooks (/voice/, signed by Twilio) and
the JSON API (/api/v1/, bearer token, no cookies) are exempt: neither uses the
session cookie a forged request could ride on.
"""

from __future__ import annotations

import hmac
import secrets

from flask import Flask, abort, request, session
from flask_babel import gettext

SESSION_KEY = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
EXEMPT_PREFIXES = ("/voice/", "/api/v1/")


def csrf_token() -> str:
    """This session's token, created on first use."""
    token = session.get(SESSION_KEY)
    if not isinstance(token, str):
        token = session[SESSION_KEY] = secrets.token_urlsafe(32)
    return token


def check_csrf() -> None:
    if request.method in SAFE_METHODS or request.path.startswith(EXEMPT_PREFIXES):
        return
    expected = session.get(SESSION_KEY)
    given = request.form.get("csrf_token") or request.headers.get("X-CSRF-Token") or ""
    if not isinstance(expected, str) or not hmac.compare_digest(
        given.encode("utf-8"), expected.encode("utf-8")
    ):
        abort(400, gettext("Jeton CSRF absent ou invalide : rechargez la page et recommencez."))


def init_app(app: Flask) -> None:
    app.before_request(check_csrf)
    app.jinja_env.globals["csrf_token"] = csrf_token
