"""E-mail over SMTP (the standard library's `smtplib`), one connection per batch.

Settings: IVR_SMTP_HOST (empty: e-mail is off), IVR_SMTP_PORT, IVR_SMTP_TLS
(none, starttls, ssl), IVR_SMTP_USERNAME, IVR_SMTP_PASSWORD, IVR_SMTP_FROM.
A refused recipient or sender (5xx) fails the message at once; anything
else (server down, 4xx, timeout) is tried again later by the outbox.
"""

from __future__ import annotations

import email.policy
import hashlib
import smtplib
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from email.headerregistry import BaseHeader, HeaderRegistry
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from callbook.outbox import OutboxMessage
from callbook.tickets import TicketMessage
from ivr.notify.render import render
from ivr.notify.transports import DeliveryError, Outgoing, register, snapshot
from ivr.settings import Settings

TIMEOUT = 10.0
"""Seconds to connect to the SMTP server, then for each of its answers."""


class _HeaderClasses(HeaderRegistry):
    """The standard header registry, its classes built once per header name.

    The standard one builds a new class for every header it parses, which was
    a quarter of the time spent building an e-mail (bench/bench_outbox.py).
    """

    def __init__(self) -> None:
        super().__init__()
        self._built: dict[str, type[BaseHeader]] = {}

    def __getitem__(self, name: str) -> type[BaseHeader]:
        key = name.lower()
        built = self._built.get(key)
        if built is None:
            built = self._built[key] = super().__getitem__(name)
        return built


POLICY = email.policy.default.clone(header_factory=_HeaderClasses())


def message_id(settings: Settings, message: Outgoing) -> str:
    """One Message-ID per outbox row: a copy sent again after a crash is the same message."""
    domain = settings.smtp_from.rsplit("@", 1)[-1].strip(" >") or "localhost"
    digest = hashlib.sha256(message.dedupe_key.encode("utf-8")).hexdigest()[:16]
    return f"<outbox-{message.id}-{digest}@{domain}>"


def build_email(settings: Settings, message: Outgoing) -> EmailMessage:
    mail = EmailMessage(policy=POLICY)
    mail["Subject"] = message.subject
    mail["From"] = settings.smtp_from
    mail["To"] = message.recipient
    mail["Date"] = formatdate(localtime=False, usegmt=True)
    mail["Message-ID"] = message_id(settings, message)
    mail["Auto-Submitted"] = "auto-generated"
    mail.set_content(message.content.get("text", ""))
    if message.content.get("html"):
        mail.add_alternative(message.content["html"], subtype="html")
    return mail


class SmtpChannel:
    def __init__(self, settings: Settings, smtp: smtplib.SMTP) -> None:
        self.settings = settings
        self.smtp = smtp

    def send(self, message: Outgoing) -> None:
        try:
            mail = build_email(self.settings, message)
        except (ValueError, TypeError) as exc:  # an address or header that cannot be written
            raise DeliveryError(f"message impossible à écrire : {exc}", permanent=True) from exc
        try:
            refused = self.smtp.send_message(mail)
        except smtplib.SMTPRecipientsRefused as exc:
            raise DeliveryError(f"destinataire refusé : {_reasons(exc.recipients)}",
                                permanent=_permanent(exc.recipients)) from exc  # fmt: skip
        except smtplib.SMTPResponseException as exc:
            raise DeliveryError(
                f"refusé par le serveur : {exc.smtp_code} {_text(exc.smtp_error)}",
                permanent=500 <= exc.smtp_code < 600,
            ) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"envoi interrompu : {exc}") from exc
        if refused:
            raise DeliveryError(f"destinataire refusé : {_reasons(refused)}",
                                permanent=_permanent(refused))  # fmt: skip


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _reasons(refused: dict[str, Any]) -> str:
    return "; ".join(f"{who} ({code} {_text(text)})" for who, (code, text) in refused.items())


def _permanent(refused: dict[str, Any]) -> bool:
    return all(500 <= code < 600 for code, _ in refused.values())


class MailTransport:
    kind = "email"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def prepare(self, session: Session, row: OutboxMessage) -> Outgoing:
        """Payload {"template", "values"[, "ticket_id"]}, or ready bodies {"text"[, "html"]}."""
        if "template" not in row.payload:
            content = {"text": str(row.payload.get("text", "")),
                       "html": str(row.payload.get("html", ""))}  # fmt: skip
            return snapshot(row, content)
        values = dict(row.payload.get("values", {}))
        ticket_id = row.payload.get("ticket_id")
        if ticket_id and "transcription" in values and not values["transcription"]:
            values["transcription"] = _transcription(session, int(ticket_id))
        text, html = render(str(row.payload.get("template", "")), values)
        return snapshot(row, {"text": text, "html": html})

    @contextmanager
    def open(self) -> Iterator[SmtpChannel]:
        smtp = self._connect()
        try:
            yield SmtpChannel(self.settings, smtp)
        finally:
            try:
                smtp.quit()
            except (smtplib.SMTPException, OSError):
                smtp.close()

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        try:
            smtp: smtplib.SMTP
            if s.smtp_tls == "ssl":
                context = ssl.create_default_context()
                smtp = smtplib.SMTP_SSL(s.smtp_host, s.smtp_port, timeout=TIMEOUT,
                                        context=context)  # fmt: skip
            else:
                smtp = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=TIMEOUT)
                if s.smtp_tls == "starttls":
                    smtp.starttls(context=ssl.create_default_context())
            if s.smtp_username:
                smtp.login(s.smtp_username, s.smtp_password.get_secret_value())
        except (smtplib.SMTPException, OSError) as exc:  # TimeoutError is an OSError
            raise DeliveryError(f"serveur d'envoi injoignable ({s.smtp_host}:{s.smtp_port}) : "
                                f"{exc}") from exc  # fmt: skip
        return smtp


def _transcription(session: Session, ticket_id: int) -> str:
    """The newest transcription of the ticket's messages, when one came since it was queued."""
    texts = session.scalars(
        select(TicketMessage.transcription)
        .where(TicketMessage.ticket_id == ticket_id, TicketMessage.transcription != "")
        .order_by(TicketMessage.id.desc())
        .limit(1)
    )
    return texts.first() or ""


def mail_transport(app: Flask) -> MailTransport | None:
    settings: Settings = app.config["IVR_SETTINGS"]
    return MailTransport(settings) if settings.email_enabled else None


register("email", mail_transport)
