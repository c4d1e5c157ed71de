"""Exports of the call book read back: CSV and XLSX, both sheets, totals, masking; the API.

The last test is the issue's "done" path: a day of calls through the console
phone, then `ivr callbook export --format xlsx`, read back like a manager would.
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from openpyxl import load_workbook
from pydantic import SecretStr
from sqlalchemy import select

from callbook.calls.models import Call
from callbook.db import session_scope
from callbook.reports import build_report, period
from callbook.reports.exports import (
    HISTORY_HEADERS,
    HISTORY_SHEET,
    RESULTS_SHEET,
    count_lines,
    mask_number,
    write_csv,
    write_xlsx,
)
from callbook.tickets import Ticket, TicketMessage
from ivr.config import demo_yaml_text, load_yaml_text
from ivr.config.loader import to_data, validate_document
from ivr.config.revisions import save_revision
from schedules import clock
from tests.conftest import PARIS, IvrRunner, paris
from tests.test_callbook_reports import MARCH, add_call, march_book

TOKEN = "test-api-token"


def sheet_rows(path: Path | io.BytesIO, name: str) -> list[tuple[Any, ...]]:
    book = load_workbook(path)  # the full reader, as a spreadsheet program would open it
    return [tuple(row) for row in book[name].iter_rows(values_only=True)]


def results(rows: list[tuple[Any, ...]]) -> dict[str, Any]:
    """The indicators block of "Résultats": label -> value."""
    start = next(i for i, row in enumerate(rows) if row[0] == "Indicateur")
    block: dict[str, Any] = {}
    for row in rows[start + 1 :]:
        if row[0] is None:
            break
        block[row[0]] = row[1]
    return block


def section(rows: list[tuple[Any, ...]], title: str) -> dict[str, tuple[Any, ...]]:
    """The lines under a heading of "Résultats", keyed by their first cell."""
    start = next(i for i, row in enumerate(rows) if row[0] == title)
    lines: dict[str, tuple[Any, ...]] = {}
    for row in rows[start + 1 :]:
        if row[0] is None:
            break
        lines[row[0]] = tuple(v for v in row[1:] if v is not None)
    return lines


def export_xlsx(app: Flask, path: Path, **options: Any) -> int:
    with session_scope(app) as session:
        return write_xlsx(session, path, *MARCH, tz=PARIS, **options)


# -- CSV -----------------------------------------------------------------------------


def test_csv_has_one_line_per_call_motive(app: Flask) -> None:
    march_book(app)
    out = io.StringIO(newline="")
    with session_scope(app) as session:
        lines = write_csv(session, out, *MARCH, tz=PARIS, style="plain")
        assert count_lines(session, *MARCH) == lines  # what a progress bar is sized on
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert rows[0] == list(HISTORY_HEADERS)
    assert lines == len(rows) - 1 == 10  # 9 call-motives and C5 without motive
    by_call: dict[str, list[str]] = {}
    for row in rows[1:]:
        by_call.setdefault(row[2], []).append(row[7])
    assert by_call == {
        "C1": ["usage"],
        "C2": ["incident", "account"],
        "C3": ["incident", "anomaly"],
        "C4": ["emergency"],
        "C5": [""],
        "C6": ["incident", "usage"],
        "C7": ["directory"],
    }
    first = rows[1]
    assert first[:2] == ["2026-03-02", "09:15:00"]  # local time
    # A phone number starts with "+": a spreadsheet would compute it.
    assert first[4:7] == ["'+33612345678", "auvergne", "Mairie d'Issoire"]
    assert first[9:] == ["keypad", "referent", "oui", "ref-auvergne", "60", "30"]
    # C7: 21:30 UTC on 31 March is 23:30 in Paris, inside the month.
    assert rows[-1][:2] == ["2026-03-31", "23:30:00"]


def test_csv_of_one_structure_with_masked_numbers(app: Flask) -> None:
    march_book(app)
    out = io.StringIO(newline="")
    with session_scope(app) as session:
        write_csv(session, out, *MARCH, structure="paris", tz=PARIS, mask_numbers=True)
    rows = list(csv.reader(io.StringIO(out.getvalue()), delimiter=";"))[1:]
    assert {row[2] for row in rows} == {"C3", "C5", "C6"}
    assert {row[4] for row in rows} == {"'+33 ••••••• 78"}
    assert "+33612345678" not in out.getvalue()


@pytest.mark.parametrize(
    ("number", "masked"),
    [
        ("+33612345678", "+33 ••••••• 78"),
        ("+262692123456", "+262 ••••••• 56"),
        ("0612345678", "•••••••• 78"),
        ("anonymous", "•••"),
        ("", ""),
    ],
)
def test_mask_number(number: str, masked: str) -> None:
    assert mask_number(number) == masked


# -- XLSX ----------------------------------------------------------------------------


def test_xlsx_has_the_history_and_the_results(app: Flask, tmp_path: Path) -> None:
    march_book(app)
    path = tmp_path / "march.xlsx"
    assert export_xlsx(app, path) == 10
    assert load_workbook(path).sheetnames == [HISTORY_SHEET, RESULTS_SHEET, "Centre d'appels"]
    history = sheet_rows(path, HISTORY_SHEET)
    assert history[0] == HISTORY_HEADERS
    assert len(history) == 11
    # 08:15 UTC: date and time cells, in local time (read back, a date is at midnight)
    assert history[1][:2] == (datetime(2026, 3, 2), time(9, 15))  # noqa: DTZ001
    assert history[1][13:] == (60, 30)
    rows = sheet_rows(path, RESULTS_SHEET)
    assert rows[0][:2] == ("Résultats", "du 01/03/2026 au 31/03/2026 (Europe/Paris)")
    figures = results(rows)
    assert figures["Appels"] == 7
    assert figures["Sollicitations (appel × motif)"] == 9
    assert figures["Lignes de l'historique"] == len(history) - 1
    assert figures["Appels répondus"] == 3
    assert figures["Taux de réponse"] == pytest.approx(3 / 7)
    assert figures["Appels hors horaires"] == 4
    assert figures["Attente avant réponse, 90e centile (s)"] == 90
    assert section(rows, "Par famille de motifs")["Incident technique"] == (3, 4)
    assert section(rows, "Par motif")["anomaly"] == ("Incident technique", 1, 1)
    assert list(section(rows, "Irritants (les 5 motifs les plus sollicités)"))[:2] == [
        "incident",
        "usage",
    ]
    assert section(rows, "Par structure") == {
        "paris": (3, 4),
        "auvergne": (2, 3),
        "(aucune)": (2, 2),
    }
    assert section(rows, "Par issue")["Messagerie"] == (3, 5)
    hours = section(rows, "Appels par heure (heure locale)")
    assert hours["09 h"][0] == 2  # Monday 09 h: C1 and C2
    assert sum(sum(v) for v in hours.values()) == 7


def test_xlsx_totals_equal_the_report_and_masking(app: Flask, tmp_path: Path) -> None:
    march_book(app)
    path = tmp_path / "paris.xlsx"
    with session_scope(app) as session:
        write_xlsx(session, path, *MARCH, structure="paris", tz=PARIS, mask_numbers=True)
        report = build_report(session, *MARCH, structure="paris", tz=PARIS)
    history = sheet_rows(path, HISTORY_SHEET)[1:]
    assert {row[4] for row in history} == {"+33 ••••••• 78"}
    figures = results(sheet_rows(path, RESULTS_SHEET))
    assert figures["Appels"] == report.calls == 3
    assert figures["Sollicitations (appel × motif)"] == report.call_motives == 4
    assert figures["Lignes de l'historique"] == len(history) == report.history_lines
    assert sheet_rows(path, RESULTS_SHEET)[1][:2] == ("Structure", "paris")


def test_outbound_legs_are_not_calls(app: Flask, tmp_path: Path) -> None:
    """The legs the service places (callbacks) are counted as callbacks, not as calls."""
    march_book(app)
    add_call(app, "OUT", paris(2026, 3, 2, 9, 0), route="abandoned")
    with session_scope(app) as session:
        session.scalars(select(Call).where(Call.call_sid == "OUT")).one().direction = "outbound-api"
    assert export_xlsx(app, tmp_path / "march.xlsx") == 10
    assert results(sheet_rows(tmp_path / "march.xlsx", RESULTS_SHEET))["Appels"] == 7


# -- the JSON API --------------------------------------------------------------------


@pytest.fixture
def api_app(app: Flask) -> Flask:
    app.config["IVR_SETTINGS"] = app.config["IVR_SETTINGS"].model_copy(
        update={"api_token": SecretStr(TOKEN)}
    )
    return app


def test_api_report_and_export_download(api_app: Flask) -> None:
    march_book(api_app)
    client = api_app.test_client()
    auth = {"Authorization": f"Bearer {TOKEN}"}
    report = client.get("/api/v1/reports?from=2026-03-01&to=2026-03-31", headers=auth)
    assert report.status_code == 200
    assert report.json["calls"] == 7 and report.json["callbacks"]["asked"] == 0
    download = client.get(
        "/api/v1/exports?from=2026-03-01&to=2026-03-31&format=xlsx&mask_numbers=1", headers=auth
    )
    assert download.status_code == 200
    assert download.headers["Content-Disposition"].endswith("historique-2026-03-01-2026-03-31.xlsx")
    body = io.BytesIO(download.data)
    assert results(sheet_rows(body, RESULTS_SHEET))["Appels"] == 7
    assert {row[4] for row in sheet_rows(body, HISTORY_SHEET)[1:]} == {"+33 ••••••• 78"}
    text = client.get("/api/v1/exports?from=2026-03-01&to=2026-03-31&format=csv", headers=auth)
    assert text.mimetype == "text/csv" and len(text.data.decode().splitlines()) == 11
    assert text.data.startswith(b"\xef\xbb\xbfDate;Heure;")  # for French spreadsheets
    plain = "/api/v1/exports?from=2026-03-01&to=2026-03-31&format=csv&csv_style=plain"
    assert client.get(plain, headers=auth).data.startswith(b"Date,Heure,")
    wrong = client.get(plain.replace("plain", "tsv"), headers=auth)
    assert wrong.status_code == 422 and wrong.json["fields"] == ["csv_style"]
    refused = client.get("/api/v1/exports?from=2026-03-01&to=2026-03-31&format=pdf", headers=auth)
    assert refused.status_code == 422 and refused.json["fields"] == ["format"]
    assert client.get("/api/v1/reports?from=2026-03-01&to=2026-03-31").status_code == 401


# -- done: a day of calls, exported and read back ---------------------------------------


DAY = "2026-12-01"  # a Tuesday: the hotline is open 09:00-12:00 and 14:00-17:30
EVENING = paris(2026, 12, 1, 20, 0)  # the export and the report are made that evening


def call(runner: IvrRunner, at: str, *args: str) -> None:
    result = runner.invoke("call", "--at", f"{DAY} {at}", *args)
    assert result.exit_code == 0, result.output
    assert "fin de l'appel" in result.output


def without_waiting_line(app: Flask) -> None:
    """The demo without the hotline's waiting line: a caller nobody answers leaves a message."""
    data = to_data(load_yaml_text(demo_yaml_text()))
    data["hotline"]["queue"]["enabled"] = False
    with session_scope(app) as session:
        save_revision(session, validate_document(data), author="tests")


