"""The contact-centre section of Rapports (/admin/reports) and its CSV file.

The reports page includes `admin/_contact_centre.html`, which asks
`contact_centre_section` (a template global) for the figures of the period
and structure the page shows; /admin/reports/contact-centre.csv gives the
same figures as a file.
"""

from __future__ import annotations

import io
from datetime import date, timedelta
from typing import Any

from flask import Response, abort, request
from flask_babel import gettext

from callbook.db import get_session
from callbook.reports import period
from callbook.reports.cells import CSV_STYLES
from callbook.reports.contact_centre_export import write_csv
from ivr.admin.auth import READERS, require_role
from ivr.admin.blueprint import bp
from ivr.admin.pagekit import active_or_abort, default_zone
from ivr.admin.views import contact_centre
from ivr.admin.views.forms import FormError, date_range, optional
from ivr.config import ConfigDocument
from ivr.config.names import export_names
from schedules import clock


@bp.app_template_global("contact_centre_section")
def contact_centre_section(
    doc: ConfigDocument, first: date, last: date, structure: str
) -> dict[str, Any]:
    """The section's figures for the local days first..last, of `structure` if not empty."""
    start, end = period("custom", first, default_zone(), last=last)
    cc = contact_centre.figures(get_session(), doc, start, end, structure or None)
    return contact_centre.section(cc, doc)


@bp.get("/reports/contact-centre.csv")
@require_role(*READERS)
def contact_centre_csv() -> Response:
    """The contact-centre figures of the period as CSV (no personal data)."""
    today = clock.now().astimezone(default_zone()).date()
    try:
        first, last = date_range(request.args, (today - timedelta(days=29), today))
    except FormError as exc:
        abort(400, exc.message)
    session = get_session()
    _, doc = active_or_abort(session)
    start, end = period("custom", first, default_zone(), last=last)
    structure = optional(request.args, "structure") or None
    style = request.args.get("csv_style", "excel-fr")
    if style not in CSV_STYLES:
        unknown = gettext("Style de CSV inconnu : %(style)s (excel-fr ou plain).", style=style[:20])
        abort(400, unknown)
    cc = contact_centre.figures(session, doc, start, end, structure)
    out = io.StringIO(newline="")
    write_csv(out, cc, style=style, names=export_names(doc))  # type: ignore[arg-type]
    name = f"centre-d-appels-{first:%Y%m%d}-{last:%Y%m%d}.csv"
    return Response(
        out.getvalue(),
        mimetype="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
