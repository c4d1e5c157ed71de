"""The reports page shows what the XLSX export holds: per structure, per outcome, deadlines.

Figures are printed on the charts (server-rendered SVG) and in tables next to
them; both are compared with the "Résultats" sheet of the export of the same period.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator
from html import unescape
from typing import Any

import pytest
from flask.testing import FlaskClient

from callbook.reports.exports import RESULTS_SHEET
from schedules import clock
from tests import test_admin_calls
from tests.conftest import paris
from tests.test_callbook_exports import results, section, sheet_rows

Login = Callable[[str], FlaskClient]
PERIOD = test_admin_calls.PERIOD
calls = test_admin_calls.calls  # Christmas week: an emergency, a voicemail, an incident
NAMES = {"auvergne": "La structure Auvergne", "moselle": "La structure Alsace-Moselle"}
ROUTES = {"oncall": "Astreinte", "voicemail": "Messagerie", "hotline": "Hotline nationale"}


@pytest.fixture(autouse=True)
def late_january() -> Iterator[None]:
    """Weeks after Christmas: every ticket of that week is past its deadline."""
    with clock.frozen_at(paris(2027, 1, 20, 10, 0)):
        yield


def block(page: str, anchor: str) -> str:
    found = re.search(rf'<section class="breakdown" id="{anchor}">(.*?)</section>', page, re.S)
    assert found, anchor
    return found.group(1)


def table(html: str) -> dict[str, list[str]]:
    """The rows of the (last) table of `html`: first cell -> the other cells."""
    body = html[html.rindex("<table") :]
    rows = {}
    for row in re.findall(r"<tr>(.*?)</tr>", body, re.S):
        cells = [
            unescape(re.sub(r"<[^>]+>", "", c)).strip()
            for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, re.S)
        ]
        if cells and cells[0]:
            rows[cells[0]] = cells[1:]
    return rows


def printed(svg_html: str) -> dict[str, str]:
    """Bar label -> the value printed after the bar, in a horizontal bar chart."""
    marks = re.findall(
        r"<title>([^<]*) : (\d+)</title></rect><text[^>]*class=\"value\">(\d+)</text>", svg_html
    )
    assert all(title_value == shown for _, title_value, shown in marks)
    return {unescape(name): shown for name, _, shown in marks}


def test_the_page_shows_the_exported_breakdowns_with_values_on_the_charts(
    login_as: Login, calls: dict[str, str]
) -> None:
    viewer = login_as("viewer")
    page = viewer.get(f"/admin/reports?{PERIOD}").get_data(as_text=True)
    xlsx = viewer.get(f"/admin/reports/export?{PERIOD}&format=xlsx")
    sheet = sheet_rows(io.BytesIO(xlsx.data), RESULTS_SHEET)

    structures = block(page, "breakdown-1")
    assert "Appels par structure" in structures
    exported = section(sheet, "Par structure")
    shown = {NAMES.get(k, "sans structure" if k == "(aucune)" else k): [str(v) for v in vals]
             for k, vals in exported.items()}  # fmt: skip
    assert table(structures) == shown
    assert table(structures)["La structure Auvergne"] == ["1", "1"]
    assert printed(structures) == {name: calls for name, (calls, _) in shown.items()}

    outcomes = block(page, "breakdown-2")
    exported = section(sheet, "Par issue")
    shown = {ROUTES.get(k, k): [str(v) for v in vals] for k, vals in exported.items()}
    assert table(outcomes) == shown and set(shown) == set(ROUTES.values())
    assert printed(outcomes) == {name: calls for name, (calls, _) in shown.items()}

    deadlines = block(page, "deadlines")
    figures: dict[str, Any] = results(sheet)
    rows = table(deadlines)
    assert rows["Tickets ouverts"] == [str(figures["Tickets ouverts"])]
    assert rows["Traités dans le délai"] == [str(figures["Tickets traités dans le délai"])]
    assert rows["En dépassement de délai"] == [str(figures["Tickets en dépassement de délai"])]
    assert rows["En cours, dans le délai"] == [str(figures["Tickets en cours dans le délai"])]
    assert figures["Tickets en dépassement de délai"] >= 1  # the Christmas Eve voicemail
    assert printed(deadlines)["En dépassement de délai"] == rows["En dépassement de délai"][0]

    callbacks = table(block(page, "callbacks"))
    assert callbacks["Rappels en retard"] == [str(figures["Rappels en retard"])] == ["1"]

    motives = table(block(page, "motives"))
    assert motives["Urgence sur la plateforme hébergée"] == ["Urgence", "1", "1"]


def test_daily_charts_print_their_values(login_as: Login, calls: dict[str, str]) -> None:
    page = login_as("viewer").get(f"/admin/reports?{PERIOD}").get_data(as_text=True)
    values = re.findall(r'<text[^>]*class="value">([^<]*)</text>', page)
    # Per day (one call on 22, 24 and 25 December), the answer rate of those days
    # (100 % on the 22nd and the 25th, 0 % on the 24th), one call in three heat-map cells.
    assert values.count("100 %") == 2 and values.count("0 %") == 1
    assert page.count('font-weight="600" text-anchor="middle" fill="#1d2433" class="value">1<') >= 3
    assert "https://" not in page.split("<main>")[1]  # nothing drawn from elsewhere
