"""The XLSX sheets of an export: the history, streamed, and the "Résultats".

Both sheets are written by openpyxl's write-only worksheets: each row goes
to a temporary file as it is appended, so memory does not grow with the
period. What the file format puts before the rows (column widths, the
frozen header, `fitToPage`) is set before the first row; what it puts after
(the autofilter, the page setup) may be set once the rows are known.

Dates and times are real cells (`DATE_FORMAT`, `TIME_FORMAT`: French day
first, 24 h clock), shares are numbers shown as percentages
(`PERCENT_FORMAT`), text a spreadsheet would compute is kept text
(`callbook.reports.cells`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from openpyxl.worksheet.worksheet import Worksheet

from callbook.reports import WEEKDAYS, Line, Report
from callbook.reports.cells import FORMULA_STARTS, shown_length, width
from callbook.reports.history import HEADERS, HistoryRow, Wording

DATE_FORMAT = "DD/MM/YYYY"
TIME_FORMAT = "HH:MM:SS"
PERCENT_FORMAT = "0.0 %"
FRENCH_WEEKDAYS = ("lun", "mar", "mer", "jeu", "ven", "sam", "dim")
BOLD = Font(bold=True)


class Share(float):
    """A fraction the "Résultats" sheet shows as a percentage."""


class Heading(tuple[Any, ...]):
    """A row of the "Résultats" sheet written in bold."""


def new_sheet(book: Workbook, title: str, widths: list[float]) -> WriteOnlyWorksheet:
    """A streamed sheet with its header row frozen, printed landscape one page wide."""
    sheet: WriteOnlyWorksheet = book.create_sheet(title)
    sheet.freeze_panes = "A2"
    for column, size in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(column)].width = size
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = Worksheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0  # as many pages down as it takes
    sheet.print_title_rows = "1:1"  # the header on every printed page
    return sheet


class Cells:
    """Turns values into cells of one sheet, reusing one styled cell per column.

    A write-only sheet writes each row as it is appended, so a cell object
    can carry the next row's value: no new object per date, time or
    protected text, which matters over 300,000 rows.
    """

    def __init__(self, sheet: WriteOnlyWorksheet) -> None:
        self.sheet = sheet
        self.styled: dict[tuple[int, str], WriteOnlyCell] = {}

    def _cell(self, column: int, kind: str) -> WriteOnlyCell:
        cell = self.styled.get((column, kind))
        if cell is None:
            cell = self.styled[(column, kind)] = WriteOnlyCell(self.sheet)
            if kind == "text":
                cell.quotePrefix = True
            else:
                cell.number_format = kind
        return cell

    def text(self, column: int, value: str) -> WriteOnlyCell:
        """A text cell, never a formula nor an error code, kept text when edited."""
        cell = self._cell(column, "text")
        cell.value = value
        cell.data_type = "s"
        return cell

    def formatted(self, column: int, value: Any, number_format: str) -> WriteOnlyCell:
        cell = self._cell(column, number_format)
        cell.value = value
        return cell

    def bold(self, values: Iterable[Any]) -> list[WriteOnlyCell]:
        """A fresh bold cell per value (headers: a handful of rows)."""
        cells = []
        for value in values:
            cell = WriteOnlyCell(self.sheet, value=value)
            cell.font = BOLD
            cells.append(cell)
        return cells

    def value(self, column: int, value: Any) -> Any:
        """What to append for `value`: None for empty text, a cell where a style is needed."""
        if value == "":
            return None
        if isinstance(value, str):
            protect = value.startswith(PROTECTED) and not PHONE_NUMBER.fullmatch(value)
            return self.text(column, value) if protect else value
        if isinstance(value, Share):
            return self.formatted(column, float(value), PERCENT_FORMAT)
        return value


PROTECTED = (*FORMULA_STARTS, "#")
"""Text openpyxl or a spreadsheet would not keep as text: formulas, and error codes."""
PHONE_NUMBER = re.compile(r"\+[0-9]{1,15}")
"""A caller's number (E.164): a text cell already, and nothing a spreadsheet can run.

