"""The e-mails each event sends, as outbox rows (`callbook.outbox.NewMessage`).

Each builder decides the recipients and the subject, and keeps plain values
for the template (rendered at delivery by `ivr.notify.mail`); the caller
enqueues them in the transaction of their cause. No builder promises a
delay to a caller: the acknowledgement says what happens next, not when.
Without e-mail (IVR_SMTP_HOST unset) the builders return nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from callbook.labels import label
from callbook.outbox import NewMessage, dedupe_key
from callbook.tickets import Ticket
from ivr.config import ConfigDocument, Family
from ivr.notify.render import render
from ivr.settings import Settings

Facts = list[tuple[str, str]]


def email(
    topic: str,
    event: object,
    recipient: str,
    subject: str,
    template: str,
    values: dict[str, Any],
    *,
    ticket_id: int | None = None,
) -> NewMessage:
    """One e-mail row: unique per topic, event and recipient."""
    payload: dict[str, Any] = {"template": template, "values": {"subject": subject, **values}}
    if ticket_id is not None:
        payload["ticket_id"] = ticket_id
    return NewMessage(
        kind="email",
        topic=topic,
        recipient=recipient,
        dedupe_key=dedupe_key(topic, event, recipient.lower()),
        subject=subject,
        payload=payload,
    )


def preview(message: NewMessage) -> tuple[str, str, str]:
    """(subject, text, html) of an e-mail row, as it would be delivered."""
    text, html = render(str(message.payload["template"]), dict(message.payload["values"]))
    return message.subject, text, html


def when(moment: datetime, zone: ZoneInfo) -> str:
    """ "30/11/2026 à 15:00", in the hotline's zone."""
    return f"{moment.astimezone(zone):%d/%m/%Y à %H:%M}"


def ticket_url(settings: Settings, number: str) -> str:
    base = settings.public_url.rstrip("/")
    return f"{base}/admin/tickets/{number}" if base else ""


def recording_url(settings: Settings, number: str, message_id: int | None) -> str:
    base = settings.public_url.rstrip("/")
    if not base or message_id is None:
        return ""
    return f"{base}/admin/tickets/{number}/recordings/{message_id}"


def _structure_name(doc: ConfigDocument, key: str) -> str:
    structure = doc.structure(key) if key else None
    return structure.name if structure is not None else (key or "non précisée")


def _motive_label(doc: ConfigDocument, key: str) -> str:
    motive = doc.motive(key) if key else None
    if motive is None:
        return key or "non précisé"
    return motive.title[:1].lower() + motive.title[1:]  # "incident technique", no article


def ticket_facts(doc: ConfigDocument, ticket: Ticket) -> Facts:
    caller = ticket.caller_number or "numéro masqué"
    if ticket.contact:
        caller = f"{ticket.contact} ({caller})"
    zone = doc.calendar(doc.hotline.calendar).zone
    return [
        ("Appelant", caller),
        ("Structure", _structure_name(doc, ticket.structure)),
        ("Motif", _motive_label(doc, ticket.motive)),
        ("Priorité", label("priority", "urgent" if ticket.urgent else ticket.priority)),
        ("Déposé le", when(ticket.created_at, zone)),
    ]


def notice_recipients(doc: ConfigDocument, settings: Settings, ticket: Ticket) -> list[str]:
    """The structure's referents for its usage questions, else the hotline's mailbox.

    A usage question of a structure whose referents have no e-mail goes to
    the hotline's mailbox too: no new ticket goes unannounced.
    """
    structure = doc.structure(ticket.structure) if ticket.structure else None
    if structure is not None and ticket.family == Family.usage.value:
        found = [r.email for key in structure.referents if (r := doc.referent(key)) and r.email]
        if found:
            return found
    return [settings.hotline_email] if settings.hotline_email else []


def ticket_opened(
    doc: ConfigDocument, settings: Settings, ticket: Ticket, message_id: int | None = None
) -> list[NewMessage]:
    """The notice of a new ticket to who handles it, and the caller's acknowledgement."""
    if not settings.email_enabled:
        return []
    number = ticket.number
    values = {
        "service": doc.service.name,
        "number": number,
        "urgent": ticket.urgent,
        "facts": ticket_facts(doc, ticket),
        "recording_url": recording_url(settings, number, message_id),
        "ticket_url": ticket_url(settings, number),
        "transcription": "",  # completed at delivery when it came meanwhile
    }
    motive = _motive_label(doc, ticket.motive)
    subject = f"{'[URGENT] ' if ticket.urgent else ''}Nouveau ticket {number} : {motive}"
    rows = [
        email("ticket.created", number, to, subject, "ticket_notice", values, ticket_id=ticket.id)
        for to in notice_recipients(doc, settings, ticket)
    ]
    contact = doc.contact(ticket.caller_number) if ticket.caller_number else None
    if contact is not None and contact.email:
        local = notice_recipients(doc, settings, ticket) != [settings.hotline_email]
        structure = doc.structure(ticket.structure) if ticket.structure else None
        handler = f"vos référents ({structure.name})" if local and structure else doc.hotline.name
        ack = {"service": doc.service.name, "number": number, "name": contact.name,
               "motive": motive, "handler": handler}  # fmt: skip
        subject = f"Votre demande {number} est enregistrée"
        rows.append(email("ticket.ack", number, contact.email, subject, "caller_ack", ack))
    return rows


