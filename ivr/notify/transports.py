"""Delivery channels by message kind, behind one small interface.

A transport turns a claimed outbox row into an `Outgoing` message (in the
claim's transaction, so it may read the book), then sends a batch of them
over one connection (`open`), raising `DeliveryError` for each one that did
not leave. A kind without a transport (or whose transport is off) waits in
the outbox. New kinds (signed helpdesk events) register their own factory.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol

from flask import Flask
from sqlalchemy.orm import Session

from callbook.outbox import OutboxMessage


class DeliveryError(RuntimeError):
    """One message did not leave; `permanent` when trying again cannot help."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


@dataclass(frozen=True, slots=True)
class Outgoing:
    """What a transport sends: a claimed row, read out of its session."""

    id: int
    kind: str
    topic: str
    recipient: str
    subject: str
    payload: dict[str, Any]
    dedupe_key: str
    content: dict[str, str]
    """What `prepare` made of the payload (an e-mail's text and HTML bodies)."""


class Channel(Protocol):
    def send(self, message: Outgoing) -> None:
        """Send one message or raise `DeliveryError`."""


class Transport(Protocol):
    kind: str

    def prepare(self, session: Session, row: OutboxMessage) -> Outgoing:
        """The message to send, built in the claim's transaction."""

    def open(self) -> AbstractContextManager[Channel]:
        """A connection for one batch; raises `DeliveryError` when none can be opened."""


TransportFactory = Callable[[Flask], "Transport | None"]
"""Builds the kind's transport for an app, or None while it is off."""

_REGISTRY: dict[str, TransportFactory] = {}


def register(kind: str, factory: TransportFactory) -> None:
    _REGISTRY[kind] = factory


def registered() -> dict[str, TransportFactory]:
    _load_builtin()
    return dict(_REGISTRY)


def snapshot(row: OutboxMessage, content: dict[str, str] | None = None) -> Outgoing:
    return Outgoing(
        id=row.id,
        kind=row.kind,
        topic=row.topic,
        recipient=row.recipient,
        subject=row.subject,
        payload=dict(row.payload or {}),
        dedupe_key=row.dedupe_key,
        content=content or {},
    )


def _load_builtin() -> None:
    """The e-mail, SMS and event transports register themselves on import."""
    from ivr.notify import event_transport, mail, sms  # noqa: F401
