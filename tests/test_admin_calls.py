"""The call book pages: search, a call's timeline and annotations, reports, exports."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openpyxl import load_workbook
from sqlalchemy import select

from callbook.calls.models import Call
from callbook.db import session_scope
from callbook.history.audit import AuditEntry
from callbook.reports.exports import RESULTS_SHEET
from schedules import clock
from tests.admin_data import phone
from tests.conftest import paris
from tests.test_callbook_exports import results, sheet_rows

Login = Callable[[str], FlaskClient]
PERIOD = "from=2026-12-21&to=2026-12-27"


@pytest.fixture
def calls(app: Flask) -> dict[str, str]:
    """Christmas week: an emergency answered on call, a voicemail, an incident answered."""
    made = {
        "emergency": phone(app, paris(2026, 12, 25, 9, 30), "+33612345678", "9", dials=("answer",)),
        "voicemail": phone(app, paris(2026, 12, 24, 17, 45), "+33465719901", "2", "1"),
        "incident": phone(app, paris(2026, 12, 22, 10, 15), "+33353019902", "1", dials=("answer",)),
    }
    return {key: call.call_sid for key, call in made.items()}


@pytest.fixture(autouse=True)
def boxing_day() -> Iterator[None]:
    with clock.frozen_at(paris(2026, 12, 26, 10, 0)):
        yield


def test_search_by_number_motive_outcome_and_structure(
    login_as: Login, calls: dict[str, str]
) -> None:
    tech = login_as("technician")
    week = tech.get(f"/admin/calls?{PERIOD}").get_data(as_text=True)
    assert all(sid in week for sid in calls.values())
    by_number = tech.get(f"/admin/calls?{PERIOD}&number=04+65+71+99+01").get_data(as_text=True)
    assert calls["voicemail"] in by_number and calls["emergency"] not in by_number
    motive = tech.get(f"/admin/calls?{PERIOD}&motive=emergency").get_data(as_text=True)
    assert calls["emergency"] in motive and calls["incident"] not in motive
    answered = tech.get(f"/admin/calls?{PERIOD}&outcome=answered").get_data(as_text=True)
    assert calls["voicemail"] not in answered and calls["incident"] in answered
    local = tech.get(f"/admin/calls?{PERIOD}&structure=auvergne").get_data(as_text=True)
    assert calls["voicemail"] in local and calls["incident"] not in local
    # The default period is the last 7 days up to today (26 December).
    assert calls["incident"] in tech.get("/admin/calls").get_data(as_text=True)


def test_bad_dates_are_a_clear_400(login_as: Login, calls: dict[str, str]) -> None:
    tech = login_as("technician")
    bad = tech.get("/admin/calls?from=2026-13-01")
    assert bad.status_code == 400 and "n&#39;est pas une date" in bad.get_data(as_text=True)
    reversed_ = tech.get("/admin/reports?from=2026-12-31&to=2026-12-01")
    assert reversed_.status_code == 400 and "précède" in reversed_.get_data(as_text=True)
    assert tech.get("/admin/reports/export?from=x&to=y").status_code == 400
    assert tech.get(f"/admin/reports/export?{PERIOD}&format=pdf").status_code == 400


def test_call_timeline_and_annotations(login_as: Login, calls: dict[str, str], app: Flask) -> None:
    tech = login_as("technician")
    sid = calls["emergency"]
    page = tech.get(f"/admin/calls/{sid}").get_data(as_text=True)
    assert "choisi « Urgence sur la plateforme hébergée »" in page  # the story, in French
    assert "Orientation : astreinte" in page and "Répondu par Chloé Bernard" in page
    token = tech.csrf_token  # type: ignore[attr-defined]
    motives = {"csrf_token": token, "motive": ["emergency", "incident"]}
    assert tech.post(f"/admin/calls/{sid}/motives", data=motives).status_code == 302
    note = {"csrf_token": token, "note": "Serveur de messagerie redémarré."}
    assert tech.post(f"/admin/calls/{sid}/note", data=note).status_code == 302
    page = tech.get(f"/admin/calls/{sid}").get_data(as_text=True)
    assert "a modifié les motifs de l&#39;appel" in page
    assert "Serveur de messagerie redémarré." in page
    with session_scope(app) as session:
        call = session.scalars(select(Call).where(Call.call_sid == sid)).one()
        assert [(m.motive, m.channel) for m in call.motives] == [
            ("emergency", "keypad"), ("incident", "technician"),
        ]  # fmt: skip
        actions = session.scalars(
            select(AuditEntry.action).where(
                AuditEntry.entity == "call", AuditEntry.entity_id == sid
            )
        ).all()
        assert actions == ["motives", "note"]
    unknown = tech.post(f"/admin/calls/{sid}/motives", data={"csrf_token": token, "motive": "x"})
    assert unknown.status_code == 422 and "Motif inconnu : x" in unknown.get_data(as_text=True)
    assert tech.get("/admin/calls/CAnope").status_code == 404
    assert tech.post(f"/admin/calls/{sid}/note", data={"note": "sans jeton"}).status_code == 400


def test_viewer_reads_reports_but_not_the_call_book(login_as: Login, calls: dict[str, str]) -> None:
    viewer = login_as("viewer")
    assert viewer.get("/admin/calls").status_code == 403
    sid = calls["emergency"]
    form = {"csrf_token": viewer.csrf_token, "note": "x"}  # type: ignore[attr-defined]
    assert viewer.post(f"/admin/calls/{sid}/note", data=form).status_code == 403
    page = viewer.get(f"/admin/reports?{PERIOD}").get_data(as_text=True)
    assert page.count("<svg") == 7  # by day, answer rate, heat map; 3 breakdowns, deadlines
    assert "25/12 · urgence : 1" in page  # the stacked bars, by motive family
    assert "ven 9 h : 1 appel(s)" in page  # the heat map: Friday 25 at 09:30
    assert "mar 10 h : 1 appel(s)" in page  # Tuesday 22 at 10:15
    assert "numéros des appelants sont masqués" in page


def test_exports(login_as: Login, calls: dict[str, str]) -> None:
    tech = login_as("technician")
    csv = tech.get(f"/admin/reports/export?{PERIOD}&format=csv")
    assert csv.status_code == 200 and csv.mimetype == "text/csv"
    assert "attachment" in csv.headers["Content-Disposition"]
    assert "+33612345678" in csv.get_data(as_text=True)
    assert csv.data.startswith(b"\xef\xbb\xbfDate;Heure;")  # for French spreadsheets
    plain = tech.get(f"/admin/reports/export?{PERIOD}&format=csv&csv_style=plain")
    assert plain.status_code == 200 and plain.data.startswith(b"Date,Heure,")
    wrong = tech.get(f"/admin/reports/export?{PERIOD}&format=csv&csv_style=tsv")
    assert wrong.status_code == 400 and "Style de CSV inconnu" in wrong.get_data(as_text=True)
    xlsx = tech.get(f"/admin/reports/export?{PERIOD}&format=xlsx")
    book = load_workbook(io.BytesIO(xlsx.data), read_only=True)
    assert book.sheetnames == ["Historique des sollicitations", "Résultats", "Centre d'appels"]
    viewer = login_as("viewer")
    masked = viewer.get(f"/admin/reports/export?{PERIOD}&format=csv").get_data(as_text=True)
    assert "+33612345678" not in masked and "+33 ••••••• 78" in masked


def test_the_exported_figures_are_those_of_the_service_clock(
    login_as: Login, calls: dict[str, str]
) -> None:
    tech = login_as("technician")

    def figures() -> dict[str, object]:
        xlsx = tech.get(f"/admin/reports/export?{PERIOD}&format=xlsx")
        return results(sheet_rows(io.BytesIO(xlsx.data), RESULTS_SHEET))

    # The Christmas Eve caller asked for a callback, due when the hotline
    # reopens on Monday 28 (25 December is a holiday, then the weekend).
    assert (figures()["Rappels à venir"], figures()["Rappels en retard"]) == (1, 0)
    with clock.frozen_at(paris(2027, 1, 4, 10, 0)):  # a week later, still not placed
        assert (figures()["Rappels à venir"], figures()["Rappels en retard"]) == (0, 1)
