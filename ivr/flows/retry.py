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


ONCALL_GAP = timedelta(minutes=2)
"""The default gap between two numbers of an urgent alert (IVR_ONCALL_ESCALATION_GAP_MINUTES)."""


def next_attempt(
    doc: ConfigDocument, callback: Callback, now: datetime, *, oncall_gap: timedelta = ONCALL_GAP
) -> datetime | None:
    """The next moment worth trying again: after the spacing, within opening hours.

    An urgent alert goes down the on-call list (the next number at each
    attempt) `oncall_gap` apart: minutes count, a caller is in trouble.
    """
    base = now + timedelta(minutes=doc.tickets.callback_spacing_minutes)
    if callback.answering == "oncall":
        if doc.oncall is None:
            return None
        base = now + oncall_gap
        schedule = doc.oncall.schedule
        if schedule.window_at(base) is not None:
            return base
        window = schedule.next_window(base)
        return window[0] if window else None
    structure = doc.structure(callback.answering)
    calendar = doc.calendar(structure.calendar if structure else doc.hotline.calendar)
    return calendar.next_opening(base)


def max_attempts(doc: ConfigDocument, callback: Callback) -> int:
    """Attempts before giving up: an urgent alert tries every number of its list at least once."""
    if callback.answering == "oncall":
        return max(doc.tickets.callback_attempts, len(callback.agent_numbers))
    return doc.tickets.callback_attempts
