"""The sweep: calls open too long, closed with the status Twilio reports.

The call book only knows a call ended when Twilio's final status callback
comes; when it was lost, Twilio's REST API is asked (`ivr.call_status`).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import Flask

from callbook.db import session_scope
from callbook.reports import retention
from ivr.call_status import CallStatuses, status_gateway


def sweep_stale_calls(
    app: Flask, now: datetime, older_than: timedelta = retention.SWEEP_AFTER
) -> int:
    """Close the calls open longer than `older_than` with the status Twilio reports.

    Twilio is asked outside any transaction; a call it says still goes on
    stays open, and one it cannot tell about is closed as "unknown" (see
    `retention.sweep_open_calls`). Returns the number of calls closed.
    """
    with session_scope(app) as session:
        stale = retention.stale_calls(session, now, older_than)
    statuses = CallStatuses(status_gateway(app))
    reported = {sid: status for sid in stale if (status := statuses.status(sid)) is not None}
    with session_scope(app) as session:
        return retention.sweep_open_calls(session, now, older_than, reported=reported)
