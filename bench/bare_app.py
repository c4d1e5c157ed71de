"""The baseline for bench/bench_webhooks.py: a bare Flask endpoint answering constant TwiML.

One POST route, `/voice/<step>`, so the benchmark sends it byte-for-byte the same
requests as the real webhooks (form, signature header and all); it reads
nothing and answers the same constant `<Response><Say>` document every time.
Served by gunicorn exactly like the service: `gunicorn 'bare_app:create_app()'`.
"""

from __future__ import annotations

from flask import Flask, Response

TWIML = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Response><Say language="fr-FR" voice="Polly.Lea">'
    "Bonjour, vous êtes bien à l'assistance nationale."
    "</Say></Response>"
)


def create_app() -> Flask:
    app = Flask("bare_app")

    @app.post("/voice/<step>")
    def constant(step: str) -> Response:
        return Response(TWIML, status=200, mimetype="text/xml")

    return app
