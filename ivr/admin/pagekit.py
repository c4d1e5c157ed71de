"""Shared by the read-mostly pages: template filters (registered on the admin
blueprint when this module is imported) and small request helpers.

`stamp` and `when` show an instant in a given zone (a calendar's, say La
Réunion's) or, without one, in IVR_DEFAULT_TIMEZONE.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import abort, current_app
from flask_babel import format_decimal, format_percent, gettext
from sqlalchemy.orm import Session

from ivr.admin.blueprint import bp
from ivr.admin.views.documents import NoDocument, active_document, chosen_document
from ivr.admin.views.french import clock_time, moment_label, short_date, short_moment
from ivr.config import ConfigDocument


def _zone(zone: ZoneInfo | str | None) -> ZoneInfo:
    if isinstance(zone, ZoneInfo):
        return zone
    return ZoneInfo(zone or current_app.config["IVR_SETTINGS"].default_timezone)


@bp.app_template_filter("stamp")
def stamp(value: datetime | None, zone: ZoneInfo | str | None = None) -> str:
    """'25/12/2026 09:30'."""
    return short_moment(value, _zone(zone)) if value is not None else "—"


@bp.app_template_filter("when")
def when(value: datetime | None, zone: ZoneInfo | str | None = None) -> str:
    """'vendredi 25 décembre 2026 à 09:30'."""
    return moment_label(value, _zone(zone)) if value is not None else "—"


@bp.app_template_filter("hhmm")
def hhmm(value: datetime | None, zone: ZoneInfo | str | None = None) -> str:
    return clock_time(value, _zone(zone)) if value is not None else "—"


@bp.app_template_filter("shortdate")
def shortdate(value: date | None) -> str:
    """'25/12/2026' ('12/25/26')."""
    return "—" if value is None else short_date(value)


@bp.app_template_filter("number")
def number(value: float | None) -> str:
    """'1 234,5' ('1,234.5'): Babel's decimal format of the request's locale."""
    return "—" if value is None else format_decimal(value)


@bp.app_template_filter("percent")
def percent(value: float | None) -> str:
    """'87 %' ('87%') for 0.87."""
    return "—" if value is None else format_percent(value)


@bp.app_template_filter("motive_name")
def motive_name(key: str | None, doc: ConfigDocument | None) -> str:
    """A motive's label in the configuration (its key when it is gone, '—' for none)."""
    if not key:
        return "—"
    found = next((m for m in doc.motives if m.key == key), None) if doc is not None else None
    return found.title if found is not None else key


@bp.app_template_filter("structure_name")
def structure_name(key: str | None, doc: ConfigDocument | None) -> str:
    """A structure's name in the configuration (its id when it is gone, '—' for none)."""
    if not key:
        return "—"
    found = next((s for s in doc.structures if s.id == key), None) if doc is not None else None
    return found.name if found is not None else key


def document_or_abort(session: Session, source: str) -> tuple[str, str, ConfigDocument]:
    """`chosen_document`, answering 409 with the reason when nothing can be read."""
    try:
        return chosen_document(session, source)
    except NoDocument as exc:
        abort(409, gettext("Configuration illisible : %(reason)s", reason=exc))


def active_or_abort(session: Session) -> tuple[int, ConfigDocument]:
    """`active_document`, answering 409 with the reason when it cannot be read."""
    try:
        return active_document(session)
    except NoDocument as exc:
        abort(409, gettext("Configuration illisible : %(reason)s", reason=exc))


def active_or_none(session: Session) -> ConfigDocument | None:
    """The active document, or None when it cannot be read (names then show as keys)."""
    try:
        return active_document(session)[1]
    except NoDocument:
        return None


def default_zone() -> ZoneInfo:
    """IVR_DEFAULT_TIMEZONE: the zone instants are shown and typed in."""
    return _zone(None)
