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
from flask_babel import gettext
from sqlalchemy.orm import Session

from callbook.i18n import N_
from callbook.reports.contact_centre import ContactCentre, TeamFigures, contact_centre
from ivr.admin.views.wallboard import duration, percent
from ivr.board import team_name
from ivr.config import ConfigDocument

WEEKDAY_SHORT = (N_("lun"), N_("mar"), N_("mer"), N_("jeu"), N_("ven"), N_("sam"), N_("dim"))


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
        gettext(
            "%(answered)s (dont %(direct)s sans attente)",
            answered=f.answered,
            direct=f.answered_directly,
        ),
        f"{f.abandoned} ({percent(f.abandon_rate)})",
        percent(f.service_level),
        f"{duration(f.wait_average)} / {duration(f.wait_p90)}",
        duration(f.longest_wait),
        str(f.hold),
        f"{f.closing} / {f.max_wait}",
    ]


ROWS = (
    N_("Appels offerts"),
    N_("Répondus"),
    N_("Abandons (taux)"),
    N_("Niveau de service"),
    N_("Attente avant réponse : moyenne / 90e centile"),
    N_("Attente la plus longue"),
    N_("Rappels proposés en file"),
    N_("Sortis de file : fermeture / attente maximale"),
)
"""The rows' headers, translated where they are shown (`section`)."""


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
        (gettext(WEEKDAY_SHORT[day]), [(v, _style(v, peak)) for v in row])
        for day, row in enumerate(grid)
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
        columns.append(Column(gettext("Toutes les équipes"), _cells(cc.total)))
    return {
        "threshold": cc.threshold,
        "timezone": cc.timezone,
        "rows": [gettext(row) for row in ROWS],
        "columns": columns,
        "heat": heat_rows(cc.abandons),
        "abandons": sum(map(sum, cc.abandons)),
    }
