"""The call book as files: the "Historique des sollicitations" in CSV or XLSX.

One line per call-motive, in the order calls began (`callbook.reports.history`),
with the call's local date and time and the ticket its voicemail went to.
The XLSX file adds a "Résultats" sheet with the figures of `callbook.reports`
(`callbook.reports.workbook`), and a "Centre d'appels" sheet with those of
`callbook.reports.contact_centre` (`callbook.reports.contact_centre_export`).

- XLSX: French labels, real date, time and percentage cells, the header
  frozen, an autofilter on the history, printed landscape one page wide.
- CSV, style "excel-fr" (the default): what a French spreadsheet opens as
  is: semicolons, UTF-8 with a byte order mark, decimal comma, dates as
  dd/mm/yyyy, French labels.
- CSV, style "plain", for scripts: commas, UTF-8 without mark, decimal
  point, ISO dates, and the codes the call book stores (routes, families,
  structure ids, motive keys) rather than labels, so that a script does
  not break when a label is reworded.
Text a spreadsheet would compute is neutralised in every format
(`callbook.reports.cells`).

Both formats stream: rows are fetched in batches and written as they come,
so a quarter of a large hotline exports in bounded memory. With
`mask_numbers`, callers' numbers keep only their country code and last two
digits (`mask_number`). `progress`, if given, is called with the number of
lines written since its last call.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import IO, Literal
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from callbook.calls.models import Call, CallMotive
from callbook.reports import DEFAULT_TIMEZONE, Report, build_report, in_period
from callbook.reports.cells import CSV_STYLES, CsvStyle, csv_cell
from callbook.reports.contact_centre_export import append_sheet as append_contact_centre
from callbook.reports.history import (
    HEADERS,
    HistoryRow,
    Names,
    Wording,
    history_rows,
    longest_values,
    mask_number,
)
from callbook.reports.workbook import (
    FRENCH_WEEKDAYS,
    history_widths,
    new_sheet,
    results_rows,
    write_history,
    write_results,
)

__all__ = [
    "CSV_STYLES",
    "EXPORT_FORMATS",
    "FRENCH_WEEKDAYS",
    "HISTORY_HEADERS",
    "HISTORY_SHEET",
    "MEDIA_TYPES",
    "RESULTS_SHEET",
    "CsvStyle",
    "Names",
    "count_lines",
    "mask_number",
    "write_csv",
    "write_xlsx",
]

ExportFormat = Literal["csv", "xlsx"]
EXPORT_FORMATS: tuple[ExportFormat, ...] = ("csv", "xlsx")
MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
HISTORY_SHEET = "Historique des sollicitations"
RESULTS_SHEET = "Résultats"
HISTORY_HEADERS = HEADERS
PROGRESS_EVERY = 5000
Progress = Callable[[int], None]


def count_lines(
    session: Session, start: datetime, end: datetime, *, structure: str | None = None
) -> int:
    """How many lines the history of the period has (to size a progress bar)."""
    lines = (
        select(func.count())
        .select_from(Call)
        .outerjoin(CallMotive, CallMotive.call_id == Call.id)
        .where(*in_period(start, end, structure))
    )
    return int(session.scalar(lines) or 0)


def _counted(rows: Iterable[HistoryRow], progress: Progress | None) -> Iterator[HistoryRow]:
    if progress is None:
        yield from rows
        return
    pending = 0
    for row in rows:
        yield row
        pending += 1
        if pending == PROGRESS_EVERY:
            progress(pending)
            pending = 0
    if pending:
        progress(pending)


def write_csv(
    session: Session,
    out: IO[str],
    start: datetime,
    end: datetime,
    *,
    structure: str | None = None,
    tz: str | ZoneInfo = DEFAULT_TIMEZONE,
    mask_numbers: bool = False,
    style: CsvStyle = "excel-fr",
    names: Names | None = None,
    progress: Progress | None = None,
) -> int:
    """Write the history as CSV in `style`, a header line first; the number of lines written.

    Open `out` with newline="" so the csv module controls line endings, and
    with UTF-8: the "excel-fr" style writes the byte order mark itself.
    """
    french = style == "excel-fr"
    if french:
        out.write("\ufeff")
    writer = csv.writer(out, delimiter=";" if french else ",")
    writer.writerow(HEADERS)
    wording = Wording.labels(names) if french else Wording.codes()
    day_format = "%d/%m/%Y" if french else "%Y-%m-%d"
    rows = history_rows(
        session, start, end, structure=structure, tz=tz, mask_numbers=mask_numbers, wording=wording
    )
    lines = 0
    for moment, *rest in _counted(rows, progress):
        writer.writerow(
            [
                moment.strftime(day_format),
                moment.strftime("%H:%M:%S"),
                *(csv_cell(value, french) for value in rest),
            ]
        )
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
    names: Names | None = None,
    report: Report | None = None,
    now: datetime | None = None,
    progress: Progress | None = None,
    service_level_seconds: int = 20,
) -> int:
    """Write the history and the "Résultats" sheet; the number of history lines written.

    `now` is passed to `build_report` (overdue callbacks, overrun tickets).
    """
    wording = Wording.labels(names)
    longest = longest_values(
        session, start, end, structure=structure, wording=wording, mask_numbers=mask_numbers
    )
    book = Workbook(write_only=True)
    history = new_sheet(book, HISTORY_SHEET, history_widths(longest))
    rows = history_rows(
        session, start, end, structure=structure, tz=tz, mask_numbers=mask_numbers, wording=wording
    )
    lines = write_history(history, _counted(rows, progress))
    if report is None:
        report = build_report(session, start, end, structure=structure, tz=tz, now=now)
    write_results(book, RESULTS_SHEET, results_rows(report, wording))
    append_contact_centre(
        book,
        session,
        start,
        end,
        team=structure,
        tz=tz,
        threshold=service_level_seconds,
        names=names,
    )
    book.save(out)  # type: ignore[arg-type]  # a path or a binary file: zipfile takes both
    return lines
