"""Missed calls recovered: an SMS and/or a callback, once per caller and day.

The SMS is a row of the outbox (delivered by the scheduler), keyed by the
caller and the day, so a retried webhook or a second missed call the same day
writes nothing more; the callback is skipped when the caller already has one
asked the same day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from callbook.outbox import OutboxMessage
from callbook.tickets import Callback
from callbook.tickets.opening import schedule_callback

TOPIC = "call.missed"


@dataclass(frozen=True, slots=True)
class Recovery:
    """What to give back to a caller whose call was missed (None: not that)."""

    caller: str
    call_sid: str
    day: str
    """The local date of the missed call (ISO): one recovery per caller and day."""
    day_start: datetime
    sms: str | None = None
    callback_due: datetime | None = None
    answering: str = "hotline"
    agents: tuple[str, ...] = ()


def recover(session: Session, recovery: Recovery, now: datetime) -> list[str]:
    """Write the SMS and callback of `recovery` that this caller did not get today."""
    done: list[str] = []
    if recovery.sms is not None and _sms(session, recovery, now):
        done.append("sms")
    if recovery.callback_due is not None and _callback(session, recovery, now):
        done.append("callback")
    return done


def dedupe_key(caller: str, day: str) -> str:
    return f"{TOPIC}:{caller}:{day}"


def _sms(session: Session, recovery: Recovery, now: datetime) -> bool:
    key = dedupe_key(recovery.caller, recovery.day)
    if session.scalars(select(OutboxMessage.id).where(OutboxMessage.dedupe_key == key)).first():
        return False
    message = OutboxMessage(
        kind="sms",
        topic=TOPIC,
        recipient=recovery.caller,
        dedupe_key=key,
        subject="",
        payload={"body": recovery.sms},
        status="pending",
        attempts=0,
        next_attempt_at=now,
        claimed_by="",
        last_error="",
        created_at=now,
    )
    try:
        with session.begin_nested():
            session.add(message)
    except IntegrityError:  # written meanwhile for the same caller and day
        return False
    return True


def _callback(session: Session, recovery: Recovery, now: datetime) -> bool:
    asked_today = session.scalars(
        select(Callback.id).where(
            Callback.caller_number == recovery.caller,
            Callback.kind == "callback",
            Callback.created_at >= recovery.day_start,
        )
    ).first()
    if asked_today is not None or recovery.callback_due is None:
        return False
    callback = schedule_callback(
        session, None, kind="callback", caller=recovery.caller, answering=recovery.answering,
        agent_numbers=list(recovery.agents), due_at=recovery.callback_due, rank=1,
        call_sid=recovery.call_sid, now=now,
    )  # fmt: skip
    # No second text with the slot: the missed call's SMS (if any) says we call back.
    callback.caller_notified = True
    return True
