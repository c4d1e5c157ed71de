"""What a voicemail leaves behind: a ticket (or a message on an open one), an
urgent alert to the on-call technician, and the callback the caller asked for.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from callbook import outbox
from callbook.calls.statuses import RecordingReport, TranscriptionReport
from callbook.tickets import PRIORITY_RANK, Ticket
from callbook.tickets import opening as ticketing
from ivr.config import ConfigDocument, Family, Priority
from ivr.flows.routing import oncall_alert
from ivr.flows.state import CallState
from ivr.flows.voicemail import CallbackSink, Recording, VoicemailSink
from ivr.notify import messages
from ivr.settings import Settings
from schedules import Calendar


def complete_message(
    session: Session, report: RecordingReport | TranscriptionReport, now: datetime
) -> None:
    """Recording and transcription callbacks complete the ticket's message."""
    sid = report.call.call_sid
    if isinstance(report, RecordingReport):
        if report.sid:
            ticketing.complete_recording(session, report.sid, report.url, report.duration, sid, now)
    elif report.recording_sid:
        ticketing.add_transcription(session, report.recording_sid, report.text, sid, now)


def priority_of(doc: ConfigDocument, state: CallState) -> Priority:
    motive = doc.motive(state.motive) if state.motive else None
    if state.urgent or (motive is not None and motive.family is Family.emergency):
        return Priority.urgent
    return motive.priority if motive is not None else Priority.normal


def answering_side(doc: ConfigDocument, state: CallState) -> tuple[str, Calendar, list[str]]:
    """(who, calendar, numbers) of the side that should have answered the call."""
    structure = doc.structure(state.structure) if state.structure else None
    motive = doc.motive(state.motive) if state.motive else None
    local = (
        structure is not None
        and structure.support == "phone"
        and motive is not None
        and motive.family is Family.usage
    )
    if local and structure is not None:
        numbers = [n for key in structure.referents if (r := doc.referent(key)) for n in r.numbers]
        if numbers:
            return structure.id, doc.calendar(structure.calendar), numbers
    return "hotline", doc.calendar(doc.hotline.calendar), list(doc.hotline.numbers)


def voicemail_sink(
    session: Session, doc: ConfigDocument, now: datetime, settings: Settings | None = None
) -> VoicemailSink:
    """With `settings`, a new ticket also queues its e-mails (one INSERT, same transaction)."""

    def sink(state: CallState, recording: Recording) -> str | None:
        priority = priority_of(doc, state)
        motive = doc.motive(state.motive) if state.motive else None
        hotline = doc.calendar(doc.hotline.calendar)
        deadline = hotline.add_business_hours(now, doc.tickets.deadline_hours[priority])
        ticket, merged = ticketing.open_or_attach(
            session,
            ticketing.NewVoicemail(
                recording_sid=recording.sid,
                recording_url=recording.url,
                duration=recording.duration,
                call_sid=state.call_sid,
                caller=state.caller,
                contact=state.contact,
                structure=state.structure,
                motive=state.motive,
                family=motive.family.value if motive else "",
                priority=priority.value,
                urgent=state.urgent,
                deadline_at=deadline,
            ),
            merge_since=now - timedelta(hours=doc.tickets.merge_window_hours),
            now=now,
        )
        if settings is not None and not merged and ticket.created_at == now:
            _queue_emails(session, doc, settings, ticket, now)
        alert = oncall_alert(doc, now) if state.urgent else None
        if alert is not None:
            # Urgent voicemails do not wait for the morning: the technician on
            # duty is alerted now (SMS, then a call through the accept path);
            # outside the windows, not during the night but when the next one
            # opens, and then whoever is on duty at that moment.
            numbers = [n for leg in alert.legs for n in leg.numbers]
            ticketing.schedule_callback(
                session, ticket, kind="alert", caller=state.caller, answering="oncall",
                agent_numbers=numbers, due_at=alert.due, rank=0, call_sid=state.call_sid,
                now=now,
            )  # fmt: skip
        return ticket.number

    return sink


def _queue_emails(
    session: Session, doc: ConfigDocument, settings: Settings, ticket: Ticket, now: datetime
) -> None:
    # A ticket created in this transaction: its messages are in memory, no query.
    message_id = ticket.messages[-1].id if ticket.messages else None
    rows = messages.ticket_opened(doc, settings, ticket, message_id)
    if rows:
        outbox.enqueue(session, rows, now)


def callback_sink(session: Session, doc: ConfigDocument, now: datetime) -> CallbackSink:
    def sink(state: CallState) -> datetime | None:
        if not state.caller.startswith("+"):
            return None  # a withheld number cannot be called back
        ticket = ticketing.ticket_by_number(session, state.ticket) if state.ticket else None
        answering, calendar, numbers = answering_side(doc, state)
        due = state.callback_at if state.callback_at and state.callback_at > now else None
        due = due or calendar.next_opening(now)
        if due is None:
            return None
        priority = ticket.priority if ticket is not None else priority_of(doc, state).value
        ticketing.schedule_callback(
            session, ticket, kind="callback", caller=state.caller, answering=answering,
            agent_numbers=numbers, due_at=due, rank=PRIORITY_RANK.get(priority, 2),
            call_sid=state.call_sid, now=now,
        )  # fmt: skip
        return due

    return sink
