"""Reading a stored call event's values for the sentences of `call_story`.

Event data is stored JSON: every value is read defensively.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from ivr.admin.views.french import moment_label
from ivr.config import ConfigDocument


@dataclass(slots=True)
class Context:
    """What a sentence needs besides its event: names, the zone, the legs of the route."""

    doc: ConfigDocument | None
    zone: ZoneInfo
    legs: list[str] = field(default_factory=list)


Data = Mapping[str, Any]
Teller = Callable[[Data, Context], str]


# -- reading stored values --------------------------------------------------------


def text_of(data: Data, key: str) -> str:
    value = data.get(key)
    return "" if value is None else str(value)


def int_of(data: Data, key: str) -> int | None:
    value = data.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def seconds_of(data: Data, key: str = "duration") -> str:
    seconds = int_of(data, key)
    return "" if seconds is None else f"{seconds} s"


def capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def moment_of(value: str, context: Context) -> str:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    return moment_label(moment, context.zone) if moment.tzinfo else value


def who(target: str, context: Context) -> str:
    """The name of who is rung: the hotline, a referent or a technician."""
    doc = context.doc
    if target == "hotline":
        return doc.hotline.name if doc is not None else "la hotline nationale"
    if doc is not None:
        if (referent := doc.referent(target)) is not None:
            return referent.name
        if (technician := doc.technician(target)) is not None:
            return technician.name
    return target or "?"


def leg_of(data: Data, context: Context) -> str:
    index = int_of(data, "leg")
    if index is None or not 0 <= index < len(context.legs):
        return "le technicien"
    return who(context.legs[index], context)
