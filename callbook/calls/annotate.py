"""Technicians complete the call book: the motives really discussed, a note.

What the caller chose (keypad or speech) is a fact of the call and is kept:
`set_motives` sets the *technician's* motives. A motive the caller already
chose stays as the caller's row (it is not counted twice); the technician's
rows become exactly the given list. To correct a wrong choice of the caller,
pass `replace_caller=True`: the given list then becomes the call's whole set
of motives, the caller's rows that are not in it are removed.

Every change is kept as an event of the call (who, when, before and after)
and in the audit log, under the same author, whichever way it came (admin
page, JSON API, `ivr callbook`): action "motives" with the motive keys before
and after, action "note" with the texts.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from callbook.calls.models import Call, CallEvent, CallMotive
from callbook.history.audit import record_audit

TECHNICIAN = "technician"


class UnknownCall(LookupError):
    """No call has this CallSid."""


class UnknownMotive(ValueError):
    """Motive keys that the active configuration does not define."""

    def __init__(self, positions: dict[int, str]) -> None:
        self.positions = positions
        """Position in the given list -> unknown key."""
        keys = ", ".join(sorted(set(positions.values())))
        super().__init__(f"unknown motive(s): {keys}")


def get_call(session: Session, call_sid: str) -> Call:
    if any(ord(c) < 32 for c in call_sid):
        # No CallSid holds control characters, and PostgreSQL refuses NUL in text.
        raise UnknownCall(call_sid)
    call = session.scalars(select(Call).where(Call.call_sid == call_sid)).one_or_none()
    if call is None:
        raise UnknownCall(call_sid)
    return call


def set_motives(
    session: Session,
    call_sid: str,
    motives: Sequence[tuple[str, str]],
    *,
    author: str,
    now: datetime,
    known: Collection[str] | None = None,
    replace_caller: bool = False,
) -> Call:
    """Set the technician's motives of a call: a list of (motive key, family).

    `known`, when given, is the set of valid keys (from the active
    configuration): any other key raises UnknownMotive and changes nothing.
    A key given twice counts once. Records a "motives.set" event when the
    motives change; setting the same motives again records nothing.
    """
    if known is not None:
        unknown = {i: key for i, (key, _family) in enumerate(motives) if key not in known}
        if unknown:
            raise UnknownMotive(unknown)
    call = get_call(session, call_sid)
    wanted: dict[str, str] = {}
    for key, family in motives:
        wanted.setdefault(key, family)
    rows = list(call.motives)
    before = [_described(row) for row in rows]
    kept = [
        row
        for row in rows
        if (row.channel != TECHNICIAN and (not replace_caller or row.motive in wanted))
        or (row.channel == TECHNICIAN and row.motive in wanted)
    ]
    for row in rows:
        if row not in kept:
            call.motives.remove(row)  # delete-orphan: the row is deleted
    for row in kept:
        if row.channel == TECHNICIAN and row.family != wanted[row.motive]:
            row.family = wanted[row.motive]
    present = {row.motive for row in kept}
    # New rows go after every position ever used: no clash with the unique
    # (call_id, position) constraint whatever order the flush runs in.
    position = max((row.position for row in rows), default=-1) + 1
    for key, family in wanted.items():
        if key not in present:
            call.motives.append(
                CallMotive(motive=key, family=family, channel=TECHNICIAN, position=position)
            )
            position += 1
    after = [_described(row) for row in sorted(call.motives, key=lambda r: r.position)]
    if after != before:
        _record(session, call, "motives.set", author, now, before, after)
    keys_before, keys_after = [m["motive"] for m in before], [m["motive"] for m in after]
    if keys_after != keys_before:
        record_audit(
            session, author, "call", call.call_sid, "motives", keys_before, keys_after, at=now
        )
    session.flush()
    return call


def set_note(session: Session, call_sid: str, note: str, *, author: str, now: datetime) -> Call:
    """Replace the call's note; a "note.set" event keeps the previous text."""
    call = get_call(session, call_sid)
    before, after = call.note, note.strip()
    if after != before:
        call.note = after
        _record(session, call, "note.set", author, now, before, after)
        record_audit(session, author, "call", call.call_sid, "note", before, after, at=now)
    session.flush()
    return call


def _described(row: CallMotive) -> dict[str, str]:
    return {"motive": row.motive, "family": row.family, "channel": row.channel}


def _record(
    session: Session, call: Call, kind: str, author: str, now: datetime, before: Any, after: Any
) -> None:
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    seq = session.scalar(select(func.max(CallEvent.seq)).where(CallEvent.call_id == call.id))
    session.add(
        CallEvent(
            call_id=call.id,
            seq=(seq or 0) + 1,
            at=now,
            kind=kind,
            data={"author": author, "before": before, "after": after},
        )
    )
    call.updated_at = now
