"""The admin's and the API's language: Flask-Babel on the call book's catalogs.

French is the default; a user may choose English (`users.locale`, on the
"Mon compte" page, the Utilisateurs page or `ivr users update --locale`).
The admin speaks the logged-in user's language, the API the language of the
personal token's user (French for the shared token and for strangers).
Dates, times and numbers are formatted by Babel in that locale and in
IVR_DEFAULT_TIMEZONE. The voice is always French and does not come here.
"""

from __future__ import annotations

from babel import Locale
from flask import Flask, g, has_request_context
from flask_babel import Babel, get_locale

from callbook import labels
from callbook.i18n import CATALOGS, DEFAULT_LOCALE, known_locale


def init_app(app: Flask) -> None:
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LOCALE)
    app.config["BABEL_DEFAULT_TIMEZONE"] = app.config["IVR_SETTINGS"].default_timezone
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(CATALOGS)
    Babel(app, locale_selector=request_locale)
    app.jinja_env.globals["label"] = label
    app.jinja_env.globals["current_locale"] = current_locale


def request_locale() -> str:
    """The locale of the person behind this request (see the module's docstring)."""
    if not has_request_context():
        return DEFAULT_LOCALE
    # Set by ivr.admin.auth.current_user and ivr.api.auth.require_token.
    user = g.get("admin_user") or g.get("api_user")
    return known_locale(getattr(user, "locale", None))


def label(kind: str, code: str | None) -> str:
    """`callbook.labels.label` in the language of this request."""
    return labels.label(kind, code, current_locale())


def babel_locale() -> Locale:
    """The request's locale as Babel's object (French outside a request)."""
    return Locale.parse(current_locale())


def current_locale() -> str:
    """'fr' or 'en', for code that translates outside Flask-Babel (`callbook.labels`)."""
    if not has_request_context():
        return DEFAULT_LOCALE
    return known_locale(str(get_locale() or DEFAULT_LOCALE))
