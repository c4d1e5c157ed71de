"""Charts of the reports page, drawn on the server as inline SVG (no script, no CDN).

Each function takes plain numbers and returns safe markup; every label is
escaped, and each chart carries a <title> per mark so the figures can be
read on hover and by screen readers.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from babel.dates import format_date
from babel.numbers import format_percent
from flask_babel import gettext, lazy_gettext
from markupsafe import Markup, escape

from ivr.i18n import babel_locale

FAMILY_COLOURS = {
    "incident": "#c0392b",
    "usage": "#2e86c1",
    "account": "#8e44ad",
    "evolution": "#16a085",
    "directory": "#d68910",
    "emergency": "#7b241c",
    "": "#95a5a6",
}
FAMILY_LABELS = {
    "incident": "incident",
    "usage": "utilisation",
    "account": lazy_gettext("licence ou compte"),
    "evolution": lazy_gettext("évolution"),
    "directory": "annuaire",
    "emergency": "urgence",
    "": "sans motif",
}
WEEKDAY_SHORT = (
    lazy_gettext("lun"),
    lazy_gettext("mar"),
    lazy_gettext("mer"),
    lazy_gettext("jeu"),
    lazy_gettext("ven"),
    lazy_gettext("sam"),
    lazy_gettext("dim"),
)
PRINTED_DAYS = 45
"""Up to this many days, each bar carries its value; beyond, they would overlap."""


def _svg(width: int, height: int, label: str, body: list[str]) -> Markup:
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="100%" role="img" aria-label="{escape(label)}" class="chart">'
    )
    return Markup(head + "".join(body) + "</svg>")


def _text(x: float, y: float, text: str, anchor: str = "middle", size: int = 10) -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}">'
        f"{escape(text)}</text>"
    )


def _value(x: float, y: float, text: str, fill: str = "#1d2433") -> str:
    """A figure printed on a chart (the mark's <title> says it on hover too)."""
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="9" font-weight="600" text-anchor="middle" '
        f'fill="{fill}" class="value">{escape(text)}</text>'
    )


def _rect(x: float, y: float, w: float, h: float, fill: str, title: str) -> str:
    return (
        f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" fill="{fill}">'
        f"<title>{escape(title)}</title></rect>"
    )


