"""Pure logic of the admin's read-mostly pages, at real moments with explicit times."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from ivr.admin.views import agenda, status
from ivr.admin.views.closure import with_closure
from ivr.admin.views.forms import FormError, date_range, parse_date, parse_local_datetime
from ivr.admin.views.simulate import Scenario, simulate
from ivr.config import ConfigDocument, demo_yaml_text, load_yaml_text
from tests.conftest import PARIS, paris


@pytest.fixture(scope="module")
def doc() -> ConfigDocument:
    return load_yaml_text(demo_yaml_text())


# -- Today ---------------------------------------------------------------------------


def test_christmas_morning_everything_closed_chloe_on_call(doc: ConfigDocument) -> None:
    now = paris(2026, 12, 25, 9, 30)
    states = {s.key: s for s in status.opening_states(doc, now)}
    assert not states["hotline"].is_open
    assert states["hotline"].reason == "jour férié : Noël"
    assert states["hotline"].next_opening == paris(2026, 12, 28, 9, 0)
    assert states["auvergne"].next_opening == paris(2026, 12, 28, 9, 30)
    assert states["corse"].note.startswith("pas d'accueil téléphonique")
    duty = status.duty(doc, now)
    assert duty.window == (paris(2026, 12, 25, 9, 0), paris(2026, 12, 25, 10, 0))
    assert duty.escalation == ("Chloé Bernard", "Alice Martin", "Bruno Leroy")
    assert duty.rest_day
    assert duty.next_window == (paris(2026, 12, 25, 16, 0), paris(2026, 12, 25, 17, 0))


def test_tuesday_lunch_break_and_reunion_in_its_own_zone(doc: ConfigDocument) -> None:
    now = paris(2026, 12, 1, 12, 30)  # 15:30 in La Réunion: open there until 16:00
    states = {s.key: s for s in status.opening_states(doc, now)}
    assert states["hotline"].reason == "pause de midi"
    assert states["hotline"].next_opening == paris(2026, 12, 1, 14, 0)
    reunion = states["reunion"]
    assert reunion.is_open and reunion.closes_at is not None
    assert reunion.closes_at.strftime("%H:%M %Z") == "16:00 +04"


def test_between_windows_on_a_sunday_names_the_next_one(doc: ConfigDocument) -> None:
    duty = status.duty(doc, paris(2026, 12, 27, 12, 0))
    assert duty.window is None and duty.primary == ""
    assert duty.next_window == (paris(2026, 12, 27, 16, 0), paris(2026, 12, 27, 17, 0))
    assert duty.next_primary == "Chloé Bernard"


def test_closure_switch_validates(doc: ConfigDocument) -> None:
    now = paris(2026, 12, 24, 14, 0)
    changed = with_closure(
        doc, active=True, message=" Fermé  pour l'inventaire ", until=paris(2026, 12, 24, 18, 0),
        now=now,
    )  # fmt: skip
    assert changed.closure.in_force(now)
    assert changed.closure.message == "Fermé pour l'inventaire"
    assert not changed.closure.in_force(paris(2026, 12, 24, 18, 0))
    with pytest.raises(FormError, match="déjà passée") as caught:
        with_closure(doc, active=True, message="", until=paris(2026, 12, 24, 13, 0), now=now)
    assert caught.value.field == "until"


# -- the 14-day agenda ---------------------------------------------------------------------


def test_agenda_on_christmas_day(doc: ConfigDocument) -> None:
    day = agenda.agenda_day(doc, "hotline", date(2026, 12, 25))
    assert day.holiday == "Noël" and day.rest_day and day.hours == 24
    slots = {cell.hour: cell.slots[0] for cell in day.cells}
    assert all(s.state == "closed" and s.reason == "jour férié : Noël" for s in slots.values())
    assert [h for h, s in slots.items() if s.oncall_minutes] == [9, 16]
    assert slots[9].on_duty == slots[16].on_duty == "Chloé Bernard"
    assert slots[9].oncall_minutes == 60 and slots[10].on_duty == ""


def test_agenda_across_the_handover_and_a_working_day(doc: ConfigDocument) -> None:
    # Monday 28 December: the rota hands over at 09:00 (chloe -> alice).
    day = agenda.agenda_day(doc, "hotline", date(2026, 12, 28))
    slots = {cell.hour: cell.slots[0] for cell in day.cells}
    assert not day.rest_day and day.holiday == ""
    assert slots[6].on_duty == "Chloé Bernard" and slots[9].on_duty == "Alice Martin"
    assert slots[21].oncall_minutes == 60 and slots[22].oncall_minutes == 0
    assert [slots[h].state for h in (8, 9, 12, 14, 17)] == [
        "closed", "open", "closed", "open", "partial",
    ]  # fmt: skip
    assert slots[17].open_minutes == 30
    assert slots[12].reason == "pause de midi"


def test_agenda_on_the_autumn_dst_night_has_25_hours(doc: ConfigDocument) -> None:
    day = agenda.agenda_day(doc, "hotline", date(2026, 10, 25))
    assert day.hours == 25 and day.rest_day
    two = day.cells[2].slots
    assert len(two) == 2
    assert [s.start.strftime("%H:%M%z") for s in two] == ["02:00+0200", "02:00+0100"]
    # Sunday windows keep their wall-clock hours after the change.
    assert [c.hour for c in day.cells if c.slots[0].oncall_minutes] == [9, 16]


def test_agenda_on_the_spring_dst_night_has_no_2_am(doc: ConfigDocument) -> None:
    day = agenda.agenda_day(doc, "hotline", date(2026, 3, 29))
    assert day.hours == 23 and day.cells[2].slots == ()


def test_agenda_spans_14_days_from_the_local_day(doc: ConfigDocument) -> None:
    # 23:30 UTC on 24 December is already Christmas Day in Paris.
    plan = agenda.agenda(doc, "hotline", datetime.fromisoformat("2026-12-24T23:30:00+00:00"))
    assert [d.day for d in (plan.days[0], plan.days[-1])] == [date(2026, 12, 25), date(2027, 1, 7)]
    assert plan.days[0].label == "vendredi 25 décembre 2026"
    assert len(plan.days) == 14


def test_moselle_holidays_and_handovers(doc: ConfigDocument) -> None:
    names = dict(agenda.public_holidays("FR/57", 2026))
    assert names[date(2026, 4, 3)] == "Vendredi saint"
    assert names[date(2026, 12, 26)] == "Saint-Étienne"
    assert date(2026, 12, 26) not in dict(agenda.public_holidays("FR", 2026))
    handovers = agenda.next_handovers(doc, paris(2026, 12, 25, 9, 30), count=3)
    assert [(h.at, h.holder) for h in handovers] == [
        (paris(2026, 12, 28, 9, 0), "Alice Martin"),
        (paris(2027, 1, 4, 9, 0), "Bruno Leroy"),
        (paris(2027, 1, 11, 9, 0), "Chloé Bernard"),
    ]


# -- "What happens if…" ---------------------------------------------------------------------


def test_christmas_morning_emergency_names_the_technician(doc: ConfigDocument) -> None:
    sim = simulate(doc, Scenario(paris(2026, 12, 25, 9, 30), "emergency", caller="+33612345678"))
    assert sim.route == "oncall" and sim.urgent
    assert sim.legs[0].label == "Chloé Bernard"
    assert sim.answered_by == "chloe"
    assert "Le service est actuellement fermé : jour férié, Noël." in sim.heard
    assert "Nous vous mettons en relation avec le technicien d'astreinte." in sim.heard
    assert any(line.text.startswith("sonne Chloé Bernard") for line in sim.lines)


def test_christmas_eve_evening_usage_question_goes_to_voicemail(doc: ConfigDocument) -> None:
    scenario = Scenario(
        paris(2026, 12, 24, 17, 45), "usage", caller="+33612345678", department="63",
        answer="no-answer",
    )  # fmt: skip
    sim = simulate(doc, scenario)
    assert sim.route == "closed" and sim.answering == "auvergne"
    assert "Vous dépendez de la structure Auvergne." in sim.heard
    assert "Il rouvrira lundi 28 décembre à 9 h 30." in sim.heard
    assert "Nous vous rappellerons lundi 28 décembre à 9 h 30." in sim.heard
    assert sim.callback_at == paris(2026, 12, 28, 9, 30)


def test_emergency_between_windows_leaves_an_urgent_message(doc: ConfigDocument) -> None:
    sim = simulate(doc, Scenario(paris(2026, 12, 25, 12, 0), "emergency", caller="+33612345678"))
    assert sim.route == "closed" and not sim.legs
    assert "Le technicien d'astreinte a été prévenu." not in sim.heard
    assert sim.outcome == "message laissé"


def test_open_hotline_incident(doc: ConfigDocument) -> None:
    sim = simulate(doc, Scenario(paris(2026, 12, 1, 10, 0), "incident"))
    assert sim.route == "hotline"
    assert "Nous vous mettons en relation avec l'assistance nationale." in sim.heard
    assert sim.outcome == "conversation avec l'assistance nationale"


def test_all_lines_busy_the_caller_waits_in_the_line(doc: ConfigDocument) -> None:
    sim = simulate(doc, Scenario(paris(2026, 12, 1, 10, 0), "incident", answer="busy"))
    assert sim.route == "hotline"
    assert "mis en file d'attente : l'assistance nationale" in [line.text for line in sim.lines]
    assert "Vous êtes le premier dans la file d'attente." in sim.heard
    assert "Pour être rappelé sans perdre votre place, tapez 1." in sim.heard
    assert sim.outcome == "en file d'attente jusqu'à ce qu'un conseiller se libère"


def test_simulation_needs_an_aware_moment(doc: ConfigDocument) -> None:
    with pytest.raises(ValueError, match="aware"):
        simulate(doc, Scenario(datetime(2026, 12, 25, 9, 30), "emergency"))  # noqa: DTZ001


# -- form fields ---------------------------------------------------------------------------


def test_form_fields() -> None:
    assert parse_date("25/12/2026", "d") == date(2026, 12, 25)
    assert parse_local_datetime("2026-12-25T09:30", "at", PARIS) == paris(2026, 12, 25, 9, 30)
    with pytest.raises(FormError, match="n'est pas une date") as caught:
        parse_date("Noël", "from")
    assert caught.value.field == "from"
    with pytest.raises(FormError, match="précède"):
        date_range({"from": "2026-12-31", "to": "2026-12-01"}, (date(2026, 12, 1),) * 2)


# -- charts ----------------------------------------------------------------------------------


def test_charts_are_inline_svg_with_escaped_labels() -> None:
    from ivr.admin.views import charts

    days = [date(2026, 12, 24), date(2026, 12, 25)]
    bars = str(charts.stacked_bars(days, {"emergency": [0, 2], "<b>": [1, 0]}))
    assert bars.startswith("<svg") and "25/12 · urgence : 2" in bars
    assert "<b>" not in bars and "&lt;b&gt;" in bars
    grid = [[0] * 24 for _ in range(7)]
    grid[4][9] = 3
    assert "ven 9 h : 3 appel(s)" in str(charts.heat_map(grid))
    rate = str(charts.answer_rate(days, [1, 0], [2, 0]))
    assert "24/12 : 1/2 répondus (50\xa0%)" in rate and rate.count("<rect") == 1
