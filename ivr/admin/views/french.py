"""Dates and times written for French readers of the admin pages."""

from __future__ import annotations

from datetime import date, datetime

from ivr.flows.speech import MONTHS, WEEKDAYS


def day_label(day: date) -> str:
    """'vendredi 25 décembre 2026'."""
    first = "1er" if day.day == 1 else str(day.day)
    return f"{WEEKDAYS[day.weekday()]} {first} {MONTHS[day.month - 1]} {day.year}"


def short_day(day: date) -> str:
    """'ven. 25/12'."""
    return f"{WEEKDAYS[day.weekday()][:3]}. {day:%d/%m}"


def moment_label(moment: datetime | None, zone: object | None = None) -> str:
    """'vendredi 25 décembre 2026 à 09:30' in `zone` (default: the moment's own)."""
    if moment is None:
        return "—"
    local = moment.astimezone(zone) if zone is not None else moment  # type: ignore[arg-type]
    return f"{day_label(local.date())} à {local:%H:%M}"


def short_moment(moment: datetime | None, zone: object | None = None) -> str:
    """'25/12/2026 09:30' in `zone`."""
    if moment is None:
        return "—"
    local = moment.astimezone(zone) if zone is not None else moment  # type: ignore[arg-type]
    return f"{local:%d/%m/%Y %H:%M}"
