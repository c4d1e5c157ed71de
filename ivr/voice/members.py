"""Connecting the next caller in line: a free member's leg, placed through Twilio.

When a member becomes free (a call of theirs ended: `/voice/status`, the end
of a member's leg), and every few seconds from the scheduler as a safety net,
the first caller in line gets a free member: claimed in the database
(`callbook.queue.claims.claim_next`), then a call to the member whose TwiML
dials the team's queue (`/voice/queue/agent`). A member whose leg fails or
goes unanswered is released and the next one tried; a caller on virtual hold
first in line gets their callback, due now, to that member (placed by the
callback dispatcher). Outside opening hours, held callbacks become due at the
next opening.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from datetime import timedelta
from urllib.parse import quote

from flask import Flask

from callbook.db import read_connection, session_scope
from callbook.queue import claims
from callbook.queue import waiting as waits
from ivr.call_status import GATEWAY, GatewayFactory
from ivr.config import ConfigDocument
from ivr.flows.queue import TEAM
from ivr.runtime import active_config
from ivr.twilio_adapter import TwilioGateway, TwilioUnavailable
from ivr.voice.busy import numbers_in_use
from ivr.voice.queue_book import missed_while_ringing, recover_unanswered
from schedules import clock

log = logging.getLogger(__name__)


def call_ended(app: Flask, call_sid: str) -> None:
    """After a call's final status: recover it if it was missed while ringing, then
    give the first caller in line the member it may have freed."""
    _, doc = active_config(app).get()
    missed = doc.hotline.queue.missed
    if missed.sms or missed.callback:
        now = clock.now()
        with read_connection(app) as reader:
            unanswered = missed_while_ringing(reader, doc, call_sid, now)
        if unanswered is not None:
            with session_scope(app) as session:
                recover_unanswered(session, doc, unanswered, now)
    connect_waiting(app, quick=True)


STALE_CLAIM = timedelta(minutes=2)
"""A member's leg bridges within seconds of being answered; ringing lasts at most 2 min."""
LOST_WAIT = timedelta(minutes=15)
"""Past the longest wait (the wait URL then answers <Leave>) by this much, a wait never
reported as ended is over."""


def safety_net(app: Flask) -> list[str]:
    """The scheduler's pass: claims and waits whose end was never reported are settled,
    then waiting callers are given free members."""
    try:
        _, doc = active_config(app).get()
    except LookupError:
        return []
    now = clock.now()
    longest = timedelta(minutes=doc.hotline.queue.max_wait_minutes) + LOST_WAIT
    hotline = doc.calendar(doc.hotline.calendar)
    reopen = None if hotline.is_open(now) else hotline.next_opening(now)
    with session_scope(app) as session:
        released = claims.release_stale(session, now, STALE_CLAIM)
        expired = waits.expire(session, now, longest)
        if reopen is not None:  # closed: callers on virtual hold are first at the opening
            claims.wake_held(session, TEAM, reopen, now)
    if released or expired:
        log.warning("queue: %s stale claim(s) released, %s lost wait(s) ended", released, expired)
    return connect_waiting(app)


QUICK = {"timeout": 5.0, "tries": 1}
"""From a webhook, Twilio gets one short try: the scheduler's pass tries again."""


def connect_waiting(app: Flask, *, skip: Collection[str] = (), quick: bool = False) -> list[str]:
    """Give waiting callers free members; the CallSids of the members' legs placed.

    `quick` (from a webhook): each member's leg is asked of Twilio once, briefly.
    """
    try:
        _, doc = active_config(app).get()
    except LookupError:
        return []
    if not doc.hotline.queue.enabled:
        return []
    now = clock.now()
    hotline = doc.calendar(doc.hotline.calendar)
    if not hotline.is_open(now):
        return []  # the scheduler's pass makes held callbacks due at the opening
    with read_connection(app) as reader:
        if not claims.anyone_in_line(reader, TEAM):
            return []
    factory: GatewayFactory = app.extensions.get(GATEWAY, TwilioGateway)
    try:
        gateway = factory(app.config["IVR_SETTINGS"], **(QUICK if quick else {}))
    except TwilioUnavailable as exc:
        log.info("callers wait but members cannot be called: %s", exc)
        return []
    with app.app_context():  # the busy numbers read the app's settings and Twilio
        return _connect(app, doc, gateway, set(skip))


def _connect(app: Flask, doc: ConfigDocument, gateway: TwilioGateway, skip: set[str]) -> list[str]:
    placed: list[str] = []
    max_talk = app.config["IVR_SETTINGS"].max_talk
    numbers = list(doc.hotline.numbers)
    for _ in range(len(numbers) + len(skip) + 1):
        now = clock.now()
        with session_scope(app) as session:
            in_use = numbers_in_use(session, exclude="", now=now)
            claim = claims.claim_next(
                session, TEAM, numbers, max_calls=doc.hotline.max_calls, in_use=in_use,
                skip=skip, now=now, max_talk=max_talk,
            )  # fmt: skip
        if claim is None:
            break
        if claim.callback_id is not None:
            log.info("caller on virtual hold %s called back by %s", claim.call_sid,
                     claim.agent_number)  # fmt: skip
            continue
        member = claim.agent_number
        try:
            sid = gateway.call(
                to=member,
                from_=doc.service.outgoing_caller_id,
                path=f"/voice/queue/agent?team={TEAM}&e={claim.entry_id}",
                status_path=f"/voice/queue/agent-status?e={claim.entry_id}&n={quote(member)}",
                timeout=doc.hotline.ring.timeout,
            )
        except TwilioUnavailable as exc:
            log.warning("member %s not called for %s: %s", member, claim.call_sid, exc)
            with session_scope(app) as session:
                claims.release(session, agent_call_sid="", entry_id=claim.entry_id,
                               member=member, now=clock.now())  # fmt: skip
            skip.add(member)
            continue
        with session_scope(app) as session:
            claims.record_agent_call(session, claim.entry_id, member, sid)
        placed.append(sid)
    return placed
