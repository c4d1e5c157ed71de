"""Helpdesk receivers of the service's signed events (IVR_WEBHOOK_RECEIVERS).

Each receiver is a name, a URL and a secret in the Standard Webhooks form
(`whsec_` and base64, as the receiver's own library generates it). The secret
stays in the environment: never in the database, the admin or a log; the
outbox keeps only the receiver's name.
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

EVENT_TYPES = (
    "ticket.created",
    "ticket.updated",
    "ticket.escalated",
    "call.completed",
    "callback.completed",
)
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
MIN_SECRET_BYTES = 24

EventType = Annotated[
    str,
    Field(pattern=r"^(ticket\.(created|updated|escalated)|call\.completed|callback\.completed)$"),
]


class Receiver(BaseModel):
    """One helpdesk endpoint; `events` narrows what it gets (all by default)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$")
    url: str = Field(max_length=500)
    secret: SecretStr
    events: tuple[EventType, ...] = EVENT_TYPES

    @field_validator("url")
    @classmethod
    def _https(cls, url: str) -> str:
        parts = urlsplit(url)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise ValueError("the URL must be an absolute https:// URL")
        if parts.scheme == "http" and parts.hostname not in LOCAL_HOSTS:
            raise ValueError("the URL must use https:// (http:// only for this machine)")
        return url

    @field_validator("secret")
    @classmethod
    def _whsec(cls, secret: SecretStr) -> SecretStr:
        value = secret.get_secret_value()
        if not value.startswith("whsec_"):
            raise ValueError("the secret must be whsec_ followed by base64 (Standard Webhooks)")
        try:
            key = base64.b64decode(value.removeprefix("whsec_"), validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("the secret after whsec_ is not valid base64") from None
        if len(key) < MIN_SECRET_BYTES:
            raise ValueError(f"the secret must hold at least {MIN_SECRET_BYTES} random bytes")
        return secret


def unique_names(receivers: list[Receiver]) -> list[Receiver]:
    names = [r.name for r in receivers]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise ValueError(f"receiver names must be unique: {', '.join(duplicated)}")
    return receivers
