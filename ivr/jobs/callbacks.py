"""The dispatcher: place due callbacks and urgent alerts through Twilio's REST API.

It claims each due row with a conditional UPDATE (so two dispatchers never
dial the same caller twice), respects an outbound rate, and turns every
failure into a retry within opening hours, then a flagged ticket.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import phonenumbers
from flask import Flask
from sqlalchemy.orm import Session

from callbook import outbox
from callbook.db import session_scope
from callbook.tickets import CLOSED_STATUSES, Ticket, dispatch
from callbook.tickets.opening import add_history
from ivr.config import ConfigDocument
from ivr.flows.retry import max_attempts, next_attempt
from ivr.flows.routing import oncall_legs
from ivr.flows.speech import spoken_when
from ivr.notify import messages
from ivr.runtime import active_config
from ivr.settings import Settings
from ivr.twilio_adapter import TwilioGateway, TwilioUnavailable
from schedules import clock

log = logging.getLogger("ivr.callbacks")  # a stable name for log filters

STALE_CLAIM = timedelta(minutes=5)
LOST_OUTCOME = timedelta(minutes=30)
RUNNING = frozenset({"queued", "ringing", "in-progress"})  # Twilio call statuses


@dataclass(frozen=True)
class _Attempt:
    """What one attempt needs once its row is "dialing": read before the REST request."""

    kind: str
    number: int
    """Attempts made before this one."""
    caller: str
    agents: list[str]
    ticket: tuple[str, str] | None
    """(number, motive) of the callback's ticket."""


@dataclass
class DispatchReport:
    due: int = 0
    claimed: int = 0
    placed: int = 0
    failed: int = 0
    expired: int = 0
    canceled: int = 0


def is_mobile(number: str) -> bool:
    try:
        parsed = phonenumbers.parse(number, "FR")
    except phonenumbers.NumberParseException:
        return False
    kind = phonenumbers.number_type(parsed)
    return kind in (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    )


