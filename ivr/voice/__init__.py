"""The Twilio voice webhooks (/voice/*)."""

from __future__ import annotations

from typing import Any

from flask import Flask, Request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from werkzeug.middleware.proxy_fix import ProxyFix

from ivr.settings import Settings
from ivr.twilio_adapter import init_app as init_twilio


class NoSessionForTwilio(SecureCookieSessionInterface):
    """Flask's signed-cookie session (the admin pages), not opened for /voice/*:
    Twilio sends no cookie, and opening one costs every webhook a serializer.
    Those requests get Flask's null session (read-only, never saved)."""

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if request.path.startswith("/voice/"):
            return None  # Flask falls back on make_null_session
        return super().open_session(app, request)


def init_app(app: Flask, settings: Settings) -> None:
    from ivr.voice.outbound import bp as outbound
    from ivr.voice.queue import bp as queue
    from ivr.voice.routes import bp
    from ivr.voice.spool import init_app as init_spool

    init_twilio(app, settings)
    init_spool(app)
    app.session_interface = NoSessionForTwilio()
    if settings.trust_proxy:
        # Signatures are computed on the URL Twilio called: trust exactly one proxy hop.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_proto=1, x_host=1, x_port=1)  # type: ignore[method-assign]
    app.register_blueprint(bp)
    app.register_blueprint(outbound)
    app.register_blueprint(queue)


def spool_status(app: Flask) -> dict[str, Any]:
    """Entries waiting in the local spool, and the database as this worker last saw it."""
    from ivr.voice.spool import spool_of

    return spool_of(app).status()
