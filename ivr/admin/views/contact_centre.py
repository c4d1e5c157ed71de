"""The contact-centre section of the reports page: its figures and the abandons heat map.

The figures are `callbook.reports.contact_centre`, for the period and
structure the reports page shows (a structure is a team), with the hours of
the abandons in the zone of the hotline's calendar.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy.orm import Session

from callbook.reports.contact_centre import ContactCentre, TeamFigures, contact_centre
from ivr.admin.views.wallboard import duration, percent
from ivr.board import team_name
from ivr.config import ConfigDocument

WEEKDAY_SHORT = ("lun", "mar", "mer", "jeu", "ven", "sam", "dim")


def service_level_seconds() -> int:
    """IVR_SERVICE_LEVEL_SECONDS."""
    return int(current_app.config["IVR_SETTINGS"].service_level_seconds)


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    cells: list[str]


def _cells(f: TeamFigures) -> list[str]:
    return [
        str(f.offered),
        f"{f.answered} (dont {f.answered_directly} sans attente)",
        f"{f.abandoned} ({percent(f.abandon_rate)})",
        percent(f.service_level),
        f"{duration(f.wait_average)} / {duration(f.wait_p90)}",
        duration(f.longest_wait),
        str(f.hold),
        f"{f.closing} / {f.max_wait}",
    ]


ROWS = (
    "Appels offerts",
    "Répondus",
    "Abandons (taux)",
    "Niveau de service",
    "Attente avant réponse : moyenne / 90e centile",
    "Attente la plus longue",
    "Rappels proposés en file",
    "Sortis de file : fermeture / attente maximale",
)


def _style(value: int, peak: int) -> str:
    if not value:
        return ""
    shade = 0.1 + 0.8 * value / peak
    text = "; color: #fff" if shade > 0.5 else ""  # readable on the darker cells
    return f"background: rgba(179,38,30,{shade:.2f}){text}"


def heat_rows(grid: list[list[int]]) -> list[tuple[str, list[tuple[int, str]]]]:
    """(weekday, [(abandons, cell style)] per hour): darker for more abandons."""
    peak = max((v for row in grid for v in row), default=0) or 1
    return [
        (WEEKDAY_SHORT[day], [(v, _style(v, peak)) for v in row]) for day, row in enumerate(grid)
    ]


def figures(
    session: Session, doc: ConfigDocument, start: datetime, end: datetime, structure: str | None
) -> ContactCentre:
    zone = ZoneInfo(doc.calendar(doc.hotline.calendar).timezone)
    return contact_centre(
        session, start, end, team=structure, tz=zone, threshold=service_level_seconds()
    )


def section(cc: ContactCentre, doc: ConfigDocument) -> dict[str, Any]:
    """What `admin/_contact_centre.html` shows."""
    columns = [Column(team_name(doc, f.team), _cells(f)) for f in cc.teams]
    if cc.team is None and len(cc.teams) > 1:
        columns.append(Column("Toutes les équipes", _cells(cc.total)))
    return {
        "threshold": cc.threshold,
        "timezone": cc.timezone,
        "rows": ROWS,
        "columns": columns,
        "heat": heat_rows(cc.abandons),
        "abandons": sum(map(sum, cc.abandons)),
    }
