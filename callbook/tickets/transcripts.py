"""Real-time transcriptions of voicemails, piece by piece, into the ticket's message.

Twilio posts each final piece of a call's transcription on its own, keyed by
(TranscriptionSid, SequenceId), in any order, sometimes twice, before or
after the Record action that opens the ticket. Each piece is kept once
(`transcript_pieces`); the message of the call's voicemail is rebuilt from
all the pieces known so far, in sequence order, whenever a piece arrives
(`record_piece`) and when the message itself is written
(`callbook.tickets.opening`). A missing piece leaves a shorter text, never
an error.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from callbook.calls import CallFacts
from callbook.tickets import TicketHistory, TicketMessage, TranscriptPiece

TEXT_MAX = 5000
"""Characters kept of one piece (a piece is one utterance: a sentence or two)."""


@dataclass(frozen=True, slots=True)
class TranscriptReport:
    """One final piece of a call's real-time transcription."""

    kind: ClassVar[str] = "transcript"
    call: CallFacts
    transcription_sid: str
    sequence_id: int
    text: str


def transcript_of(session: Session, call_sid: str) -> str:
    """The call's transcription so far: each transcription's pieces in sequence order,
    transcriptions in the order they began to arrive."""
    rows = session.execute(
        select(
            TranscriptPiece.id,
            TranscriptPiece.transcription_sid,
            TranscriptPiece.sequence_id,
            TranscriptPiece.text,
        ).where(TranscriptPiece.call_sid == call_sid)
    ).all()
    first_seen: dict[str, int] = {}
    for row_id, sid, _seq, _text in rows:
        first_seen[sid] = min(first_seen.get(sid, row_id), row_id)
    ordered = sorted(rows, key=lambda r: (first_seen[r.transcription_sid], r.sequence_id))
    return " ".join(r.text.strip() for r in ordered if r.text.strip())


def record_piece(session: Session, report: TranscriptReport, now: datetime) -> bool:
    """Keep the piece (once) and rewrite the call's voicemail message; True if it was new."""
    new = _keep(session, report, now)
    if new:
        fill_messages(session, report.call.call_sid, now)
    return new


def _keep(session: Session, report: TranscriptReport, now: datetime) -> bool:
    known = select(TranscriptPiece.id).where(
        TranscriptPiece.transcription_sid == report.transcription_sid,
        TranscriptPiece.sequence_id == report.sequence_id,
    )
    if session.scalar(known) is not None:
        return False  # Twilio sent it again
    piece = TranscriptPiece(
        call_sid=report.call.call_sid,
        transcription_sid=report.transcription_sid,
        sequence_id=report.sequence_id,
        text=report.text[:TEXT_MAX],
        created_at=now,
    )
    try:
        with session.begin_nested():  # the same piece, posted twice at once
            session.add(piece)
    except IntegrityError:
        return False
    return True


def fill_messages(session: Session, call_sid: str, now: datetime) -> None:
    """Give the call's voicemail message(s) the transcription known so far."""
    if not call_sid:
        return
    messages = session.scalars(
        select(TicketMessage).where(TicketMessage.call_sid == call_sid).order_by(TicketMessage.id)
    ).all()
    if not messages:
        return  # the Record action has not come yet: it will fill the message
    text = transcript_of(session, call_sid)
    for message in messages:
        fill_message(session, message, text, now)


def fill_message(session: Session, message: TicketMessage, text: str, now: datetime) -> None:
    """Set `message`'s transcription to `text`; a history line when the first words come."""
    if not text or text == message.transcription:
        return
    first = not message.transcription
    message.transcription = text
    if first and message.ticket_id is not None:
        session.add(
            TicketHistory(
                ticket_id=message.ticket_id,
                at=now,
                actor="twilio",
                action="transcription",
                detail={"recording": message.recording_sid},
            )
        )
