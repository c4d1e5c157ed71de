"""The application factory."""

from __future__ import annotations

from flask import Flask, jsonify, redirect, request, url_for
from sqlalchemy import make_url
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response as BaseResponse

from callbook import db
from callbook.db.schema import expected_schema_version, schema_version, upgrade_database
from ivr import admin, i18n, inputs, metrics, runtime, voice
from ivr import api as json_api
from ivr.notify import events
from ivr.settings import Settings, get_settings, session_secret


def create_app(settings: Settings | None = None) -> Flask:
    """Build the web service; nothing is created at import time.

    Raises SettingsRefused when a deployment lacks what it must have (see
    `Settings.deployment_problems`): no worker starts on a guessable key.
    """
    settings = settings or get_settings()
    settings.check()
    app = Flask("ivr", instance_path=str(settings.instance_dir.resolve()))
    app.config["IVR_SETTINGS"] = settings
    app.config["SECRET_KEY"] = session_secret(settings)
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024
    app.config["DATABASE_URL"] = settings.effective_database_url
    settings.instance_dir.mkdir(parents=True, exist_ok=True)
    db.init_app(app)
    i18n.init_app(app)  # French by default, English for those who chose it
    events.install(app)  # helpdesk events queued with the changes that cause them
    runtime.init_app(app)
    metrics.init_app(app)  # /metrics; first, so the webhooks' timing covers every hook
    inputs.init_app(app)  # before any view: no NUL character in forms and API calls
    voice.init_app(app, settings)
    json_api.init_app(app)  # the JSON API, /api/v1
    admin.init_app(app)  # the admin web interface, /admin
    if settings.database_url:
        _check_schema(app)
    else:
        _prepare_embedded(app)
    # `ivr serve` forks its workers after this: none may inherit a connection.
    db.database(app).engine.dispose()

    app.register_error_handler(HTTPException, _http_error)

    @app.get("/")
    def root() -> BaseResponse:
        return redirect(url_for("admin.home"))

    @app.get("/healthz")
    def healthz() -> tuple[object, int]:
        return jsonify(status="ok"), 200

    @app.get("/healthz/voice")
    def healthz_voice() -> tuple[object, int]:
        # Always 200: a refused revision or a spooled call book does not take
        # this worker out of service; they are shown here (details in the log).
        config = runtime.active_config(app).status()
        spool = voice.spool_status(app)
        waiting = spool["pending"] or spool["database"] == "down"
        return jsonify(status="degraded" if waiting else "ok", config=config, spool=spool), 200

    return app


def _http_error(exc: HTTPException) -> object:
    """Errors outside a blueprint's own handlers (routing errors, 500s): JSON under
    the API, the webhooks' own answers under /voice, a French page elsewhere."""
    if request.path == json_api.kit.PREFIX or request.path.startswith(json_api.kit.PREFIX + "/"):
        return json_api.http_error(exc)
    if request.path.startswith("/voice/"):
        return exc
    return admin.error_page(exc)


def _prepare_embedded(app: Flask) -> None:
    """The embedded SQLite file: migrate it, and start on the demo configuration."""
    upgrade_database(app.config["DATABASE_URL"])
    with db.session_scope(app) as session:
        demo = runtime.install_demo_if_empty(session)
    if demo is not None:
        app.logger.info("demo configuration installed as revision %s", demo.id)


def _check_schema(app: Flask) -> None:
    """An explicit database is migrated by `ivr db upgrade`; only say when it is behind."""
    shown = make_url(app.config["DATABASE_URL"]).render_as_string(hide_password=True)
    try:
        current = schema_version(db.database(app).engine)
    except SQLAlchemyError as exc:
        app.logger.error("database %s cannot be read: %s", shown, exc)
        return
    expected = expected_schema_version()
    if current != expected:
        app.logger.warning(
            "database %s has schema version %s, this code needs %s: run `ivr db upgrade`",
            shown,
            current or "none (empty database)",
            expected,
        )
