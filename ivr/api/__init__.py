"""The JSON API (/api/v1): the call book for technicians' tools and reporting.

One module per resource (calls, reports and exports, config, tickets and
callbacks, users, the OpenAPI document), all on the blueprint of
`ivr.api.kit`; `ivr.api.auth` says who may call what, `ivr.api.models`
holds the pydantic bodies and answers.
"""

from __future__ import annotations

from flask import Flask

from ivr.api.kit import bp, http_error

__all__ = ["http_error", "init_app"]


def init_app(app: Flask) -> None:
    # Each resource module adds its routes to `bp` when imported.
    from ivr.api import (  # noqa: F401
        calls,
        config,
        contact_centre,
        openapi,
        reports,
        tickets,
        users,
    )

    app.register_blueprint(bp)
    # Routing errors happen before a blueprint is chosen: `ivr.app` handles
    # them app-wide and gives those under our prefix to `http_error`.
