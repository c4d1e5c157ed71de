"""The reports page's breakdowns: what the export's "Résultats" sheet holds, for reading.

Per structure, per outcome (route), per motive family and motive, ticket
deadlines met or overrun and callbacks, with French labels (structures and
motives by their configured names), each breakdown with its chart.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from markupsafe import Markup

from callbook.labels import label
from callbook.reports import Line, Report
from ivr.admin.views import charts
from ivr.config import ConfigDocument

GOOD, BAD, NEUTRAL = "#27ae60", "#c0392b", "#95a5a6"


@dataclass(frozen=True, slots=True)
class Row:
    label: str
    calls: int
    call_motives: int | None = None


@dataclass(frozen=True, slots=True)
class Breakdown:
    title: str
    rows: list[Row]
    chart: Markup


def _structure_name(doc: ConfigDocument, key: str) -> str:
    if not key:
        return "sans structure"
    item = doc.structure(key)
    name = item.name if item is not None else key
    return name[:1].upper() + name[1:]  # as in the export's cells


def _route_name(key: str) -> str:
    return label("route", key) if key else "sans orientation"


def _breakdown(title: str, rows: list[Row]) -> Breakdown:
    chart = charts.hbars(title, [(row.label, row.calls) for row in rows])
    return Breakdown(title, rows, chart)


def _rows(lines: list[Line], name: Callable[[str], str]) -> list[Row]:
    return [Row(name(line.key), line.calls, line.call_motives) for line in lines]


def breakdowns(report: Report, doc: ConfigDocument) -> list[Breakdown]:
    """Calls per structure, per outcome and per motive family, most first."""
    return [
        _breakdown(
            "Appels par structure", _rows(report.by_structure, lambda k: _structure_name(doc, k))
        ),
        _breakdown("Appels par issue", _rows(report.by_route, _route_name)),
        _breakdown(
            "Appels par famille de motifs",
            _rows(report.by_family, lambda k: label("family", k) if k else "sans motif"),
        ),
    ]


def motive_rows(report: Report, doc: ConfigDocument) -> list[tuple[str, str, int, int]]:
    """(motive, family, calls, call-motives) per motive, as the export's "Par motif"."""
    out = []
    for line in report.by_motive:
        motive = doc.motive(line.motive)
        name = motive.title if motive is not None else (line.motive or "sans motif")
        out.append((name, label("family", line.family), line.calls, line.call_motives))
    return out


def deadlines(report: Report) -> Breakdown:
    """The tickets opened in the period: handled within their deadline, overrun, still open."""
    t = report.tickets
    rows = [
        Row("Traités dans le délai", t.within_deadline),
        Row("En dépassement de délai", t.overrun),
        Row("En cours, dans le délai", t.open),
    ]
    chart = charts.hbars(
        "Délais des tickets", [(r.label, r.calls) for r in rows], colours=(GOOD, BAD, NEUTRAL)
    )
    return Breakdown("Délais des tickets", rows, chart)


def callback_rows(report: Report) -> list[Row]:
    c = report.callbacks
    return [
        Row("Rappels demandés", c.asked),
        Row("Rappels effectués", c.made),
        Row("Rappels en retard", c.overdue),
        Row("Rappels à venir", c.waiting),
        Row("Rappels échoués", c.failed),
        Row("Rappels annulés", c.canceled),
    ]