def test_a_day_of_calls_exported_as_xlsx(runner: IvrRunner, app: Flask, tmp_path: Path) -> None:
    without_waiting_line(app)
    call(runner, "09:30", "--press", "1", "--dial", "answer")  # incident: the hotline answers
    call(runner, "10:00", "--from", "04 65 71 99 01", "--press", "2", "--dial", "answer")
    call(runner, "11:00", "--from", "06 11 22 33 44", "--press", "1", "--dial", "no-answer")
    call(runner, "15:00", "--from", "06 55 66 77 88", "--press", "3", "--dial", "no-answer",
         "--press", "1")  # fmt: skip
    call(runner, "19:30", "--from", "06 99 88 77 66", "--press", "2", "--press", "63",
         "--press", "1")  # fmt: skip
    path = tmp_path / "day.xlsx"
    with clock.frozen_at(EVENING):
        result = runner.invoke(
            "callbook", "export", "--from", DAY, "--to", DAY, "--format", "xlsx",
            "--mask-numbers", str(path),
        )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "5 lines written" in result.output

    with session_scope(app) as session:
        made = session.scalars(select(Call).order_by(Call.started_at)).all()
        sids = [c.call_sid for c in made]
        routes = [c.route for c in made]
        found = session.execute(select(TicketMessage.call_sid, Ticket.number).join(Ticket))
        tickets = {sid: number for sid, number in found}
    assert routes == ["hotline", "referent", "voicemail", "voicemail", "voicemail"]
    history = sheet_rows(path, HISTORY_SHEET)
    assert [row[2] for row in history[1:]] == sids
    assert [row[3] for row in history[1:]] == [tickets.get(sid) for sid in sids]
    assert len(tickets) == 3  # the three voicemails, one ticket each
    incident, usage = "Incident technique", "Question sur l'utilisation du logiciel"
    account = "Problème de licence ou de compte utilisateur"
    assert [row[7] for row in history[1:]] == [incident, usage, incident, account, usage]
    assert [row[8] for row in history[1:]] == [
        "Incident technique",
        "Question d'usage",
        "Incident technique",
        "Compte et accès",
        "Question d'usage",
    ]
    auvergne = "La structure Auvergne"
    assert [row[5] for row in history[1:]] == [None, auvergne, None, None, auvergne]
    assert [row[10] for row in history[1:]] == [
        "Hotline nationale",
        "Référents locaux",
        "Messagerie",
        "Messagerie",
        "Messagerie",
    ]
    assert all("••" in row[4] for row in history[1:])

    rows = sheet_rows(path, RESULTS_SHEET)
    figures = results(rows)
    assert figures["Appels"] == 5
    assert figures["Sollicitations (appel × motif)"] == 5
    assert figures["Appels répondus"] == 2
    assert figures["Taux de réponse"] == 0.4
    assert figures["Appels hors horaires"] == 1  # 19:30: Auvergne and the hotline are closed
    assert figures["Part hors horaires"] == 0.2
    assert figures["Tickets ouverts"] == 3  # one per voicemail, three different callers
    assert figures["Rappels demandés"] == 2  # the 15:00 and 19:30 callers pressed 1
    # At 20:00 nothing has called them back: the 15:00 caller was due at once
    # (open hours), the 19:30 one tomorrow at 09:30 when the hotline opens.
    assert figures["Rappels en retard"] == 1 and figures["Rappels à venir"] == 1
    assert figures["Rappels effectués"] == 0
    assert section(rows, "Par issue") == {
        "Messagerie": (3, 3),
        "Hotline nationale": (1, 1),
        "Référents locaux": (1, 1),
    }
    assert section(rows, "Par famille de motifs") == {
        "Incident technique": (2, 2),
        "Question d'usage": (2, 2),
        "Compte et accès": (1, 1),
    }
    assert section(rows, "Par structure") == {"(aucune)": (3, 3), auvergne: (2, 2)}
    hours = section(rows, "Appels par heure (heure locale)")
    tuesday = 1
    assert {h: v[tuesday] for h, v in hours.items() if v[tuesday]} == {
        "09 h": 1,
        "10 h": 1,
        "11 h": 1,
        "15 h": 1,
        "19 h": 1,
    }

    # The CLI report and the sheet agree.
    with clock.frozen_at(EVENING):
        text = runner.invoke("callbook", "report", "--from", DAY, "--to", DAY).output
        start, end = period("day", date(2026, 12, 1), PARIS)
        with session_scope(app) as session:
            report = build_report(session, start, end, tz=PARIS)
    assert "calls                 5" in text and "answered              2  (40.0%)" in text
    assert report.calls == figures["Appels"]
    assert (report.callbacks.overdue, report.callbacks.waiting) == (1, 1)
