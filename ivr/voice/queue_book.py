"""What a wait leaves in the call book: the queue entry, the hold callback, a missed call.

The webhooks of `ivr.voice.queue` decide with `ivr.flows.queue` and write
here, on the session of their step (`callbook.queue.waiting`,
`callbook.queue.claims`, `callbook.queue.missed`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta

import phonenumbers
from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from callbook import calls
from callbook.calls.models import Call, CallEvent
from callbook.queue import WAITING, QueueEntry
from callbook.queue import waiting as waits
from callbook.queue.claims import HELD
from callbook.queue.missed import Recovery, recover
from callbook.tickets.opening import schedule_callback
from ivr.config import ConfigDocument
from ivr.flows import queue
from ivr.flows.queue import HoldSink, Waiting
from ivr.flows.speech import spoken_time
from ivr.flows.state import CallState
from ivr.voice.forms import VoiceForm

ERRORS_TO_VOICEMAIL = "max_wait"
"""How a wait Twilio ended itself (queue-full, system-error, error, redirected) is
recorded: like a wait too long, the caller goes on to voicemail."""


def waited_row(session: Session, form: VoiceForm, now: datetime) -> QueueEntry:
    """The row of the caller of `form` (written now if the wait URL never came)."""
    return waits.join(
        session, call_sid=form.call_sid, team=queue.TEAM, caller=form.from_,
        position=form.queue_position, waited=form.queue_time, now=now,
    )  # fmt: skip


def settle(session: Session, doc: ConfigDocument, form: VoiceForm, now: datetime) -> QueueEntry:
    """The Enqueue action: the wait's outcome written from QueueResult, if not yet."""
    row = waited_row(session, form, now)
    result, waited = form.queue_result, form.queue_time
    if row.outcome == WAITING:
        if result == queue.ANSWERED:
            outcome = "bridged"
        elif result == queue.GONE:
            outcome = "abandoned"
        elif result == queue.LEFT:
            # <Leave> answered while its outcome could not be written: the rule again.
            outcome = queue.leaving(doc, now, Waiting(0, waited, 0)) or "max_wait"
        else:
            outcome = ERRORS_TO_VOICEMAIL
        waits.end(session, row, outcome, now, waited or None)
    waits.settle_wait(session, row, waited)
    return row


def hold_sink(session: Session, doc: ConfigDocument, now: datetime, form: VoiceForm) -> HoldSink:
    """Virtual hold: a callback that keeps the caller's place.

    While the hotline is open it is held (`callbook.queue.claims.HELD`) until
    a member is free and the caller is first in line; otherwise it is due at
    the next opening, before the callbacks of that morning (rank 0).
    """

    def sink(state: CallState) -> datetime | None:
        row = waited_row(session, form, now)
        hotline = doc.calendar(doc.hotline.calendar)
        is_open = hotline.is_open(now)
        due = now if is_open else (hotline.next_opening(now) or now)
        callback = schedule_callback(
            session, None, kind="callback", caller=state.caller, answering=queue.TEAM,
            agent_numbers=list(doc.hotline.numbers), due_at=due, rank=0,
            call_sid=state.call_sid, now=now,
        )  # fmt: skip
        callback.caller_notified = True  # told on the phone: no text with the slot
        if is_open:
            callback.status = HELD
        waits.end(session, row, "hold", now, form.queue_time or None)
        row.callback_id = callback.id
        return None if is_open else due

    return sink


def is_french_mobile(number: str) -> bool:
    """06 and 07 numbers of mainland France (+336, +337)."""
    try:
        parsed = phonenumbers.parse(number, "FR")
    except phonenumbers.NumberParseException:
        return False
    kind = phonenumbers.number_type(parsed)
    return parsed.country_code == 33 and kind == phonenumbers.PhoneNumberType.MOBILE


def missed_call(
    session: Session,
    doc: ConfigDocument,
    state: CallState,
    now: datetime,
    started: datetime | None = None,
) -> list[str]:
    """An SMS and/or a callback for a caller we did not answer (configuration:
    `hotline.queue.missed`); once per caller and day; never to a withheld
    number, nor to other than a French mobile unless `any_number`."""
    missed = doc.hotline.queue.missed
    caller = state.caller
    if not (missed.sms or missed.callback) or not caller.startswith("+"):
        return []
    if not missed.any_number and not is_french_mobile(caller):
        return []
    hotline = doc.calendar(doc.hotline.calendar)
    local = now.astimezone(hotline.zone)
    day_start = datetime.combine(local.date(), time(0), hotline.zone)
    sms = None
    if missed.sms:
        when = spoken_time((started or now).astimezone(hotline.zone))
        sms = doc.prompts.say("missed_sms", service=doc.service.name, when=when)
    due = None
    if missed.callback:
        due = hotline.next_opening(now + timedelta(seconds=1))
    recovery = Recovery(
        caller=caller, call_sid=state.call_sid, day=local.date().isoformat(),
        day_start=day_start, sms=sms, callback_due=due, answering=queue.TEAM,
        agents=tuple(doc.hotline.numbers),
    )  # fmt: skip
    return recover(session, recovery, now)


AFTER_RINGING = frozenset({"voicemail.offered", "answered", "whisper.accepted", "call.missed"})
"""Events saying the caller got past the ringing (a line Twilio never ran, when the
caller hung up as it was answered, is no wait: the queue's own row says so)."""


@dataclass(frozen=True, slots=True)
class Unanswered:
    """A call whose caller hung up while our members' phones rang."""

    call_id: int
    state: CallState
    started_at: datetime
    rang: int


def missed_while_ringing(
    db: Connection | Session, doc: ConfigDocument, call_sid: str, now: datetime
) -> Unanswered | None:
    """Whether the caller of `call_sid` hung up while the phones rang during opening
    hours for at least `hotline.queue.missed.ringing_seconds` (read only: no lock)."""
    missed = doc.hotline.queue.missed
    if not (missed.sms or missed.callback):
        return None
    found = db.execute(
        select(Call.id, Call.state, Call.answered_at, Call.started_at).where(
            Call.call_sid == call_sid
        )
    ).first()
    if found is None or found.answered_at is not None or not found.state:
        return None
    state = CallState.model_validate(found.state)
    if state.finished or state.urgent or state.route not in ("hotline", "referent"):
        return None
    if db.execute(select(QueueEntry.id).where(QueueEntry.call_sid == call_sid)).first():
        return None  # the caller waited in the line: the Enqueue action recovers it
    events = db.execute(
        select(CallEvent.seq, CallEvent.at, CallEvent.kind)
        .where(CallEvent.call_id == found.id)
        .order_by(CallEvent.seq)
    ).all()
    dials = [e for e in events if e.kind == "dial"]
    if not dials or any(e.kind in AFTER_RINGING for e in events):
        return None
    results = [e for e in events if e.kind == "dial.result" and e.seq > dials[-1].seq]
    rang = int(((results[0].at if results else now) - dials[0].at).total_seconds())
    hotline = doc.calendar(doc.hotline.calendar)
    if rang < missed.ringing_seconds or not hotline.is_open(dials[0].at):
        return None
    return Unanswered(found.id, state, found.started_at, rang)


def recover_unanswered(
    session: Session, doc: ConfigDocument, call: Unanswered, now: datetime
) -> list[str]:
    """The missed call's SMS and callback (once a day), and an event on the call."""
    recovered = missed_call(session, doc, call.state, now, call.started_at)
    detail = {"rang": call.rang, "recovery": recovered}
    calls.append_event(session, call.call_id, "call.missed", detail, now)
    return recovered
