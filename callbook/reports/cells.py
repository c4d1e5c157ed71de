"""One value of an export, as a spreadsheet must receive it.

A spreadsheet runs a cell whose text starts with "=", "+", "-" or "@" as a
formula (and tab or carriage return are read past before the sign), so a
caller's name such as `=HYPERLINK("http://…")` would become a link, or a
command, in the manager's spreadsheet. Text that starts with one of these
is never written as is:
- in CSV it is prefixed with an apostrophe, which spreadsheets show and
  never compute (OWASP's advice for CSV injection);
- in XLSX it is written as a text cell (`t="inlineStr"`, never a formula),
  with the "quote prefix" style, so that editing the cell keeps it text.
Phone numbers ("+33612345678") are text of that kind too: the CSV prefixes
them like the rest; in XLSX they are text cells without the style (digits
after a "+" run nothing, and the style on every line costs a fifth of the
writing time).
"""

from __future__ import annotations

from datetime import date, time
from decimal import Decimal
from typing import Any, Literal

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CsvStyle = Literal["excel-fr", "plain"]
CSV_STYLES: tuple[CsvStyle, ...] = ("excel-fr", "plain")
WIDTH_CAP = 60
"""The widest a column gets (in characters): longer text wraps off the page anyway."""


def runs_as_formula(text: str) -> bool:
    """Whether a spreadsheet would compute `text` rather than show it."""
    return text.startswith(FORMULA_STARTS)


def neutralised(text: str) -> str:
    """`text` as a CSV cell a spreadsheet shows and never computes."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def width(longest: int, header: str = "", *, button: bool = False) -> float:
    """The width of a column whose longest value has `longest` characters.

    Two characters of margin, two more for an autofilter's button beside
    the header, capped at `WIDTH_CAP`.
    """
    chars = max(longest, len(header) + (2 if button else 0))
    return float(min(chars + 2, WIDTH_CAP))


def shown_length(value: object) -> int:
    """About how many characters a cell shows: enough to size its column."""
    if value is None:
        return 0
    if isinstance(value, float):
        return len(f"{value:.1f}") + 2  # "42,9 %" or "12,5"
    if isinstance(value, date | time):
        return 10
    return len(str(value))


def csv_number(value: float | Decimal, decimal_comma: bool) -> str:
    """A number as French spreadsheets read it (decimal comma), or with a point."""
    text = str(value)
    return text.replace(".", ",") if decimal_comma else text


def csv_cell(value: Any, decimal_comma: bool) -> Any:
    """`value` as a CSV cell: empty for None, text neutralised, numbers as `csv_number`."""
    if value is None:
        return ""
    if isinstance(value, str):
        return neutralised(value)
    if isinstance(value, float | Decimal):
        return csv_number(value, decimal_comma)
    return value
