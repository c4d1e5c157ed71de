"""The call book as files: the "Historique des sollicitations" in CSV or XLSX.

One line per call-motive (a call covering two motives is two lines; a call
with no motive is one line with an empty motive), in the order calls began,
dates and times in local time. The XLSX file adds a "Résultats" sheet with the
figures of `callbook.reports`, and a "Centre d'appels" sheet with those of
`callbook.reports.contact_centre` (`callbook.reports.contact_centre_export`).

Both formats stream: rows are fetched in batches (a server-side cursor on
PostgreSQL) and written as they come (openpyxl's write-only mode keeps the
sheet on disk, not in memory), so a quarter of a large hotline exports in
bounded memory.

With `mask_numbers`, callers' numbers keep only their country code and last
two digits: +33612345678 becomes "+33 ••••••• 78" (see `mask_number`).
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any, Literal
from zoneinfo import ZoneInfo

import phonenumbers
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from callbook.calls.models import Call, CallMotive
from callbook.reports import DEFAULT_TIMEZONE, WEEKDAYS, Line, Report, build_report, in_period
from callbook.reports.contact_centre_export import append_sheet as append_contact_centre

ExportFormat = Literal["csv", "xlsx"]
EXPORT_FORMATS: tuple[ExportFormat, ...] = ("csv", "xlsx")
MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
HISTORY_SHEET = "Historique des sollicitations"
RESULTS_SHEET = "Résultats"
HISTORY_HEADERS = (
    "Date et heure",
    "Appel",
    "Numéro",
    "Structure",
    "Contact",
    "Motif",
    "Famille",
    "Canal",
    "Issue",
    "Aux heures d'ouverture",
    "Répondu par",
    "Durée (s)",
    "Attente (s)",
)
BATCH = 2000
MASK = "•"
FRENCH_WEEKDAYS = ("lun", "mar", "mer", "jeu", "ven", "sam", "dim")

HISTORY_WIDTHS = (20, 36, 16, 14, 24, 14, 12, 11, 11, 10, 14, 9, 11)
HistoryRow = tuple[
    datetime, str, str, str, str, str, str, str, str, str, str, int | None, int | None
]


def mask_number(number: str) -> str:
    """The country code and the last two digits, one dot per hidden digit.

    "+33612345678" -> "+33 ••••••• 78", "+262692123456" -> "+262 ••••••• 56".
    What does not parse as an international number keeps its last two
    digits only ("0612345678" -> "•••••••• 78"); a value without digits
    (an anonymous caller) is hidden whole.
    """
    text = number.strip()
    if not text:
        return ""
    digits = "".join(c for c in text if c.isdigit())
    try:
        parsed = phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException:
        parsed = None
    if parsed is not None and parsed.country_code:
        prefix = str(parsed.country_code)
        national = digits[len(prefix) :] if digits.startswith(prefix) else digits
        return f"+{prefix} {MASK * max(len(national) - 2, 0)} {national[-2:]}"
    if len(digits) < 3:
        return MASK * 3
    return f"{MASK * (len(digits) - 2)} {digits[-2:]}"


def _history_query(start: datetime, end: datetime, structure: str | None) -> Select[Any]:
    return (
        select(
            Call.started_at,
            Call.call_sid,
            Call.from_number,
            Call.structure,
            Call.contact,
            CallMotive.motive,
            CallMotive.family,
            CallMotive.channel,
            Call.route,
            Call.in_hours,
            Call.answered_by,
            Call.duration,
            Call.answered_at,
        )
        .outerjoin(CallMotive, CallMotive.call_id == Call.id)
        .where(*in_period(start, end, structure))
        .order_by(Call.started_at, Call.id, CallMotive.position)
    )


def history_rows(
    session: Session,
    start: datetime,
    end: datetime,
    *,
    structure: str | None = None,
    tz: str | ZoneInfo = DEFAULT_TIMEZONE,
    mask_numbers: bool = False,
    batch: int = BATCH,
) -> Iterator[HistoryRow]:
    """The lines of the history, fetched `batch` rows at a time.

    The first value is the local date and time the call began, without zone
    (as spreadsheets show it); a call without motive has empty motive,
    family and channel.
    """
    zone = tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)
    query = _history_query(start, end, structure).execution_options(yield_per=batch)
    for row in session.execute(query):
        wait = None
        if row.answered_at is not None:
            wait = max(round((row.answered_at - row.started_at).total_seconds()), 0)
        yield (
            row.started_at.astimezone(zone).replace(tzinfo=None, microsecond=0),
            row.call_sid,
            mask_number(row.from_number) if mask_numbers else row.from_number,
            row.structure,
            row.contact,
            row.motive or "",
            row.family or "",
            row.channel or "",
            row.route,
            "" if row.in_hours is None else ("oui" if row.in_hours else "non"),
            row.answered_by,
            row.duration,
            wait,
        )


def write_csv(
    session: Session,
    out: IO[str],
    start: datetime,
    end: datetime,
    *,
    structure: str | None = None,
    tz: str | ZoneInfo = DEFAULT_TIMEZONE,
    mask_numbers: bool = False,
) -> int:
    """Write the history as CSV (UTF-8, comma, a header line); the number of lines written.

    Open `out` with newline="" so the csv module controls line endings.
    """
    writer = csv.writer(out)
    writer.writerow(HISTORY_HEADERS)
    lines = 0
    for row in history_rows(
        session, start, end, structure=structure, tz=tz, mask_numbers=mask_numbers
    ):
        moment, *rest = row
        writer.writerow([moment.isoformat(" "), *("" if v is None else v for v in rest)])
        lines += 1
    return lines


def write_xlsx(
    session: Session,
    out: str | Path | IO[bytes],
    start: datetime,
    end: datetime,
    *,
    structure: str | None = None,
    tz: str | ZoneInfo = DEFAULT_TIMEZONE,
    mask_numbers: bool = False,
    report: Report | None = None,
    now: datetime | None = None,
    service_level_seconds: int = 20,
) -> int:
    """Write the history and the "Résultats" sheet; the number of history lines written.

    `now` is passed to `build_report` (overdue callbacks, overrun tickets).
    """
    book = Workbook(write_only=True)
    history: WriteOnlyWorksheet = book.create_sheet(HISTORY_SHEET)
    history.freeze_panes = "A2"
    for column, width in enumerate(HISTORY_WIDTHS, start=1):
        history.column_dimensions[get_column_letter(column)].width = width
    history.append(_bold(history, HISTORY_HEADERS))
    lines = 0
    for row in history_rows(
        session, start, end, structure=structure, tz=tz, mask_numbers=mask_numbers
    ):
        # Empty text becomes no cell at all: writing cells is most of the time spent.
        history.append([None if value == "" else value for value in row])
        lines += 1
    if report is None:
        report = build_report(session, start, end, structure=structure, tz=tz, now=now)
    results: WriteOnlyWorksheet = book.create_sheet(RESULTS_SHEET)
    for values in results_rows(report):
        results.append(_bold(results, values) if _is_heading(values) else values)
    append_contact_centre(
        book, session, start, end, team=structure, tz=tz, threshold=service_level_seconds
    )
    book.save(out)  # type: ignore[arg-type]  # a path or a binary file: zipfile takes both
    return lines


# -- the "Résultats" sheet --------------------------------------------------------

Cells = tuple[Any, ...]


def results_rows(report: Report) -> list[Cells]:
    """The "Résultats" sheet as rows of cells; headings are tuples of text only."""
    last_day = report.end.astimezone(ZoneInfo(report.timezone)).date()
    first_day = report.start.astimezone(ZoneInfo(report.timezone)).date()
    span = f"du {first_day:%d/%m/%Y} au {_day_before(last_day):%d/%m/%Y} ({report.timezone})"
    rows: list[Cells] = [
        ("Résultats", span),
        ("Structure", report.structure or "toutes"),
        (),
        ("Indicateur", "Valeur"),
        ("Appels", report.calls),
        ("Sollicitations (appel × motif)", report.call_motives),
        ("Appels sans motif", report.without_motive),
        ("Lignes de l'historique", report.history_lines),
        ("Appels répondus", report.answered),
        ("Taux de réponse", _rounded(report.answer_rate, 4)),
        ("Appels hors horaires", report.out_of_hours),
        ("Part hors horaires", _rounded(report.out_of_hours_share, 4)),
        ("Attente moyenne avant réponse (s)", _rounded(report.wait_average, 1)),
        ("Attente avant réponse, 90e centile (s)", _rounded(report.wait_p90, 1)),
        ("Rappels demandés", report.callbacks.asked),
        ("Rappels effectués", report.callbacks.made),
        ("Rappels en retard", report.callbacks.overdue),
        ("Rappels à venir", report.callbacks.waiting),
        ("Rappels échoués", report.callbacks.failed),
        ("Rappels annulés", report.callbacks.canceled),
        ("Tickets ouverts", report.tickets.opened),
        ("Tickets traités dans le délai", report.tickets.within_deadline),
        ("Tickets en dépassement de délai", report.tickets.overrun),
        ("Tickets en cours dans le délai", report.tickets.open),
        (
            "Part des tickets traités dans le délai",
            _rounded(report.tickets.within_deadline_rate, 4),
        ),
    ]
    rows += _breakdown("Par famille de motifs", report.by_family)
    rows += [(), ("Par motif", "Famille", "Appels", "Sollicitations")]
    rows += [(m.motive, m.family, m.calls, m.call_motives) for m in report.by_motive]
    rows += [(), ("Irritants (les 5 motifs les plus sollicités)", "Famille", "Sollicitations")]
    rows += [(m.motive, m.family, m.call_motives) for m in report.top_irritants]
    rows += _breakdown("Par structure", report.by_structure)
    rows += _breakdown("Par issue", report.by_route)
    rows += [(), ("Appels par heure (heure locale)", *FRENCH_WEEKDAYS)]
    rows += [
        (f"{hour:02d} h", *(report.hourly[day][hour] for day in range(len(WEEKDAYS))))
        for hour in range(24)
    ]
    return rows


def _breakdown(title: str, lines: list[Line]) -> list[Cells]:
    return [(), (title, "Appels", "Sollicitations")] + [
        (line.key or "(aucune)", line.calls, line.call_motives) for line in lines
    ]


def _day_before(day: date) -> date:
    return date.fromordinal(day.toordinal() - 1)


def _rounded(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def _is_heading(values: Cells) -> bool:
    return (
        len(values) > 1
        and all(isinstance(v, str) for v in values)
        and values[0]
        not in (
            "Résultats",
            "Structure",
        )
    )


def _bold(sheet: WriteOnlyWorksheet, values: Cells) -> list[WriteOnlyCell]:
    cells = []
    for value in values:
        cell = WriteOnlyCell(sheet, value=value)
        cell.font = Font(bold=True)
        cells.append(cell)
    return cells
