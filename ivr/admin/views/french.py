"""Dates and times written for the readers of the admin pages, by Babel.

The request's locale (French by default, see `ivr.i18n`) chooses the words
and the order; in French the first of the month is written "1er", as French
readers expect and as Babel's patterns do not. What callers hear is not
formatted here: the voice is always French (`ivr.flows.speech`).
"""

from __future__ import annotations

from datetime import date, datetime

from babel.dates import format_date, format_time
from flask_babel import gettext

from ivr.i18n import babel_locale


def _french() -> bool:
    return babel_locale().language == "fr"


def day_label(day: date) -> str:
    """'vendredi 25 décembre 2026', 'mardi 1er décembre 2026' ('Friday, December 25, 2026')."""
    text = format_date(day, "full", locale=babel_locale())
    if day.day == 1 and _french():
        text = text.replace(" 1 ", " 1er ", 1)
    return text


def moment_label(moment: datetime | None, zone: object | None = None) -> str:
    """'vendredi 25 décembre 2026 à 09:30' in `zone` (default: the moment's own)."""
    if moment is None:
        return "—"
    local = moment.astimezone(zone) if zone is not None else moment  # type: ignore[arg-type]
    return gettext("%(day)s à %(time)s", day=day_label(local.date()), time=clock_time(local))


def short_date(day: date) -> str:
    """'25/12/2026' ('12/25/26')."""
    return format_date(day, "short" if not _french() else "dd/MM/y", locale=babel_locale())


def short_moment(moment: datetime | None, zone: object | None = None, seconds: bool = False) -> str:
    """'25/12/2026 09:30' in `zone` ('25/12/2026 09:30:00' with `seconds`)."""
    if moment is None:
        return "—"
    local = moment.astimezone(zone) if zone is not None else moment  # type: ignore[arg-type]
    shown = format_time(
        local, "medium" if seconds else "short", tzinfo=local.tzinfo, locale=babel_locale()
    )
    return f"{short_date(local.date())} {shown}"


def clock_time(moment: datetime, zone: object | None = None) -> str:
    """'09:30' ('9:30 AM') in `zone`."""
    local = moment.astimezone(zone) if zone is not None else moment  # type: ignore[arg-type]
    return format_time(local, "short", tzinfo=local.tzinfo, locale=babel_locale())
