"""The configuration document: every bad case refused with its path, at once."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest
import yaml

from ivr.config import (
    ConfigInvalid,
    coverage_warnings,
    demo_yaml_text,
    dump_yaml_text,
    load_yaml_text,
    to_data,
    validate_document,
)
from ivr.config.fields import to_e164
from ivr.config.prompts import Prompts


@pytest.fixture
def demo() -> dict[str, Any]:
    return yaml.safe_load(demo_yaml_text())


def problems_of(data: Any) -> dict[str, str]:
    with pytest.raises(ConfigInvalid) as caught:
        validate_document(data)
    return {p.path: p.message for p in caught.value.problems}


def test_demo_is_valid_and_realistic(demo: dict[str, Any]) -> None:
    doc = validate_document(demo)
    assert {s.support for s in doc.structures} == {"phone", "no_phone", "hotline_only"}
    assert doc.calendar("alsace-moselle").holidays == "FR/57"
    assert doc.calendar("reunion").timezone == "Indian/Reunion"
    assert doc.oncall is not None and len(doc.oncall.schedule.rota.members) == 3
    assert doc.structure_for_department("63").id == "auvergne"  # type: ignore[union-attr]
    # French notations become E.164.
    assert doc.referent("auvergne-durand").numbers[0] == "+33465711020"  # type: ignore[union-attr]
    assert doc.referent("reunion-payet").numbers[0] == "+262262501020"  # type: ignore[union-attr]


def test_round_trip_is_stable() -> None:
    doc = load_yaml_text(demo_yaml_text())
    text = dump_yaml_text(doc)
    again = load_yaml_text(text)
    assert again == doc
    assert dump_yaml_text(again) == text
    assert to_data(again) == to_data(doc)


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("04 73 25 83 39", "+33473258339"),
        ("04.73.25.83.39", "+33473258339"),
        ("+33 4 73 25 83 39", "+33473258339"),
        ("0262 50 10 20", "+262262501020"),
        ("+596 596 60 12 34", "+596596601234"),
        ("0596 60 12 34", "+596596601234"),
        ("0692 12 34 56", "+262692123456"),
    ],
)
def test_phone_numbers_from_french_notations(raw: str, e164: str) -> None:
    assert to_e164(raw) == e164


@pytest.mark.parametrize("bad", ["04 73", "hello", "", "+99 123", "04 73 25 83 39 99"])
def test_bad_phone_numbers(bad: str) -> None:
    with pytest.raises(ValueError):
        to_e164(bad)


def test_every_problem_listed_at_once(demo: dict[str, Any]) -> None:
    data = copy.deepcopy(demo)
    data["structures"][0]["calendar"] = "nowhere"  # unknown calendar
    data["motives"][1]["digit"] = "1"  # duplicate keypad digit
    data["structures"][1]["departments"].append("63")  # department claimed twice
    data["referents"][0]["numbers"][0] = "04 73"  # not a phone number
    data["technicians"][0]["numbers"] = ["01 99 00 10 00"]  # the service's own number
    data["calendars"]["hotline"]["weekly"]["mon"] = ["09:00-12:00", "11:00-13:00"]  # overlap
    problems = problems_of(data)
    assert "calendrier inconnu « nowhere »" in problems["structures.0.calendar"]
    assert "la touche 1 sert à plusieurs motifs" in problems["motives"]
    assert (
        "le département 63 est revendiqué par « auvergne » et par « moselle »"
        in problems["structures.1.departments"]
    )
    assert "n'est pas un numéro de téléphone valable" in problems["referents.0.numbers.0"]
    assert "tournerait en boucle" in problems["technicians.0.numbers.0"]
    assert "se chevauchent" in problems["calendars.hotline.weekly.mon"]


def test_empty_rota_and_unknown_technician(demo: dict[str, Any]) -> None:
    data = copy.deepcopy(demo)
    data["oncall"]["schedule"]["rota"]["members"] = []
    assert "au moins 1 élément" in problems_of(data)["oncall.schedule.rota.members"]
    data["oncall"]["schedule"]["rota"]["members"] = ["alice", "zoe"]
    assert "technicien inconnu « zoe »" in problems_of(data)["oncall.schedule.rota.members.1"]


@pytest.mark.parametrize(
    ("mutate", "path", "message"),
    [
        (
            lambda d: d["structures"][3].pop("redirect_message"),
            "structures.3",
            "message de redirection",
        ),
        (
            lambda d: d["structures"][0].update(referents=["ghost"]),
            "structures.0.referents.0",
            "référent inconnu",
        ),
        (
            lambda d: d["structures"][0].update(departments=["6"]),
            "structures.0.departments.0",
            "n'est pas un numéro de département",
        ),
        (
            lambda d: d["contacts"][0].update(structure="ghost"),
            "contacts.0.structure",
            "structure inconnue",
        ),
        (
            lambda d: d["hotline"].update(numbers=["01 99 00 10 00"]),
            "hotline.numbers.0",
            "tournerait en boucle",
        ),
        (lambda d: d["prompts"].update(welcome="Bonjour {nom}"), "prompts", "unknown placeholder"),
        (
            lambda d: d["calendars"]["hotline"].update(timezone="Europe/Lutece"),
            "calendars.hotline.timezone",
            "fuseau horaire inconnu",
        ),
        (lambda d: d.update(oncall=None), "oncall", "aucune astreinte n'est configurée"),
        (lambda d: d.update(surprise=1), "surprise", "section inconnue"),
        (lambda d: d.pop("service"), "service", "obligatoire"),
        (
            lambda d: d["motives"][0].update(digit="12"),
            "motives.0.digit",
            "la forme n'est pas reconnue",
        ),
    ],
)
def test_bad_cases_name_their_path(
    demo: dict[str, Any], mutate: Any, path: str, message: str
) -> None:
    data = copy.deepcopy(demo)
    data.setdefault("prompts", {})
    mutate(data)
    problems = problems_of(data)
    assert path in problems, problems
    assert message in problems[path]


def test_not_a_mapping_and_bad_yaml() -> None:
    assert "ensemble de sections" in problems_of(["a list"])[""]
    with pytest.raises(ConfigInvalid, match="line 2"):
        load_yaml_text("service:\n  name: [unclosed\n")


def test_demo_has_no_coverage_warnings_this_winter(demo: dict[str, Any]) -> None:
    doc = validate_document(demo)
    assert coverage_warnings(doc, datetime(2026, 11, 22, tzinfo=UTC)) == []


def test_coverage_warnings(demo: dict[str, Any]) -> None:
    data = copy.deepcopy(demo)
    # A referent only available at night: never reachable when the structure opens.
    data["calendars"]["night"] = {"weekly": {"mon": ["20:00-23:00"]}}
    data["referents"][0]["calendar"] = "night"
    data["referents"][1]["calendar"] = "night"
    # All technicians gone: nobody on duty.
    for tech in data["technicians"]:
        tech["active"] = False
    # Handover at 02:30 on Sundays: 29 March 2026 has no 02:30 in Paris.
    data["oncall"]["schedule"]["rota"].update(
        handover_weekday="sun", handover_time="02:30", anchor="2026-01-04"
    )
    warnings = coverage_warnings(validate_document(data), datetime(2026, 3, 20, tzinfo=UTC))
    messages = [str(w) for w in warnings]
    assert any("aucun référent de « auvergne »" in m for m in messages)
    assert any("personne de joignable pour la fenêtre d'astreinte" in m for m in messages)
    assert any("la relève du 29/03/2026 à 02:30 tombe dans l'heure sautée" in m for m in messages)


@pytest.mark.parametrize(
    ("structure", "said"),
    [
        ("la structure Auvergne", "avec le référent de la structure Auvergne."),
        ("le Cantal", "avec le référent du Cantal."),
        ("les Vosges", "avec le référent des Vosges."),
        ("Auvergne", "avec le référent d'Auvergne."),
        ("Île-de-France", "avec le référent d'Île-de-France."),
        ("Bretagne", "avec le référent de Bretagne."),
    ],
)
def test_a_value_after_de_is_said_the_french_way(structure: str, said: str) -> None:
    assert Prompts().say("transfer_referent", structure=structure).endswith(said)


def test_contractions_only_where_a_value_meets_the_sentence() -> None:
    prompts = Prompts(welcome="Merci de le dire à {service}.")
    assert prompts.say("welcome", service="le service Gestion") == (
        "Merci de le dire au service Gestion."
    )
    assert Prompts().say("menu_item", label="un incident technique", digit="1") == (
        "Pour un incident technique, tapez 1."
    )
