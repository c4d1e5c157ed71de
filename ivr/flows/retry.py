"""When a callback that did not reach its caller is worth trying again.

The dispatcher (`ivr.jobs.callbacks`) and the webhooks of the calls it
places (`ivr.voice.outbound`) both schedule the next attempt by this rule.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from ivr.config import ConfigDocument

if TYPE_CHECKING:
    from callbook.tickets import Callback


def next_attempt(doc: ConfigDocument, callback: Callback, now: datetime) -> datetime | None:
    """The next moment worth trying again: after the spacing, within opening hours."""
    base = now + timedelta(minutes=doc.tickets.callback_spacing_minutes)
    if callback.answering == "oncall":
        if doc.oncall is None:
            return None
        schedule = doc.oncall.schedule
        if schedule.window_at(base) is not None:
            return base
        window = schedule.next_window(base)
        return window[0] if window else None
    structure = doc.structure(callback.answering)
    calendar = doc.calendar(structure.calendar if structure else doc.hotline.calendar)
    return calendar.next_opening(base)
