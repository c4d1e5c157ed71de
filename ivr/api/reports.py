"""/api/v1/reports and /api/v1/exports: the figures and the call history of a period.

A period is `from` and `to`, local days (`to` included), optionally one
structure's calls only.
"""

from __future__ import annotations

import io
import re
import tempfile
from datetime import date, datetime

from flask import Response, current_app, jsonify, request, send_file

from callbook.db import session_scope
from callbook.reports import build_report, period
from callbook.reports.exports import (
    CSV_STYLES,
    EXPORT_FORMATS,
    MEDIA_TYPES,
    write_csv,
    write_xlsx,
)
from ivr.api.kit import ApiError, bp
from ivr.runtime import active_names
from schedules import clock


def _storable(text: str) -> bool:
    """No control characters: PostgreSQL refuses NUL in text, and no id holds any."""
    return not any(ord(c) < 32 for c in text)


def _day(name: str) -> date:
    text = request.args.get(name, "").strip()
    if not text:
        raise ApiError(422, f"{name}: a day is required (YYYY-MM-DD)", [name])
    try:
        day = date.fromisoformat(text)
    except ValueError as exc:
        raise ApiError(422, f"{name}: '{text[:40]}' is not a day (YYYY-MM-DD)", [name]) from exc
    if not 1900 <= day.year <= 2999:  # beyond, local days do not convert to UTC instants
        raise ApiError(422, f"{name}: a day between 1900 and 2999", [name])
    return day


def _period_args() -> tuple[datetime, datetime, str | None, str]:
    """from/to (local days, `to` included) and structure of the query string."""
    zone = current_app.config["IVR_SETTINGS"].default_timezone
    first, last = _day("from"), _day("to")
    if last < first:
        raise ApiError(422, "to: the period ends before it starts", ["to"])
    start, end = period("custom", first, zone, last=last)
    structure = request.args.get("structure", "").strip() or None
    if structure is not None and not _storable(structure):
        raise ApiError(422, "structure: control characters are not allowed", ["structure"])
    return start, end, structure, zone


@bp.get("/reports")
def get_report() -> Response:
    """?from=YYYY-MM-DD&to=YYYY-MM-DD[&structure=ID]: the report as JSON."""
    start, end, structure, zone = _period_args()
    with session_scope() as session:
        report = build_report(session, start, end, structure=structure, tz=zone, now=clock.now())
    return jsonify(report.to_dict())


FLAGS = {"1": True, "true": True, "yes": True, "0": False, "false": False, "no": False, "": False}


@bp.get("/exports")
def get_export() -> Response:
    """?from=&to=&format=csv|xlsx[&csv_style=excel-fr|plain][&structure=ID][&mask_numbers=1].

    The history as a file, written to a temporary file first (bounded
    memory), then sent. CSV is for French spreadsheets unless
    `csv_style=plain` (commas, decimal point, codes: for scripts).
    """
    start, end, structure, zone = _period_args()
    fmt = request.args.get("format", "csv").strip().lower()
    if fmt not in EXPORT_FORMATS:
        raise ApiError(422, f"format: '{fmt[:20]}' is not one of csv, xlsx", ["format"])
    flag = request.args.get("mask_numbers", "").strip().lower()
    if flag not in FLAGS:
        raise ApiError(422, "mask_numbers: expected 1 or 0", ["mask_numbers"])
    masked = FLAGS[flag]
    style = request.args.get("csv_style", "excel-fr").strip().lower()
    if style not in CSV_STYLES:
        message = f"csv_style: '{style[:20]}' is not one of excel-fr, plain"
        raise ApiError(422, message, ["csv_style"])
    names = active_names()
    spool = tempfile.TemporaryFile()  # noqa: SIM115  # send_file closes it once sent
    try:
        with session_scope() as session:
            if fmt == "xlsx":
                write_xlsx(
                    session,
                    spool,
                    start,
                    end,
                    structure=structure,
                    tz=zone,
                    mask_numbers=masked,
                    names=names,
                    now=clock.now(),
                    service_level_seconds=current_app.config["IVR_SETTINGS"].service_level_seconds,
                )
            else:
                text = io.TextIOWrapper(spool, encoding="utf-8", newline="")
                write_csv(
                    session,
                    text,
                    start,
                    end,
                    structure=structure,
                    tz=zone,
                    mask_numbers=masked,
                    style=style,  # type: ignore[arg-type]  # checked against CSV_STYLES
                    names=names,
                )
                text.flush()
                text.detach()  # keep `spool` open
        spool.seek(0)
    except BaseException:
        spool.close()
        raise
    name = f"historique-{start:%Y-%m-%d}-{_day('to'):%Y-%m-%d}"
    if structure:
        name += "-" + re.sub(r"[^A-Za-z0-9_-]+", "_", structure)[:40]
    return send_file(
        spool,
        mimetype=MEDIA_TYPES[fmt],
        as_attachment=True,
        download_name=f"{name}.{fmt}",
        max_age=0,
    )
