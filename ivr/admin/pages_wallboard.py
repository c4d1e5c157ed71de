"""Tableau mural (/admin/wallboard): the contact centre now, for a wall screen.

The page is rendered whole by the server, then `static/wallboard.js` fetches
/admin/wallboard.json every few seconds and copies its texts into the page
(no inline script: the admin's Content-Security-Policy allows scripts from
the service itself only).
"""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, jsonify, render_template

from callbook.db import get_session
from ivr.admin.auth import READERS, require_role
from ivr.admin.blueprint import bp
from ivr.admin.pagekit import active_or_abort
from ivr.admin.views.wallboard import board_view
from ivr.board import build_board
from schedules import clock


def _view() -> dict[str, Any]:
    now = clock.now()
    session = get_session()
    _, doc = active_or_abort(session)
    settings = current_app.config["IVR_SETTINGS"]
    board = build_board(
        session, doc, now, max_talk=settings.max_talk, threshold=settings.service_level_seconds
    )
    return board_view(board, doc, now)


@bp.get("/wallboard")
@require_role(*READERS)
def wallboard() -> str:
    return render_template("admin/wallboard.html", view=_view())


@bp.get("/wallboard.json")
@require_role(*READERS)
def wallboard_json() -> Response:
    return jsonify(_view())