def deadline_notice(
    doc: ConfigDocument,
    settings: Settings,
    ticket: Ticket,
    recipient: str,
    *,
    overdue: bool,
    left_minutes: int = 0,
) -> list[NewMessage]:
    """The warning before a ticket's deadline, or the notice that it is past."""
    if not settings.email_enabled or not recipient or ticket.deadline_at is None:
        return []
    zone = doc.calendar(doc.hotline.calendar).zone
    hours, minutes = divmod(max(0, left_minutes), 60)
    left = f"{hours} h {minutes:02d}" if hours else f"{minutes} min"
    values = {
        "service": doc.service.name,
        "number": ticket.number,
        "overdue": overdue,
        "deadline": when(ticket.deadline_at, zone),
        "left": left,
        "facts": ticket_facts(doc, ticket),
        "ticket_url": ticket_url(settings, ticket.number),
    }
    if overdue:
        topic, subject = "deadline.overdue", f"Ticket {ticket.number} : échéance dépassée"
    else:
        topic, subject = "deadline.warning", f"Ticket {ticket.number} : échéance proche"
    event = f"{ticket.number}:{ticket.deadline_at.isoformat()}"
    return [email(topic, event, recipient, subject, "deadline", values, ticket_id=ticket.id)]


def oncall_alert(
    doc: ConfigDocument, settings: Settings, ticket: Ticket, recipients: list[str], alert_id: int
) -> list[NewMessage]:
    """The urgent alert by e-mail to the technicians on duty (beside the SMS and the call)."""
    if not settings.email_enabled:
        return []
    values = {
        "service": doc.service.name,
        "number": ticket.number,
        "facts": ticket_facts(doc, ticket),
        "recording_url": recording_url(settings, ticket.number, _first_message(ticket)),
        "ticket_url": ticket_url(settings, ticket.number),
    }
    subject = f"[URGENT] Astreinte : ticket {ticket.number}"
    return [
        email("oncall.alert", alert_id, to, subject, "oncall_alert", values, ticket_id=ticket.id)
        for to in dict.fromkeys(recipients)
        if to
    ]


def _first_message(ticket: Ticket) -> int | None:
    return ticket.messages[0].id if ticket.messages else None


def escalation_emails(
    *,
    service: str,
    number: str,
    structure: str,
    motive: str,
    note: str,
    escalated_by: str,
    referent_email: str,
    national_email: str,
    ticket_link: str = "",
    event: object = "",
) -> list[NewMessage]:
    """A ticket escalated to the national level: the referent's confirmation and the
    national notice (plain values: structure and motive as people read them)."""
    facts: Facts = [("Structure", structure), ("Motif", motive), ("Transmis par", escalated_by)]
    values = {"service": service, "number": number, "structure": structure, "motive": motive,
              "note": note, "escalated_by": escalated_by, "facts": facts,
              "ticket_url": ticket_link}  # fmt: skip
    key = f"{number}:{event}" if event else number
    rows = []
    if referent_email:
        subject = f"Ticket {number} transmis à l'assistance nationale"
        rows.append(email("escalation.confirmation", key, referent_email, subject,
                          "escalation_confirmation", values))  # fmt: skip
    if national_email:
        subject = f"Ticket {number} transmis par {structure} : {motive}"
        rows.append(email("escalation.national", key, national_email, subject,
                          "national_notice", values))  # fmt: skip
    return rows


def ticket_escalated(
    doc: ConfigDocument, settings: Settings, ticket: Ticket, escalated_by: str
) -> list[NewMessage]:
    """A ticket just escalated: the confirmation to the structure's referents (those with
    an e-mail in the directory) and the notice to the national team (IVR_HOTLINE_EMAIL)."""
    if not settings.email_enabled:
        return []
    structure = doc.structure(ticket.structure) if ticket.structure else None
    referents = [doc.referent(key) for key in structure.referents] if structure else []
    addresses = list(dict.fromkeys(r.email for r in referents if r is not None and r.email))
    common = {
        "service": doc.service.name,
        "number": ticket.number,
        "structure": structure.name if structure else _structure_name(doc, ticket.structure),
        "motive": _motive_label(doc, ticket.motive),
        "note": ticket.escalation_note,
        "escalated_by": escalated_by,
        "ticket_link": ticket_url(settings, ticket.number),
        "event": ticket.escalated_at.isoformat() if ticket.escalated_at else "",
    }
    rows = escalation_emails(
        **common,
        referent_email=addresses[0] if addresses else "",
        national_email=settings.hotline_email,
    )
    for address in addresses[1:]:
        rows += escalation_emails(**common, referent_email=address, national_email="")
    return rows
