"""The admin web interface (/admin): server-rendered pages, French, no external assets.

Pages live in `ivr/admin/pages_*.py`, each registering its views on the one
blueprint `ivr.admin.blueprint.bp` with `@require_role(...)`; `init_app`
imports every such module, so a new page module needs no other registration.
"""

from __future__ import annotations

import importlib
import pkgutil
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Flask, Response, current_app, g, render_template, request
from werkzeug.exceptions import HTTPException

from ivr.admin import csrf
from ivr.admin.auth import current_user, deny_unmarked, has_role
from ivr.admin.blueprint import bp
from ivr.admin.nav import nav_links
from ivr.admin.views.french import short_moment
from ivr.i18n import label

__all__ = ["bp", "error_page", "init_app"]

SESSION_HOURS = 12


def init_app(app: Flask) -> None:
    settings = app.config["IVR_SETTINGS"]
    secure = settings.secure_cookies
    if secure is None:
        secure = settings.public_url.lower().startswith("https://")
    app.config.update(
        SESSION_COOKIE_NAME="ivr_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=secure,
        PERMANENT_SESSION_LIFETIME=SESSION_HOURS * 3600,
    )
    csrf.init_app(app)
    for module in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if module.name.startswith("pages_"):
            importlib.import_module(f"{__name__}.{module.name}")
    app.register_blueprint(bp)


@bp.before_request
def _guard() -> None:
    if request.endpoint != "admin.static":
        current_user()  # loaded before any word is translated: the page's language is theirs
    deny_unmarked()


@bp.after_request
def _headers(response: Response) -> Response:
    # Pages show personal data and carry forms: never cached, never framed.
    response.headers.setdefault("Cache-Control", "no-store")
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
        "script-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    )
    return response


@bp.app_context_processor
def _globals() -> dict[str, object]:
    return {
        "current_user": current_user,
        "has_role": has_role,
        "nav_links": nav_links,
        "label": label,
    }


@bp.app_template_filter("localtime")
def localtime(value: datetime | None, seconds: bool = False) -> str:
    """An aware instant shown in IVR_DEFAULT_TIMEZONE, by Babel ('' for None)."""
    if value is None:
        return ""
    zone = ZoneInfo(current_app.config["IVR_SETTINGS"].default_timezone)
    return short_moment(value, zone, seconds=seconds)


@bp.errorhandler(HTTPException)
def error_page(exc: HTTPException) -> tuple[str, int]:
    """The French (or the reader's) page for an HTTP error: 403, 404, 405, 500…

    A description given to `abort` is shown; werkzeug's own (English) is not.
    """
    code = exc.code or 500
    if code >= 500:
        g.admin_user = None  # the page must not need the database that may have failed
    detail = exc.description if exc.description != type(exc).description else ""
    return render_template("admin/error.html", error=exc, code=code, detail=detail), code
