"""Reading the admin's query strings and form fields, with French messages.

A bad value raises `FormError` naming the field; pages answer 400 with the
message next to the form, never a 5xx.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from flask_babel import gettext

from ivr.admin.views.french import short_date


class FormError(ValueError):
    """A field the user filled in wrongly; `field` is the form field's name."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def parse_date(value: str, field: str) -> date:
    """'2026-12-25' (what <input type=date> sends) or '25/12/2026'."""
    text = value.strip()
    try:
        if "/" in text:
            day, month, year = (int(part) for part in text.split("/"))
            return date(year, month, day)
        return date.fromisoformat(text)
    except ValueError as exc:
        raise FormError(
            field, gettext("« %(value)s » n'est pas une date (ex. 2026-12-25)", value=value)
        ) from exc


def parse_time(value: str, field: str) -> time:
    text = value.strip().replace("h", ":").replace("H", ":")
    try:
        return time.fromisoformat(text if len(text) > 2 else f"{text}:00")
    except ValueError as exc:
        raise FormError(
            field, gettext("« %(value)s » n'est pas une heure (ex. 09:30)", value=value)
        ) from exc


def parse_local_datetime(value: str, field: str, zone: ZoneInfo) -> datetime:
    """'2026-12-25T09:30' (<input type=datetime-local>) or '2026-12-25 09:30', read in `zone`.

    A wall time that happens twice (the autumn DST night) is the first one; one
    that does not exist (the spring night) is read as the offset before the jump.
    """
    text = value.strip().replace(" ", "T", 1)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise FormError(
            field,
            gettext(
                "« %(value)s » n'est pas une date et une heure (ex. 2026-12-25 09:30)", value=value
            ),
        ) from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=zone)


def optional(args: Mapping[str, str], name: str) -> str:
    return (args.get(name) or "").strip()


def date_range(args: Mapping[str, str], default: tuple[date, date]) -> tuple[date, date]:
    """`from` / `to` (both included); `to` before `from` is refused."""
    first = parse_date(args["from"], "from") if optional(args, "from") else default[0]
    last = parse_date(args["to"], "to") if optional(args, "to") else default[1]
    if last < first:
        raise FormError(
            "to",
            gettext(
                "la fin (%(last)s) précède le début (%(first)s)",
                last=short_date(last),
                first=short_date(first),
            ),
        )
    if (last - first).days > 366:
        raise FormError("to", gettext("la période dépasse un an"))
    return first, last
