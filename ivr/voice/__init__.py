"""The Twilio voice webhooks (/voice/*)."""

from __future__ import annotations

from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from ivr.settings import Settings
from ivr.twilio_adapter import init_app as init_twilio


def init_app(app: Flask, settings: Settings) -> None:
    from ivr.voice.outbound import bp as outbound
    from ivr.voice.routes import bp
    from ivr.voice.spool import init_app as init_spool

    init_twilio(app, settings)
    init_spool(app)
    if settings.trust_proxy:
        # Signatures are computed on the URL Twilio called: trust exactly one proxy hop.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_proto=1, x_host=1, x_port=1)  # type: ignore[method-assign]
    app.register_blueprint(bp)
    app.register_blueprint(outbound)


def spool_status(app: Flask) -> dict[str, Any]:
    """Entries waiting in the local spool, and the database as this worker last saw it."""
    from ivr.voice.spool import spool_of

    return spool_of(app).status()
