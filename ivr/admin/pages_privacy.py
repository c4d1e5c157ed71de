"""Personal data (/admin/privacy, admins): retention, recordings to delete, a caller's rights.

Erasing a caller takes two steps: the number typed shows what would be
erased (a dry run), and only the confirmation form, with its box ticked,
erases. The number travels in POST bodies only, never in a URL: URLs land
in access logs. The audit log names the caller by a hash (`ivr.privacy`).
"""

from __future__ import annotations

import json

from flask import Response, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext, lazy_gettext
from werkzeug.wrappers import Response as BaseResponse

from callbook.db import get_session
from callbook.privacy.recordings import waiting_count
from ivr.admin.auth import require_role
from ivr.admin.blueprint import bp
from ivr.admin.editing import actor
from ivr.privacy import (
    Erasure,
    InvalidNumber,
    ServiceNumber,
    erase_caller,
    normalise_caller,
    subject_access,
)
from ivr.settings import Settings
from schedules import clock

Page = str | tuple[str, int] | BaseResponse
KINDS = (
    ("calls", lazy_gettext("appels (gardés pour les chiffres, sans numéro ni identifiant)")),
    ("events", lazy_gettext("étapes d'appel (supprimées)")),
    ("motives", lazy_gettext("lignes de motif (gardées pour les chiffres)")),
    ("tickets", lazy_gettext("tickets (gardés pour les chiffres et le suivi, appelant effacé)")),
    ("messages", lazy_gettext("messages vocaux (enregistrement et transcription effacés)")),
    (
        "callbacks",
        lazy_gettext("rappels (gardés pour les chiffres, numéro effacé ; en attente : annulés)"),
    ),
    (
        "contacts",
        lazy_gettext("fiche de contact (retirée de la configuration : nouvelle révision)"),
    ),
    ("recordings", lazy_gettext("enregistrements à supprimer chez Twilio")),
    ("outbox", lazy_gettext("e-mails, SMS et événements le concernant")),
)
SERVICE_NUMBER = lazy_gettext(
    "{number} est un numéro du service lui-même, pas celui d'un appelant."
)
NOT_A_NUMBER = lazy_gettext(
    "« {text} » n'est pas un numéro de téléphone (ex. 06 12 34 56 78 ou +33612345678)."
)


def _page(
    *, number: str = "", error: str = "", preview: Erasure | None = None, status: int = 200
) -> Page:
    settings: Settings = current_app.config["IVR_SETTINGS"]
    html = render_template(
        "admin/privacy.html",
        number=number,
        error=error,
        preview=preview,
        kinds=KINDS,
        waiting=waiting_count(get_session()),
        twilio=settings.twilio_configured,
        retention_days=settings.retention_days,
        max_age_days=settings.ticket_max_age_days,
    )
    return (html, status) if status != 200 else html


@bp.get("/privacy")
@require_role()
def privacy() -> Page:
    return _page()


def _number() -> tuple[str, str]:
    """(E.164 number, "") from the form, or ("", the error to show)."""
    text = request.form.get("number", "")
    try:
        return normalise_caller(text), ""
    except InvalidNumber:
        return "", NOT_A_NUMBER.format(text=text.strip()[:40])


@bp.post("/privacy/erase")
@require_role()
def privacy_erase() -> Page:
    number, error = _number()
    if error:
        return _page(number=request.form.get("number", "")[:40], error=error, status=422)
    session = get_session()
    confirmed = request.form.get("confirm") == "1"
    try:
        result = erase_caller(
            session, number, author=actor(), now=clock.now(), dry_run=not confirmed
        )
    except ServiceNumber:
        return _page(number=number, error=SERVICE_NUMBER.format(number=number), status=422)
    if not confirmed:
        session.rollback()
        return _page(number=number, preview=result)
    session.commit()
    flash(
        gettext(
            "Données de l'appelant effacées (empreinte %(subject)s) : %(calls)s appels, "
            "%(tickets)s tickets, %(callbacks)s rappels ; "
            "%(recordings)s enregistrements à supprimer chez Twilio.",
            subject=result.subject,
            calls=result.counts.get("calls", 0),
            tickets=result.counts.get("tickets", 0),
            callbacks=result.counts.get("callbacks", 0),
            recordings=result.counts.get("recordings", 0),
        )
    )
    return redirect(url_for("admin.privacy"), code=303)


@bp.post("/privacy/access")
@require_role()
def privacy_access() -> Page:
    number, error = _number()
    if error:
        return _page(error=error, status=422)
    session = get_session()
    try:
        data = subject_access(session, number, author=actor(), now=clock.now())
    except ServiceNumber:
        return _page(error=SERVICE_NUMBER.format(number=number), status=422)
    session.commit()
    body = json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    name = f"donnees-appelant-{clock.now():%Y%m%d}.json"
    return Response(
        body.encode("utf-8"),
        mimetype="application/json",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
