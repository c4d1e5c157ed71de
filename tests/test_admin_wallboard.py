"""The wallboard page and its JSON, the contact-centre section of the reports, their exports."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openpyxl import load_workbook

from callbook.db import session_scope
from schedules import clock
from tests.conftest import paris
from tests.test_contact_centre import add_wait, seed_march
from tests.test_i18n_admin import english, visible
from tests.test_metrics import ringing_call

Login = Callable[[str], FlaskClient]
NOW = paris(2026, 3, 2, 10, 0)  # a Monday morning: the hotline is open


@pytest.fixture(autouse=True)
def monday_morning() -> Iterator[None]:
    with clock.frozen_at(NOW):
        yield


def seed_today(app: Flask) -> None:
    add_wait(app, "W1", NOW - timedelta(seconds=95), "waiting")
    add_wait(app, "W2", NOW - timedelta(seconds=30), "waiting", team="auvergne")
    add_wait(app, "B1", NOW - timedelta(hours=1), "bridged", 15, answered=True)
    add_wait(app, "A1", NOW - timedelta(minutes=50), "abandoned", 70)
    with session_scope(app) as session:
        session.add(ringing_call("R1", NOW, "+33199002001"))


def test_the_wallboard_shows_the_queue_the_lines_and_today(app: Flask, login_as: Login) -> None:
    seed_today(app)
    client = login_as("viewer")
    page = client.get("/admin/wallboard")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'href="/admin/wallboard"' in html and "Tableau mural" in html  # the nav link
    assert '<span class="wb-value" id="wb-waiting">2</span>' in html
    assert '<span class="wb-value" id="wb-longest">1 min 35 s</span>' in html
    assert "<script" in html and "wallboard.js" in html and "<script>" not in html
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    data = client.get("/admin/wallboard.json").get_json()
    fields = data["fields"]
    assert fields["wb-waiting"] == "2" and fields["wb-busy"] == "1" and fields["wb-free"] == "1"
    assert fields["wb-answered"] == "1" and fields["wb-abandoned"] == "1"
    assert fields["wb-abandon-rate"] == "25 %"  # 1 of 4 offered (B1, A1, W1, W2)
    assert fields["wb-service-level"] == "50 %"  # B1 within 20 s, of B1 and A1 settled
    assert fields["wb-open"] == "Ouvert"
    assert fields["wb-oncall"] == "Chloé Bernard"  # 8 weeks after the rota anchor (Alice)
    assert fields["wb-updated"] == "Mis à jour à 10:00:00"
    assert data["members"] == [
        {"number": "+33199002000", "state": "free", "label": "libre"},
        {"number": "+33199002001", "state": "ringing", "label": "sonne"},
    ]
    assert [t["waiting"] for t in data["teams"]] == ["1", "1"]
    assert data["figures"]["longest_wait"] == 95


def test_the_wallboard_json_needs_a_login(client: FlaskClient) -> None:
    response = client.get("/admin/wallboard.json")
    assert response.status_code == 302 and "/admin/login" in response.headers["Location"]


def test_the_static_script_is_served_locally(client: FlaskClient) -> None:
    response = client.get("/admin/static/wallboard.js")
    assert response.status_code == 200
    assert b"wallboard.json" not in response.data  # the URL comes from the page
    assert b"http" not in response.data.replace(b"HTTP ", b"")


def test_the_reports_page_has_the_contact_centre_section(app: Flask, login_as: Login) -> None:
    seed_march(app)
    viewer = login_as("viewer")
    page = viewer.get("/admin/reports?from=2026-03-01&to=2026-03-31")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    section = html[html.index('id="contact-centre"') :]
    assert "Centre d'appels : attente et abandons" in section
    assert "assistance nationale</th>" in section and "<th>Toutes les équipes</th>" in section
    assert "<td>2 (11 %)</td>" in section  # hotline abandons: 2 of 18 offered
    assert 'title="lun 10 h : 2 abandon(s)">2</td>' in section
    one = viewer.get("/admin/reports?from=2026-03-01&to=2026-03-31&structure=auvergne")
    assert "<td>1 (50 %)</td>" in one.get_data(as_text=True)


def test_the_contact_centre_csv_and_xlsx_sheet(app: Flask, login_as: Login) -> None:
    seed_march(app)
    viewer = login_as("viewer")
    url = "/admin/reports/contact-centre.csv?from=2026-03-01&to=2026-03-31"
    response = viewer.get(url)
    assert response.status_code == 200 and response.mimetype == "text/csv"
    body = response.data.decode("utf-8")
    assert body.startswith("\ufeff")  # excel-fr: the byte order mark, semicolons
    lines = list(csv.reader(io.StringIO(body[1:]), delimiter=";"))
    assert lines[2] == ["Indicateur", "Assistance nationale", "La structure Auvergne", "toutes"]
    assert lines[3] == ["Appels offerts", "18", "2", "20"]
    assert lines[6][0] == "Abandons" and lines[6][1:] == ["2", "1", "3"]
    assert lines[7] == ["Taux d'abandon", "0,1111", "0,5", "0,15"]  # decimal comma
    plain = viewer.get(url + "&csv_style=plain").data.decode("utf-8")
    assert not plain.startswith("\ufeff")
    lines = list(csv.reader(io.StringIO(plain)))
    assert lines[2] == ["Indicateur", "hotline", "auvergne", "toutes"]  # codes, commas
    assert lines[7] == ["Taux d'abandon", "0.1111", "0.5", "0.15"]
    assert viewer.get(url + "&csv_style=tsv").status_code == 400
    assert (
        viewer.get("/admin/reports/contact-centre.csv?from=2026-03-31&to=2026-03-01").status_code
        == 400
    )
    xlsx = login_as("technician").get(
        "/admin/reports/export?from=2026-03-01&to=2026-03-31&format=xlsx"
    )
    sheet = load_workbook(io.BytesIO(xlsx.data), read_only=True)["Centre d'appels"]
    rows = [tuple(row) for row in sheet.iter_rows(values_only=True)]
    assert rows[3] == ("Appels offerts", 18, 2, 20)
    service = next(row for row in rows if row and str(row[0]).startswith("Niveau de service"))
    assert service[0] == "Niveau de service (répondus en 20 s ou moins)"
    assert service[1] == round(6 / 17, 4)
    abandons_at_10 = next(row for row in rows if row and row[0] == "10 h")
    assert abandons_at_10[1] == 2  # Monday
    laid_out = load_workbook(io.BytesIO(xlsx.data))["Centre d'appels"]
    assert laid_out.freeze_panes == "A2"
    assert laid_out.page_setup.orientation == "landscape" and laid_out.page_setup.fitToWidth == 1
    by_name = {row[0].value: row for row in laid_out.iter_rows(min_row=2) if row[0].value}
    assert by_name["Indicateur"][1].value == "Assistance nationale"
    assert by_name["Indicateur"][0].font.bold
    rate, level = by_name["Taux d'abandon"], by_name[service[0]]
    assert [c.number_format for c in rate[1:4]] == ["0.0 %"] * 3
    assert level[1].number_format == "0.0 %" and level[1].value == round(6 / 17, 4)
    assert by_name["Appels offerts"][1].number_format == "General"
    widths = [laid_out.column_dimensions[c].width for c in "ABCD"]
    assert widths[0] >= len("Rappels proposés en file (attente virtuelle)")
    assert all(8 <= w <= 60 for w in widths)


def test_an_english_reader_sees_the_wallboard_and_the_section_in_english(
    app: Flask, login_as: Login
) -> None:
    seed_march(app)
    with session_scope(app) as session:
        session.add(ringing_call("R1", NOW, "+33199002001"))
    reader = english(app, login_as, "viewer")
    html = reader.get("/admin/wallboard").get_data(as_text=True)
    words = visible(html)
    for english_words in ("Wall board", "longest wait", "phones busy", "Queues", "Team"):
        assert english_words in words, english_words
    for french in ("en attente", "postes occupés", "Files d'attente", "Équipe", "Aujourd'hui"):
        assert french not in words, french
    assert 'data-stale="No update for {seconds} s"' in html  # the script's only sentence
    data = reader.get("/admin/wallboard.json").get_json()
    assert data["fields"]["wb-open"] == "Open"
    assert data["fields"]["wb-updated"] == "Updated at 10:00:00"
    assert data["fields"]["wb-threshold"] == "answered in 20 s or less"
    assert [m["label"] for m in data["members"]] == ["free", "ringing"]
    reports = reader.get("/admin/reports?from=2026-03-01&to=2026-03-31").get_data(as_text=True)
    section = visible(reports[reports.index('id="contact-centre"') :])
    assert "Contact centre: waits and abandoned calls" in section
    assert "Calls offered" in section and "All teams" in section and "Mon" in section
    assert "Contact centre as CSV" in section
    assert "Appels offerts" not in section and "Toutes les équipes" not in section
    assert 'title="Mon 10:00: 2 abandoned"' in reports