class Dispatcher:
    def __init__(
        self,
        app: Flask,
        *,
        gateway: Callable[[Settings], TwilioGateway] = TwilioGateway,
        worker: str | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.app = app
        self.settings: Settings = app.config["IVR_SETTINGS"]
        self._gateway = gateway
        self.worker = worker or f"{socket.gethostname()}:{os.getpid()}"
        self._sleep = sleep
        self._said_off = False
        self.oncall_gap = timedelta(minutes=self.settings.oncall_escalation_gap_minutes)

    def run_once(self, limit: int = 500) -> DispatchReport:
        report = DispatchReport()
        now = clock.now()
        _, doc = active_config(self.app).get()
        self._settle_stale(doc, now)
        with session_scope(self.app) as session:
            ids = dispatch.due_ids(session, now, limit)
            notify = [c.id for c in dispatch.to_notify(session)] if doc.tickets.sms else []
        report.due = len(ids)
        if not ids and not notify:
            return report
        try:
            gateway = self._gateway(self.settings)
        except TwilioUnavailable as exc:
            if not self._said_off:
                log.warning("%s callback(s) due but %s", len(ids), exc)
                self._said_off = True
            return report
        for callback_id in notify:
            self._tell_caller(doc, gateway, callback_id)
        interval = 1.0 / self.settings.outbound_rate if self.settings.outbound_rate > 0 else 0.0
        for number, callback_id in enumerate(ids):
            with session_scope(self.app) as session:
                if not dispatch.claim(session, callback_id, self.worker, clock.now()):
                    continue
            report.claimed += 1
            if number and interval:
                self._sleep(interval)
            outcome = self._place(doc, gateway, callback_id)
            setattr(report, outcome, getattr(report, outcome) + 1)
        return report

    def _settle_stale(self, doc: ConfigDocument, now: datetime) -> None:
        """Re-queue claims of stopped dispatchers; retry attempts whose outcome never came."""
        with session_scope(self.app) as session:
            released = dispatch.release_stale(session, now, STALE_CLAIM)
            if released:
                log.warning("%s callback claim(s) left by a stopped dispatcher re-queued", released)
            lost = dispatch.stale_dialing(session, now, LOST_OUTCOME)
            stale = [(c.id, c.outbound_sid) for c in lost]
        running = self._still_running(stale)  # asked of Twilio, outside any transaction
        with session_scope(self.app) as session:
            for callback_id, sid in stale:
                if callback_id in running:
                    dispatch.still_running(session, callback_id, sid, now)
                    continue
                callback = dispatch.get(session, callback_id)
                if callback is None or (callback.status, callback.outbound_sid) != ("dialing", sid):
                    continue  # settled meanwhile by a webhook
                dispatch.attempt_failed(
                    session, callback, "no outcome received",
                    next_due=next_attempt(doc, callback, now, oncall_gap=self.oncall_gap),
                    max_attempts=max_attempts(doc, callback), now=now,
                )  # fmt: skip

    def _still_running(self, stale: list[tuple[int, str]]) -> set[int]:
        """The stale attempts whose call Twilio says still goes on (a long conversation).

        An attempt without a CallSid, or whose status cannot be read, is not
        known to run: it is retried, as before.
        """
        known = [(callback_id, sid) for callback_id, sid in stale if sid]
        if not known:
            return set()
        try:
            gateway = self._gateway(self.settings)
        except TwilioUnavailable:
            return set()
        running = set()
        for callback_id, sid in known:
            try:
                if gateway.call_status(sid) in RUNNING:
                    running.add(callback_id)
            except TwilioUnavailable as exc:
                log.warning("callback %s: status of %s unknown: %s", callback_id, sid, exc)
        return running

    def _start(self, doc: ConfigDocument, callback_id: int, now: datetime) -> _Attempt | str:
        """The attempt of a claimed callback, committed "dialing"; else why not (an outcome)."""
        grace = timedelta(hours=self.settings.callback_grace_hours)
        with session_scope(self.app) as session:
            callback = dispatch.get(session, callback_id)
            if callback is None or callback.status != "claimed":
                return "failed"  # changed by hand since the claim (cancelled, rescheduled)
            ticket = session.get(Ticket, callback.ticket_id) if callback.ticket_id else None
            if ticket is not None and ticket.status in CLOSED_STATUSES:
                # Closed since the claim without cancelling it (straight in the database).
                dispatch.cancel(
                    session, callback, actor="dispatcher", now=now, ticket_status=ticket.status
                )
                log.info("callback %s not placed: ticket %s is closed", callback_id, ticket.number)
                return "canceled"
            if callback.due_at < now - grace:
                dispatch.attempt_failed(
                    session, callback, f"expired: due {callback.due_at.isoformat()}",
                    next_due=None, max_attempts=0, now=now,
                )  # fmt: skip
                log.warning("callback %s expired (due %s): flagged", callback.id, callback.due_at)
                return "expired"
            agents = list(callback.agent_numbers) or list(doc.hotline.numbers)
            if callback.kind == "alert":
                # Whoever is on duty now: an override published since the
                # alert was scheduled (for the window's start) is followed.
                agents = [n for leg in oncall_legs(doc, now) for n in leg.numbers] or agents
            attempt = _Attempt(
                kind=callback.kind,
                number=callback.attempts,
                caller=callback.caller_number,
                agents=agents,
                ticket=(ticket.number, ticket.motive) if ticket is not None else None,
            )
            # Committed before the request: a dispatcher killed from here on
            # leaves a "dialing" row, which no restart dials again. It starts
            # nothing if the callback was cancelled or its ticket closed meanwhile.
            if not dispatch.start_dialing(session, callback, now):
                return "canceled"
            if attempt.kind == "alert" and attempt.number == 0 and ticket is not None:
                self._alert_email(session, doc, ticket, agents, callback.id, now)
        return attempt

    def _alert_email(
        self,
        session: Session,
        doc: ConfigDocument,
        ticket: Ticket,
        agents: list[str],
        alert_id: int,
        now: datetime,
    ) -> None:
        """The alert by e-mail to the technicians on duty, with the attempt that starts it."""
        on_duty = [t.email for t in doc.technicians
                   if t.email and t.active and set(t.numbers) & set(agents)]  # fmt: skip
        rows = messages.oncall_alert(doc, self.settings, ticket, on_duty, alert_id)
        if rows:
            outbox.enqueue(session, rows, now)

    def _place(self, doc: ConfigDocument, gateway: TwilioGateway, callback_id: int) -> str:
        """Dial one claimed callback. The REST request runs outside any transaction."""
        attempt = self._start(doc, callback_id, clock.now())
        if isinstance(attempt, str):
            return attempt
        attempts, agents = attempt.number, attempt.agents
        if attempt.kind == "alert" and attempts == 0:
            self._alert_sms(doc, gateway, callback_id, agents, attempt.caller, attempt.ticket)
        try:
            sid = gateway.call(
                to=agents[attempts % len(agents)],
                from_=doc.service.outgoing_caller_id,
                path=f"/voice/outbound/agent?cb={callback_id}",
                # The attempt number lets the status webhook adopt this call
                # even when its CallSid never reached the row (see outbound.status).
                status_path=f"/voice/outbound/status?cb={callback_id}&n={attempts + 1}",
                timeout=doc.tickets.callback_ring_seconds,
            )
        except TwilioUnavailable as exc:
            log.warning("callback %s: %s", callback_id, exc)
            error: str | None = str(exc)
            permanent = exc.permanent
        else:
            error, permanent = None, False
        with session_scope(self.app) as session:
            if error is None:
                dispatch.record_sid(session, callback_id, attempts + 1, sid, clock.now())
                return "placed"
            callback = dispatch.get(session, callback_id)
            if callback is None:
                return "failed"
            # A refused request (an invalid number) would be refused again: give up now.
            next_due = (
                None if permanent
                else next_attempt(doc, callback, clock.now(), oncall_gap=self.oncall_gap)
            )  # fmt: skip
            dispatch.attempt_failed(
                session, callback, error, next_due=next_due,
                max_attempts=max_attempts(doc, callback), now=clock.now(),
            )  # fmt: skip
        return "failed"

    def _tell_caller(self, doc: ConfigDocument, gateway: TwilioGateway, callback_id: int) -> None:
        """One SMS to a mobile caller with the ticket number and the callback slot."""
        with session_scope(self.app) as session:
            callback = dispatch.get(session, callback_id)
            if callback is None or callback.caller_notified:
                return
            callback.caller_notified = True  # whatever happens next: one text at most
            ticket = session.get(Ticket, callback.ticket_id) if callback.ticket_id else None
            number, due = callback.caller_number, callback.due_at
            ticket_number = ticket.number if ticket is not None else "-"
        if not is_mobile(number):
            return
        zone = doc.calendar(doc.hotline.calendar).zone
        body = doc.prompts.say(
            "callback_sms",
            ticket=ticket_number,
            when=spoken_when(due.astimezone(zone), clock.now()),
        )
        try:
            gateway.sms(to=number, from_=doc.service.outgoing_caller_id, body=body)
        except TwilioUnavailable as exc:
            log.warning("callback %s: SMS to the caller failed: %s", callback_id, exc)

    def _alert_sms(
        self,
        doc: ConfigDocument,
        gateway: TwilioGateway,
        callback_id: int,
        agents: list[str],
        caller: str,
        ticket_info: tuple[str, str] | None,
    ) -> None:
        """One SMS to the technician on duty, when SMS is configured."""
        if not doc.tickets.sms:
            return
        motive = doc.motive(ticket_info[1]) if ticket_info and ticket_info[1] else None
        body = doc.prompts.say(
            "alert_sms",
            ticket=ticket_info[0] if ticket_info else "-",
            caller=caller,
            motive=motive.label if motive else "un motif non précisé",
        )
        for tech in doc.technicians:
            if not (tech.sms and tech.active and set(tech.numbers) & set(agents)):
                continue
            try:
                gateway.sms(to=tech.sms, from_=doc.service.outgoing_caller_id, body=body)
            except TwilioUnavailable as exc:
                log.warning("alert SMS to %s failed: %s", tech.id, exc)
                continue
            with session_scope(self.app) as session:
                callback = dispatch.get(session, callback_id)
                ticket = (
                    session.get(Ticket, callback.ticket_id)
                    if callback and callback.ticket_id
                    else None
                )
                if ticket is not None:
                    add_history(
                        session, ticket, "dispatcher", "alert.sms", {"to": tech.id}, clock.now()
                    )
            return