The history has one on every line: skipping the quote-prefix style for them
saves a styled cell per line (about a fifth of the writing time)."""


def write_history(sheet: WriteOnlyWorksheet, rows: Iterable[HistoryRow]) -> int:
    """The header and one row per line (the local date and time split in two cells)."""
    cells = Cells(sheet)
    sheet.append(cells.bold(HEADERS))
    day = cells.formatted(1, None, DATE_FORMAT)
    hour = cells.formatted(2, None, TIME_FORMAT)
    text = cells.text
    lines = 0
    # `Cells.value` inlined: this loop runs for 13 values of 300,000 lines.
    for moment, *rest in rows:
        day.value = moment.date()
        hour.value = moment.time()
        line: list[Any] = [day, hour]
        append = line.append
        for column, value in enumerate(rest, 3):
            if value.__class__ is not str:
                append(value)
            elif not value:
                append(None)  # no cell at all: writing cells is most of the time spent
            elif value.startswith(PROTECTED) and not PHONE_NUMBER.fullmatch(value):
                append(text(column, value))
            else:
                append(value)
        sheet.append(line)
        lines += 1
    last = get_column_letter(len(HEADERS))
    sheet.auto_filter.ref = f"A1:{last}{lines + 1}"
    return lines


def history_widths(longest: list[int]) -> list[float]:
    return [width(size, header, button=True) for size, header in zip(longest, HEADERS, strict=True)]


def write_results(book: Workbook, title: str, rows: list[tuple[Any, ...]]) -> WriteOnlyWorksheet:
    """The "Résultats" sheet: its widths fitted to `rows` (built by `results_rows`).

    Any sheet of figures laid out the same way (headings `Heading`, shares
    `Share`) is written by it too: the sheet is returned for its page setup.
    """
    columns = max(len(row) for row in rows)
    longest = [0] * columns
    for row in rows:
        for column, value in enumerate(row):
            longest[column] = max(longest[column], shown_length(value))
    sheet = new_sheet(book, title, [width(size) for size in longest])
    cells = Cells(sheet)
    for row in rows:
        if isinstance(row, Heading):
            sheet.append(cells.bold(row))
        else:
            sheet.append([cells.value(column, v) for column, v in enumerate(row, 1)])
    return sheet


# -- the "Résultats" sheet --------------------------------------------------------


def results_rows(report: Report, wording: Wording) -> list[tuple[Any, ...]]:
    """The "Résultats" sheet as rows of values; headings are `Heading`, shares `Share`."""
    zone = ZoneInfo(report.timezone)
    first_day = report.start.astimezone(zone).date()
    last_day = _day_before(report.end.astimezone(zone).date())
    span = f"du {first_day:%d/%m/%Y} au {last_day:%d/%m/%Y} ({report.timezone})"
    structure = wording.structure(report.structure) if report.structure else "toutes"
    rows: list[tuple[Any, ...]] = [
        Heading(("Résultats", span)),
        ("Structure", structure),
        (),
        Heading(("Indicateur", "Valeur")),
        ("Appels", report.calls),
        ("Sollicitations (appel × motif)", report.call_motives),
        ("Appels sans motif", report.without_motive),
        ("Lignes de l'historique", report.history_lines),
        ("Appels répondus", report.answered),
        ("Taux de réponse", _share(report.answer_rate)),
        ("Appels hors horaires", report.out_of_hours),
        ("Part hors horaires", _share(report.out_of_hours_share)),
        ("Attente moyenne avant réponse (s)", _rounded(report.wait_average)),
        ("Attente avant réponse, 90e centile (s)", _rounded(report.wait_p90)),
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
        ("Part des tickets traités dans le délai", _share(report.tickets.within_deadline_rate)),
    ]
    rows += _breakdown("Par famille de motifs", report.by_family, wording.family)
    rows += [(), Heading(("Par motif", "Famille", "Appels", "Sollicitations"))]
    rows += [
        (wording.motive(m.motive), wording.family(m.family), m.calls, m.call_motives)
        for m in report.by_motive
    ]
    irritants = "Irritants (les 5 motifs les plus sollicités)"
    rows += [(), Heading((irritants, "Famille", "Sollicitations"))]
    rows += [
        (wording.motive(m.motive), wording.family(m.family), m.call_motives)
        for m in report.top_irritants
    ]
    rows += _breakdown("Par structure", report.by_structure, wording.structure)
    rows += _breakdown("Par issue", report.by_route, wording.route)
    rows += [(), Heading(("Appels par heure (heure locale)", *FRENCH_WEEKDAYS))]
    rows += [
        (f"{hour:02d} h", *(report.hourly[day][hour] for day in range(len(WEEKDAYS))))
        for hour in range(24)
    ]
    return rows


def _breakdown(title: str, lines: list[Line], words: Any) -> list[tuple[Any, ...]]:
    return [(), Heading((title, "Appels", "Sollicitations"))] + [
        (words(line.key) or "(aucune)", line.calls, line.call_motives) for line in lines
    ]


def _day_before(day: date) -> date:
    return date.fromordinal(day.toordinal() - 1)


def _share(value: float | None) -> Share | None:
    return None if value is None else Share(value)


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 1)
