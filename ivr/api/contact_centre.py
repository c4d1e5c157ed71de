"""/api/v1/reports/contact-centre: how the callers who wanted a person were served.

The figures are `callbook.reports.contact_centre` (offered, answered,
abandoned, service level, waits, callbacks from the queue, abandons per hour
and weekday) for one period around a day, per team, in the zone of the
hotline's calendar.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal
from zoneinfo import ZoneInfo

from flask import Response, current_app, jsonify
from pydantic import BaseModel, ConfigDict, Field

from callbook.db import session_scope
from callbook.reports import local_midnight, period
from callbook.reports.contact_centre import contact_centre
from ivr import runtime
from ivr.api.auth import VIEWERS
from ivr.api.kit import ApiError, api_route, query_args
from schedules import clock

PeriodName = Literal["day", "week", "month", "quarter", "year"]


class ContactCentreQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")

    period: PeriodName = Field(default="month", description="The period around `date`.")
    date: str = Field(
        default="",
        max_length=10,
        description="A local day (YYYY-MM-DD) in the period; empty: today.",
    )
    team: str = Field(
        default="",
        max_length=64,
        pattern=r"^([a-z0-9][a-z0-9_.-]*)?$",
        description="`hotline` or a structure's key; empty: every team.",
    )


def calendar_zone() -> ZoneInfo:
    """The hotline calendar's zone (the abandons' hours are local); IVR_DEFAULT_TIMEZONE
    when no configuration is active."""
    try:
        _, doc = runtime.current_config()
    except runtime.NoActiveConfig:
        return ZoneInfo(current_app.config["IVR_SETTINGS"].default_timezone)
    return ZoneInfo(doc.calendar(doc.hotline.calendar).timezone)


def _anchor(text: str, zone: ZoneInfo) -> date:
    if not text:
        return clock.now().astimezone(zone).date()
    try:
        day = date.fromisoformat(text)
    except ValueError as exc:
        raise ApiError(422, f"date: '{text}' is not a day (YYYY-MM-DD)", ["date"]) from exc
    if not 1900 <= day.year <= 2998:  # beyond, local days do not convert to UTC instants
        raise ApiError(422, "date: a day between 1900 and 2998", ["date"])
    return day


def local_period(name: PeriodName, anchor: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    if name == "year":
        first = date(anchor.year, 1, 1)
        return local_midnight(first, zone), local_midnight(date(anchor.year + 1, 1, 1), zone)
    return period(name, anchor, zone)


@api_route(
    "GET",
    "/reports/contact-centre",
    summary="Contact-centre figures of a period: offered, answered, abandoned, service level, "
    "waits, callbacks from the queue, abandons per weekday and hour",
    roles=VIEWERS,
    query=ContactCentreQuery,
    answer={"type": "object"},
)
def get_contact_centre() -> Response:
    query = query_args(ContactCentreQuery)
    zone = calendar_zone()
    start, end = local_period(query.period, _anchor(query.date, zone), zone)
    threshold = current_app.config["IVR_SETTINGS"].service_level_seconds
    with session_scope() as session:
        figures = contact_centre(
            session, start, end, team=query.team or None, tz=zone, threshold=threshold
        )
    return jsonify(figures.to_dict())
