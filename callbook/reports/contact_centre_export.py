"""The contact-centre figures as rows of cells: the "Centre d'appels" sheet and its CSV.

One column per team and one for all of them; the abandons per local
weekday and hour below. Rates are fractions (0.25 is 25 %), waits seconds.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from datetime import datetime
from typing import IO, Any
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from sqlalchemy.orm import Session

from callbook.reports.contact_centre import (
    DEFAULT_THRESHOLD,
    ContactCentre,
    TeamFigures,
    contact_centre,
)

SHEET = "Centre d'appels"
DAYS = ("lun", "mar", "mer", "jeu", "ven", "sam", "dim")
Cells = tuple[Any, ...]


def _rounded(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def _indicators(threshold: int) -> list[tuple[str, Callable[[TeamFigures], Any]]]:
    return [
        ("Appels offerts", lambda f: f.offered),
        ("Appels répondus", lambda f: f.answered),
        ("dont répondus sans attente", lambda f: f.answered_directly),
        ("Abandons", lambda f: f.abandoned),
        ("Taux d'abandon", lambda f: _rounded(f.abandon_rate, 4)),
        (f"Niveau de service (répondus en {threshold} s ou moins)",
         lambda f: _rounded(f.service_level, 4)),
        ("Attente moyenne avant réponse (s)", lambda f: _rounded(f.wait_average, 1)),
        ("Attente avant réponse, 90e centile (s)", lambda f: _rounded(f.wait_p90, 1)),
        ("Attente la plus longue (s)", lambda f: f.longest_wait),
        ("Rappels proposés en file (attente virtuelle)", lambda f: f.hold),
        ("Sortis de file à la fermeture", lambda f: f.closing),
        ("Sortis de file après l'attente maximale", lambda f: f.max_wait),
        ("Encore en attente", lambda f: f.waiting),
    ]  # fmt: skip


def rows(cc: ContactCentre) -> list[Cells]:
    """The sheet: the period, one line per indicator, then the abandons heat map."""
    zone = ZoneInfo(cc.timezone)
    first = cc.start.astimezone(zone)
    last = datetime.fromordinal(cc.end.astimezone(zone).toordinal() - 1)
    span = f"du {first:%d/%m/%Y} au {last:%d/%m/%Y} ({cc.timezone})"
    if cc.team is None:  # every team, then all of them
        columns, names = [*cc.teams, cc.total], [*(f.team for f in cc.teams), "toutes"]
    else:
        columns, names = [cc.total], [cc.team]
    out: list[Cells] = [("Centre d'appels", span), (), ("Indicateur", *names)]
    out += [(name, *(value(f) for f in columns)) for name, value in _indicators(cc.threshold)]
    out += [(), ("Abandons par heure (heure locale)", *DAYS)]
    out += [(f"{hour:02d} h", *(cc.abandons[day][hour] for day in range(7))) for hour in range(24)]
    return out


def append_sheet(
    book: Workbook,
    session: Session,
    start: datetime,
    end: datetime,
    *,
    team: str | None = None,
    tz: str | ZoneInfo = "Europe/Paris",
    threshold: int = DEFAULT_THRESHOLD,
) -> None:
    """Add the "Centre d'appels" sheet to a (write-only) workbook."""
    sheet: WriteOnlyWorksheet = book.create_sheet(SHEET)
    figures = contact_centre(session, start, end, team=team, tz=tz, threshold=threshold)
    for values in rows(figures):
        sheet.append(list(values))


def write_csv(out: IO[str], cc: ContactCentre) -> int:
    """The same rows as CSV (UTF-8, comma); the number of rows written. Open `out` with
    newline=""."""
    writer = csv.writer(out)
    lines = rows(cc)
    for values in lines:
        writer.writerow(["" if v is None else v for v in values])
    return len(lines)
