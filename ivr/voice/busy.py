"""Who is on a line through another of our calls, when a step dials.

A leg within its ring timeout is busy. A leg past it may be a conversation,
or a call whose final status callback was lost: Twilio is asked whether its
call still goes on (a short, single try), and when Twilio cannot tell, the
leg stays busy until the longest conversation assumed (`IVR_MAX_TALK_MINUTES`)
is over. Past that, the book's row no longer makes anyone busy. Twilio is
asked only for the legs holding a number the step would ring. A member
claimed for a caller of the waiting line is busy until their leg ends
(`callbook.queue.claims.agents_on_line`); and while callers wait in the
line, a new caller asking for the hotline waits behind them (`LINE_WAITING`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Container, Sequence
from datetime import datetime

from flask import current_app
from sqlalchemy import Connection
from sqlalchemy.orm import Session

from callbook import calls
from callbook.calls import FINAL_STATUSES, LiveLeg
from callbook.queue.claims import agents_on_line, anyone_in_line
from ivr.call_status import CallStatuses, webhook_statuses
from ivr.flows.queue import LINE_WAITING, TEAM


class NumbersInUse(Container[str]):
    """Numbers on a live leg of another call; legs in doubt asked of Twilio once each."""

    def __init__(
        self,
        legs: Sequence[LiveLeg],
        statuses: CallStatuses,
        agents: Container[str] = (),
        line: Callable[[], bool] = lambda: False,
    ) -> None:
        self._legs = legs
        self._agents = agents
        self._line = line
        self._statuses = statuses
        self._goes_on: dict[str, bool] = {}

    def __contains__(self, number: object) -> bool:
        if number == LINE_WAITING:
            return self._line()  # asked only by a step that would ring the hotline
        if number in self._agents:
            return True
        return any(
            number in leg.numbers and (leg.ringing or self._still_on(leg.call_sid))
            for leg in self._legs
        )

    def _still_on(self, call_sid: str) -> bool:
        if call_sid not in self._goes_on:
            # Unknown (no Twilio, unreachable): busy, within the bounded horizon.
            self._goes_on[call_sid] = self._statuses.status(call_sid) not in FINAL_STATUSES
        return self._goes_on[call_sid]


def numbers_in_use(reader: Connection | Session, *, exclude: str, now: datetime) -> NumbersInUse:
    """The numbers on a line through our calls other than `exclude`, at `now`."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    max_talk = app.config["IVR_SETTINGS"].max_talk
    legs = calls.live_legs(reader, exclude=exclude, now=now, max_talk=max_talk)
    agents = agents_on_line(reader, now, max_talk)
    line = functools.partial(anyone_in_line, reader, TEAM)
    return NumbersInUse(legs, webhook_statuses(app), agents, line)