def stacked_bars(days: list[date], series: dict[str, list[int]]) -> Markup:
    """Calls per day, one colour per motive family, stacked; a legend below."""
    width, height, left, bottom, top = 720, 260, 36, 40, 10
    plot_h = height - bottom - top
    totals = [sum(values[i] for values in series.values()) for i in range(len(days))]
    peak = max(totals, default=0) or 1
    step = (width - left - 10) / max(len(days), 1)
    bar = max(step * 0.8, 1.0)
    body = [_text(left - 4, top + 8, str(peak), "end"), _text(left - 4, top + plot_h, "0", "end")]
    body.append(
        f'<line x1="{left}" y1="{top + plot_h}" x2="{width - 10}" y2="{top + plot_h}" '
        'stroke="#555" stroke-width="1"/>'
    )
    for i, day in enumerate(days):
        x = left + i * step + (step - bar) / 2
        y = top + plot_h
        for family, values in series.items():
            if not values[i]:
                continue
            h = values[i] / peak * plot_h
            y -= h
            label = f"{day:%d/%m} · {FAMILY_LABELS.get(family, family)} : {values[i]}"
            body.append(_rect(x, y, bar, h, FAMILY_COLOURS.get(family, "#7f8c8d"), label))
        if totals[i] and len(days) <= PRINTED_DAYS:
            body.append(_value(x + bar / 2, y - 3, str(totals[i])))
        if len(days) <= 16 or i % max(len(days) // 12, 1) == 0:
            body.append(_text(x + bar / 2, top + plot_h + 12, f"{day:%d/%m}", size=9))
    x = left
    for family in series:
        body.append(_rect(x, height - 14, 10, 10, FAMILY_COLOURS.get(family, "#7f8c8d"), family))
        name = FAMILY_LABELS.get(family, family)
        body.append(_text(x + 14, height - 5, name, "start"))
        x += 24 + 6 * len(name)
    return _svg(width, height, gettext("Appels par jour et par famille de motifs"), body)


def heat_map(grid: list[list[int]]) -> Markup:
    """Calls per local weekday (rows, Monday first) and hour (columns)."""
    cell, left, top = 24, 34, 16
    width, height = left + 24 * cell + 4, top + 7 * cell + 4
    peak = max((v for row in grid for v in row), default=0) or 1
    body = [_text(left + h * cell + cell / 2, top - 4, f"{h}", size=9) for h in range(24)]
    for d, row in enumerate(grid):
        body.append(_text(left - 4, top + d * cell + cell / 2 + 3, WEEKDAY_SHORT[d], "end"))
        for h, value in enumerate(row):
            shade = 0.08 + 0.92 * value / peak if value else 0.0
            fill = f"rgba(46,134,193,{shade:.2f})" if value else "#f4f6f7"
            title = gettext(
                "%(day)s %(hour)s h : %(calls)s appel(s)", day=WEEKDAY_SHORT[d], hour=h, calls=value
            )
            body.append(_rect(left + h * cell, top + d * cell, cell - 2, cell - 2, fill, title))
            if value:
                ink = "#fff" if shade > 0.55 else "#1d2433"
                y = top + d * cell + cell / 2 + 3
                body.append(_value(left + h * cell + cell / 2 - 1, y, str(value), ink))
    return _svg(width, height, gettext("Appels par jour de la semaine et par heure"), body)


def answer_rate(days: list[date], answered: list[int], calls: list[int]) -> Markup:
    """Share of calls answered, per day, as bars from 0 to 100 %; days without calls empty."""
    width, height, left, bottom, top = 720, 180, 36, 24, 10
    plot_h = height - bottom - top
    step = (width - left - 10) / max(len(days), 1)
    bar = max(step * 0.8, 1.0)
    body = [
        _text(left - 4, top + 8, "100 %", "end"),
        _text(left - 4, top + plot_h, "0 %", "end"),
        f'<line x1="{left}" y1="{top + plot_h}" x2="{width - 10}" y2="{top + plot_h}" '
        'stroke="#555" stroke-width="1"/>',
    ]
    for i, day in enumerate(days):
        x = left + i * step + (step - bar) / 2
        if calls[i]:
            rate = answered[i] / calls[i]
            h = rate * plot_h
            title = gettext(
                "%(day)s : %(answered)s/%(calls)s répondus (%(rate)s)",
                day=format_date(day, "dd/MM", locale=babel_locale()),
                answered=answered[i],
                calls=calls[i],
                rate=format_percent(rate, locale=babel_locale()),
            )
            body.append(_rect(x, top + plot_h - h, bar, h, "#27ae60", title))
            if len(days) <= PRINTED_DAYS:
                body.append(
                    _value(x + bar / 2, top + plot_h - h - 3, f"{rate:.0%}".replace("%", " %"))
                )
        if len(days) <= 16 or i % max(len(days) // 12, 1) == 0:
            body.append(_text(x + bar / 2, top + plot_h + 12, f"{day:%d/%m}", size=9))
    return _svg(width, height, gettext("Taux de réponse par jour"), body)


def hbars(label: str, rows: list[tuple[str, int]], colours: Sequence[str] = ("#2e86c1",)) -> Markup:
    """One horizontal bar per row (its label on the left, its value printed after it);
    bars take `colours` in turn."""
    width, left, bar_h, gap = 520, 190, 18, 6
    height = max(len(rows), 1) * (bar_h + gap) + gap
    peak = max((value for _, value in rows), default=0) or 1
    plot_w = width - left - 50
    body = []
    for i, (name, value) in enumerate(rows):
        y = gap + i * (bar_h + gap)
        w = value / peak * plot_w
        shown = name if len(name) <= 30 else name[:29] + "…"
        body.append(_text(left - 6, y + bar_h / 2 + 4, shown, "end", size=12))
        colour = colours[i % len(colours)]
        body.append(_rect(left, y, max(w, 1.0), bar_h, colour, f"{name} : {value}"))
        body.append(
            f'<text x="{left + w + 4:.1f}" y="{y + bar_h / 2 + 4:.1f}" font-size="12" '
            f'font-weight="600" class="value">{value}</text>'
        )
    return _svg(width, height, label, body)
