"""On-call overrides as the admin forms see them: read a row, show a row, who it replaces.

An override in the document is {start, end, technician, label} with aware
instants. People type a day ("2026-12-24": the whole day) or a wall-clock
moment ("2026-12-24 18:00") in the on-call schedule's time zone.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from ivr.admin.views.forms import FormError, parse_date, parse_local_datetime
from schedules import OnCallSchedule

FIELDS = ("start", "end", "technician", "label")
MAX_HANDOVERS = 400
"""Handovers looked at for one override (about eight years of weekly turns)."""


def _moment(text: str, field: str, zone: ZoneInfo, *, end: bool) -> datetime:
    """A day alone means its whole day: from its midnight, or up to the next one."""
    text = text.strip()
    if not text:
        raise FormError(field, "obligatoire (ex. 2026-12-24 ou 2026-12-24 18:00)")
    if len(text) <= 10 and ":" not in text and "T" not in text:
        day = parse_date(text, field) + timedelta(days=1 if end else 0)
        return datetime.combine(day, time(0), tzinfo=zone)
    return parse_local_datetime(text, field, zone)


def technician_problem(key: str, known: Collection[str]) -> str | None:
    """None for a technician of the directory, else why `key` is refused, in French.

    Technicians are picked by name from a list: another id comes from a page
    older than the directory or from a forged form.
    """
    if key in known:
        return None
    if not key:
        return "Choisissez un technicien dans la liste."
    return f"Technicien inconnu : « {key} ». Choisissez-le dans la liste de l'annuaire."


def override_from_form(
    form: Mapping[str, str], zone: ZoneInfo, known: Collection[str] | None = None
) -> dict[str, Any]:
    """The override typed in `form`; raises FormError naming the field at fault.

    With `known` (the technicians' ids), a technician outside it is refused.
    """
    start = _moment(form.get("start", ""), "start", zone, end=False)
    end = _moment(form.get("end", ""), "end", zone, end=True)
    technician = form.get("technician", "").strip()
    if known is not None and (problem := technician_problem(technician, known)):
        raise FormError("technician", problem)
    return {
        "start": start.isoformat(),
        "end": end.isoformat(),
        "technician": technician,
        "label": form.get("label", "").strip(),
    }


def override_key(item: Mapping[str, Any]) -> tuple[datetime, datetime, str]:
    """What identifies an override in two lists (the draft's and the active one's)."""
    return (_instant(item["start"]), _instant(item["end"]), str(item["technician"]))


def _instant(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


def find_override(items: list[dict[str, Any]], key: tuple[datetime, datetime, str]) -> int | None:
    return next((i for i, item in enumerate(items) if override_key(item) == key), None)


def form_values(form: Mapping[str, str]) -> dict[str, str]:
    """The override form as typed, to show it again next to its errors."""
    return {name: form.get(name, "") for name in FIELDS}


def local_text(value: Any, zone: ZoneInfo) -> str:
    """'2026-12-24 18:00' in `zone`, as the form accepts it back."""
    return _instant(value).astimezone(zone).strftime("%Y-%m-%d %H:%M")


def rota_holders(schedule: OnCallSchedule, start: datetime, end: datetime) -> set[str]:
    """Who the rota (overrides aside) puts on duty at some moment of [start, end).

    Walks from handover to handover in the schedule's zone: the handover
    keeps its wall-clock time across DST changes, as in `Rota.index_at`.
    """
    rota, zone = schedule.rota, schedule.zone
    holders: set[str] = set()
    moment = start.astimezone(zone)
    for _ in range(MAX_HANDOVERS):
        if moment >= end:
            break
        holders.add(rota.members[rota.index_at(moment)])
        moment = _next_handover(schedule, moment.date(), moment)
    return holders


def _next_handover(schedule: OnCallSchedule, day: date, after: datetime) -> datetime:
    rota = schedule.rota
    at = time(rota.handover_minute // 60, rota.handover_minute % 60)
    days = (rota.handover_weekday.index - day.weekday()) % 7
    candidate = datetime.combine(day + timedelta(days=days), at, tzinfo=schedule.zone)
    if candidate <= after:
        candidate = datetime.combine(day + timedelta(days=days + 7), at, tzinfo=schedule.zone)
    return candidate
