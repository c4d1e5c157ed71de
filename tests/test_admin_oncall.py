"""Admin interface: the on-call page (windows, rota, overrides) edited in the draft."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from flask.testing import FlaskClient

from callbook.db import session_scope
from callbook.history.revisions import active_revision
from ivr.config import validate_document
from schedules import clock
from tests.test_admin_config import audit_actions, draft_data, field_errors, post

PARIS = ZoneInfo("Europe/Paris")
SATURDAY = datetime(2026, 12, 26, 9, 30, tzinfo=PARIS)
"""A Saturday in the rest-day window 09:00-10:00; the rota (anchor Monday 2026-01-05,
alice, bruno, chloe) has chloe on duty that week."""


def oncall_form(**changes: str) -> dict[str, str]:
    form = {
        "ring_timeout": "25",
        "working_day_windows": "06:00-22:00",
        "rest_day_windows": "09:00-10:00, 16:00-17:00",
        "members": "alice, bruno, chloe",
        "anchor": "2026-01-05",
        "handover_weekday": "mon",
        "handover_time": "09:00",
        "period_weeks": "1",
    }
    return {**form, **changes}


@pytest.fixture
def admin(login_as: Callable[[str], FlaskClient]) -> FlaskClient:
    return login_as("admin")


def active_on_duty(app: Flask, at: datetime) -> str | None:
    """Who the active revision puts first on the on-call line at `at`."""
    with session_scope(app) as session:
        rev = active_revision(session)
        assert rev is not None
        doc = validate_document(rev.document)
    assert doc.oncall is not None
    with clock.frozen_at(at):
        duty = doc.oncall.schedule.on_call(clock.now())
    return None if duty is None else duty.primary


def rota_shown(page: str) -> list[str]:
    """The technicians selected in the rota's lists, in order (empty places left out)."""
    places = re.findall(r'<select name="members".*?</select>', page, re.S)
    chosen = [re.search(r'<option value="([^"]*)" selected', p) for p in places]
    return [m.group(1) for m in chosen if m and m.group(1)]


def test_the_page_shows_the_rota_and_windows(admin: FlaskClient) -> None:
    page = admin.get("/admin/oncall").get_data(as_text=True)
    assert 'value="06:00-22:00"' in page and 'value="09:00-10:00, 16:00-17:00"' in page
    assert rota_shown(page) == ["alice", "bruno", "chloe"]
    assert "Aucun remplacement prévu" in page


def test_windows_and_rota_go_to_the_draft(app: Flask, admin: FlaskClient) -> None:
    form = oncall_form(
        working_day_windows="07:00-21:00",
        rest_day_windows="09:00-10:00; 16:00-17:30",
        members="bruno, alice, chloe",
        period_weeks="2",
        ring_timeout="30",
    )
    status, location, _ = post(admin, "/admin/oncall", form)
    assert (status, location) == (302, "/admin/oncall")
    data = draft_data(app)
    assert data is not None
    schedule = data["oncall"]["schedule"]
    assert schedule["working_day_windows"] == ["07:00-21:00"]
    assert schedule["rest_day_windows"] == ["09:00-10:00", "16:00-17:30"]
    assert schedule["rota"]["members"] == ["bruno", "alice", "chloe"]
    assert schedule["rota"]["period_weeks"] == 2 and data["oncall"]["ring_timeout"] == 30
    assert audit_actions(app)[-1] == ("admin1", "draft", "oncall", "edit")


def test_time_zone_and_public_holidays_go_to_the_draft(app: Flask, admin: FlaskClient) -> None:
    page = admin.get("/admin/oncall").get_data(as_text=True)
    assert 'value="Europe/Paris"' in page and 'name="holidays" type="text" value="FR"' in page
    form = oncall_form(timezone=" Indian/Reunion ", holidays="FR/974")
    assert post(admin, "/admin/oncall", form)[0] == 302
    data = draft_data(app)
    assert data is not None
    schedule = validate_document(data).oncall.schedule  # type: ignore[union-attr]
    assert (schedule.timezone, schedule.holidays) == ("Indian/Reunion", "FR/974")
    # 20 December, the abolition of slavery, is a public holiday on La Réunion only.
    assert schedule.is_rest_day(date(2026, 12, 21)) is False
    assert schedule.is_rest_day(date(2026, 12, 20)) is True  # a Sunday anyway
    assert schedule.is_rest_day(date(2027, 12, 20)) is True  # a Monday, public holiday there
    assert post(admin, "/admin/oncall", oncall_form(holidays=""))[0] == 302
    data = draft_data(app)
    assert data is not None and data["oncall"]["schedule"]["holidays"] is None


