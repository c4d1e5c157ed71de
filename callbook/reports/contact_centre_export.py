"""The contact-centre figures as rows of cells: the "Centre d'appels" sheet and its CSV.

One column per team and one for all of them; the abandons per local
weekday and hour below. Rates are fractions (0.25 is 25 %) the sheet shows
as percentages, waits are seconds. Teams are named as the other sheets name
them: the hotline "Assistance nationale" (or its configured name), a
structure by its name (`Names`); the CSV in the "plain" style keeps the
codes. Both formats follow `callbook.reports.exports` (sheet layout, CSV
styles, neutralised text).
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from datetime import datetime
from typing import IO, Any
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from sqlalchemy.orm import Session

from callbook.labels import label
from callbook.reports.cells import CsvStyle, csv_cell
from callbook.reports.contact_centre import (
    DEFAULT_THRESHOLD,
    ContactCentre,
    TeamFigures,
    contact_centre,
)
from callbook.reports.history import Names
from callbook.reports.workbook import FRENCH_WEEKDAYS, Heading, Share, write_results

SHEET = "Centre d'appels"
HOTLINE = "hotline"
DAYS = FRENCH_WEEKDAYS
Cells = tuple[Any, ...]


def _rounded(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def _share(value: float | None) -> Share | None:
    return None if value is None else Share(round(value, 4))


def _indicators(threshold: int) -> list[tuple[str, Callable[[TeamFigures], Any]]]:
    return [
        ("Appels offerts", lambda f: f.offered),
        ("Appels répondus", lambda f: f.answered),
        ("dont répondus sans attente", lambda f: f.answered_directly),
        ("Abandons", lambda f: f.abandoned),
        ("Taux d'abandon", lambda f: _share(f.abandon_rate)),
        (f"Niveau de service (répondus en {threshold} s ou moins)",
         lambda f: _share(f.service_level)),
        ("Attente moyenne avant réponse (s)", lambda f: _rounded(f.wait_average, 1)),
        ("Attente avant réponse, 90e centile (s)", lambda f: _rounded(f.wait_p90, 1)),
        ("Attente la plus longue (s)", lambda f: f.longest_wait),
        ("Rappels proposés en file (attente virtuelle)", lambda f: f.hold),
        ("Sortis de file à la fermeture", lambda f: f.closing),
        ("Sortis de file après l'attente maximale", lambda f: f.max_wait),
        ("Encore en attente", lambda f: f.waiting),
    ]  # fmt: skip


def team_label(team: str, names: Names | None = None) -> str:
    """What the exports call a team: the hotline's name or a structure's name."""
    names = names or Names()
    if team == HOTLINE:
        return names.people.get(HOTLINE) or label("outcome", HOTLINE)
    return names.structures.get(team, team)


def rows(cc: ContactCentre, names: Names | None = None, *, codes: bool = False) -> list[Cells]:
    """The sheet: the period, one line per indicator, then the abandons heat map.

    Headings are `Heading`, rates `Share`; with `codes`, teams are their keys.
    """
    zone = ZoneInfo(cc.timezone)
    first = cc.start.astimezone(zone)
    last = datetime.fromordinal(cc.end.astimezone(zone).toordinal() - 1)
    span = f"du {first:%d/%m/%Y} au {last:%d/%m/%Y} ({cc.timezone})"
    teams = [f.team for f in cc.teams] if cc.team is None else [cc.team]
    named = teams if codes else [team_label(team, names) for team in teams]
    columns = [*cc.teams, cc.total] if cc.team is None else [cc.total]
    if cc.team is None:  # every team, then all of them
        named.append("toutes")
    out: list[Cells] = [Heading(("Centre d'appels", span)), (), Heading(("Indicateur", *named))]
    out += [(name, *(value(f) for f in columns)) for name, value in _indicators(cc.threshold)]
    out += [(), Heading(("Abandons par heure (heure locale)", *DAYS))]
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
    names: Names | None = None,
) -> None:
    """Add the "Centre d'appels" sheet to a (write-only) workbook, laid out as "Résultats".

    Its size does not depend on the period (indicators, then 24 hours), so
    it is printed on a single page.
    """
    figures = contact_centre(session, start, end, team=team, tz=tz, threshold=threshold)
    sheet = write_results(book, SHEET, rows(figures, names))
    sheet.page_setup.fitToHeight = 1


def write_csv(
    out: IO[str], cc: ContactCentre, *, style: CsvStyle = "excel-fr", names: Names | None = None
) -> int:
    """The same rows as CSV in `style` (see `callbook.reports.exports`); the rows written.

    Open `out` with newline="" and UTF-8: the "excel-fr" style writes the
    byte order mark itself.
    """
    french = style == "excel-fr"
    if french:
        out.write("\ufeff")
    writer = csv.writer(out, delimiter=";" if french else ",")
    lines = rows(cc, names, codes=not french)
    for values in lines:
        writer.writerow([csv_cell(value, french) for value in values])
    return len(lines)
