"""When the database fails a voice webhook: the retry and the spool, in one place.

Every webhook that writes the call book (a step, a status-type callback) runs
its write through `on_book`: within the webhook's time budget, after the
spool's entries are replayed when due (`ivr.voice.replay`). A connection lost
since its last use is retried once (`once_more_if_lost`); with the database
down or locked (`database_outage`), the webhook goes to the local spool
(`ivr.voice.spool`) and the next ones skip the database for a cool-down.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import TypeVar

from flask import Response, current_app, request
from sqlalchemy.exc import (
    DBAPIError,
    InterfaceError,
    OperationalError,
    SQLAlchemyError,
    StatementError,
)

from callbook.db import time_budget
from ivr.runtime import NoActiveConfig
from ivr.voice.replay import replay_if_due
from ivr.voice.spool import spool_of

log = logging.getLogger(__name__)

T = TypeVar("T")


def on_book(
    sid: str,
    write: Callable[[], Response],
    refused: Callable[[], Response],
    errors: tuple[type[Exception], ...],
) -> Response | None:
    """`write()` on the call book; None when the webhook of call `sid` is for the spool.

    It is for the spool while the database is in its cool-down or the call
    has entries waiting there (so its events reach the book in order), and
    when `write()` finds the database down or locked (the cool-down starts).
    Any other failure among `errors` is this request's own: `refused()`,
    called where the error is caught, answers it.
    """
    spool = spool_of()
    with database_budget():
        replay_if_due(current_app._get_current_object())  # type: ignore[attr-defined]
        if spool.bypass(sid):
            return None
        try:
            return once_more_if_lost(sid, write)
        except errors as exc:
            if not database_outage(exc):
                return refused()
            log.warning("database unavailable on %s for %s: %s", request.path, sid, exc)
            spool.mark_down()
            return None


def database_budget() -> AbstractContextManager[None]:
    """The voice webhook's time budget for the database (`IVR_VOICE_DB_BUDGET_SECONDS`)."""
    return time_budget(current_app.config["IVR_SETTINGS"].voice_db_budget_seconds)


def once_more_if_lost(sid: str, write: Callable[[], T]) -> T:
    """`write()`, run once more when its pooled connection broke since its last use.

    The database restarted: the statement fails with `connection_invalidated`,
    the pool has dropped that connection and every older one, and the second
    run gets a new one. Whatever the first run may have committed is found
    again (request keys, idempotent callbacks), so nothing is written twice.
    """
    try:
        return write()
    except DBAPIError as exc:
        if not exc.connection_invalidated:
            raise
        log.warning("connection lost on %s for %s; trying again", request.path, sid)
        return write()


def database_outage(exc: BaseException) -> bool:
    """True when `exc` says the database is unreachable or locked, not that a value was bad.

    A value the database refuses (too long, a constraint) is a defect of this
    request alone: the next calls must not go to the spool because of it.
    """
    if isinstance(exc, NoActiveConfig):  # the first load of this worker failed
        return database_outage(exc.__cause__) if exc.__cause__ is not None else False
    if isinstance(exc, DBAPIError):
        return exc.connection_invalidated or isinstance(exc, OperationalError | InterfaceError)
    return isinstance(exc, SQLAlchemyError) and not isinstance(exc, StatementError)