def test_a_form_without_zone_or_holidays_leaves_them(app: Flask, admin: FlaskClient) -> None:
    post(admin, "/admin/oncall", oncall_form(timezone="Europe/Paris", holidays="FR/57"))
    form = oncall_form(ring_timeout="30")
    assert "timezone" not in form and "holidays" not in form
    assert post(admin, "/admin/oncall", form)[0] == 302
    data = draft_data(app)
    assert data is not None and data["oncall"]["schedule"]["holidays"] == "FR/57"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"working_day_windows": "06:00-22:00, 21:00-23:00"}, "working_day_windows"),
        ({"rest_day_windows": "10:00-09:00"}, "rest_day_windows"),
        ({"members": "alice, nobody"}, "members"),
        ({"anchor": "2026-01-06"}, "anchor"),  # a Tuesday, not the handover day
        ({"handover_time": "25:00"}, "handover_time"),
        ({"period_weeks": "0"}, "period_weeks"),
        ({"ring_timeout": "500"}, "ring_timeout"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"timezone": ""}, "timezone"),
        ({"holidays": "XX"}, "holidays"),
        ({"holidays": "FR/999"}, "holidays"),
    ],
)
def test_a_bad_value_is_named_next_to_its_field(
    app: Flask, admin: FlaskClient, changes: dict[str, str], field: str
) -> None:
    status, _, html = post(admin, "/admin/oncall", oncall_form(**changes))
    assert status == 422
    assert list(field_errors(html)) == [field]
    assert draft_data(app) is None


def test_an_override_lands_in_the_draft_then_answers_after_publishing(
    app: Flask, admin: FlaskClient
) -> None:
    assert active_on_duty(app, SATURDAY) == "chloe"
    override = {
        "start": "2026-12-26",
        "end": "2026-12-27",
        "technician": "bruno",
        "label": "échange",
    }
    status, location, _ = post(admin, "/admin/oncall/overrides", override)
    assert (status, location) == (302, "/admin/oncall#overrides")
    data = draft_data(app)
    assert data is not None
    assert data["oncall"]["schedule"]["overrides"] == [
        {
            "start": "2026-12-26T00:00:00+01:00",
            "end": "2026-12-28T00:00:00+01:00",  # the end day is included
            "technician": "bruno",
            "label": "échange",
        }
    ]
    assert audit_actions(app)[-1] == ("admin1", "draft", "oncall/overrides", "edit")
    assert active_on_duty(app, SATURDAY) == "chloe"  # not published yet
    assert post(admin, "/admin/publish", {"comment": "échange de Noël"})[0] == 302
    assert active_on_duty(app, SATURDAY) == "bruno"
    page = admin.get("/admin/oncall").get_data(as_text=True)
    assert "2026-12-26 00:00" in page and "échange" in page


def test_an_override_by_the_hour_and_its_removal(app: Flask, admin: FlaskClient) -> None:
    override = {
        "start": "2026-12-26 09:00",
        "end": "2026-12-26T10:00",
        "technician": "alice",
        "label": "",
    }
    assert post(admin, "/admin/oncall/overrides", override)[0] == 302
    data = draft_data(app)
    assert data is not None
    stored = data["oncall"]["schedule"]["overrides"][0]
    assert (stored["start"], stored["end"]) == (
        "2026-12-26T09:00:00+01:00",
        "2026-12-26T10:00:00+01:00",
    )
    form = {"start": stored["start"], "technician": "alice"}
    assert (
        post(admin, "/admin/oncall/overrides/0/delete", {**form, "technician": "bruno"})[0] == 302
    )
    assert draft_data(app)["oncall"]["schedule"]["overrides"]  # type: ignore[index]  # stale form
    status, _, _ = post(admin, "/admin/oncall/overrides/0/delete", form)
    assert status == 302
    assert draft_data(app)["oncall"]["schedule"]["overrides"] == []  # type: ignore[index]
    assert post(admin, "/admin/oncall/overrides/5/delete", form)[0] == 404


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"start": "demain"}, "start"),
        ({"end": ""}, "end"),
        ({"end": "2026-12-20"}, "end"),  # before its start
        ({"technician": "nobody"}, "technician"),
    ],
)
def test_a_bad_override_is_named_next_to_its_field(
    app: Flask, admin: FlaskClient, changes: dict[str, str], field: str
) -> None:
    override = {"start": "2026-12-26", "end": "2026-12-27", "technician": "bruno", "label": ""}
    status, _, html = post(admin, "/admin/oncall/overrides", {**override, **changes})
    assert status == 422
    assert list(field_errors(html)) == [field]
    assert draft_data(app) is None


def test_overlapping_overrides_are_refused_at_the_start(app: Flask, admin: FlaskClient) -> None:
    first = {"start": "2026-12-26", "end": "2026-12-27", "technician": "bruno", "label": ""}
    assert post(admin, "/admin/oncall/overrides", first)[0] == 302
    second = {"start": "2026-12-27 12:00", "end": "2026-12-29", "technician": "alice", "label": ""}
    status, _, html = post(admin, "/admin/oncall/overrides", second)
    assert status == 422
    assert field_errors(html) == {"start": ["overrides for bruno and alice overlap"]}
