"""What callers say at the menu, understood (ivr.flows.understanding), on the demo motives."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from ivr.config import ConfigDocument, demo_yaml_text, validate_document
from ivr.config.document import Motive
from ivr.flows.lexicon import answer_yes_no, meaning, normalise, spoken_digit, words
from ivr.flows.understanding import Heard, Phrase, hints, phrase_score, understand

CORPUS = Path(__file__).with_name("speech_corpus.yaml")


@pytest.fixture(scope="module")
def doc() -> ConfigDocument:
    return validate_document(yaml.safe_load(demo_yaml_text()))


def corpus() -> list[dict[str, str]]:
    return list(yaml.safe_load(CORPUS.read_text(encoding="utf-8")))


def grade(doc: ConfigDocument, said: str, expected: str) -> str:
    """'correct', 'wrong' or 'neither', as tests/speech_corpus.yaml defines them."""
    understood = understand(doc.motives, said)
    if understood.outcome == "route":
        return "correct" if understood.motive == expected else "wrong"
    if expected == "none":
        return "correct" if understood.outcome == "retry" else "neither"
    if understood.outcome == "confirm" and understood.motive == expected:
        return "correct"
    return "neither"


# -- normalisation ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Ça MARCHE plus !", "ca marche plus"),
        ("l’appli… elle a planté", "l appli elle a planté".replace("é", "e")),
        ("Mot-de-passe  oublié ?", "mot de passe oublie"),
        ("cœur", "coeur"),
        ("  ", ""),
    ],
)
def test_normalise_drops_case_accents_and_punctuation(text: str, expected: str) -> None:
    assert normalise(text) == expected


def test_elided_words_are_dropped() -> None:
    assert words("J'ai plus accès à l'appli, c'est qu'il bloque") == [
        "ai", "plus", "acces", "a", "appli", "est", "il", "bloque",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("phrase", "heard"),
    [
        ("l'appli a planté", "la pli a planté"),  # a word split by the recogniser
        ("mot de passe oublié", "motdepasse oublié"),  # words merged
        ("mot de passe", "mots de passe"),
        ("licence", "lisence"),  # a misspelling
        ("message d'erreur", "un message d erreur"),
    ],
)
def test_split_merged_and_misspelt_words_still_match(phrase: str, heard: str) -> None:
    prepared = Phrase.of(phrase)
    assert prepared is not None
    assert phrase_score(prepared, Heard.of(heard)) >= 82


def test_unrelated_words_do_not_match() -> None:
    prepared = Phrase.of("le serveur est tombé")
    assert prepared is not None
    assert phrase_score(prepared, Heard.of("je voudrais réserver un billet")) < 72
    assert phrase_score(prepared, Heard.of("euh")) == 0


# -- keys said as words -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("said", "digit"),
    [
        ("le deux", "2"),
        ("deux", "2"),
        ("2", "2"),
        ("option trois", "3"),
        ("tapez un", "1"),
        ("euh la deuxième option", "2"),
        ("touche 4 s'il vous plaît", "4"),
        ("je prends le neuf", "9"),
        ("le premier", "1"),
        ("option trois pour mon mot de passe", "3"),
    ],
)
def test_a_key_said_as_a_word(said: str, digit: str) -> None:
    assert spoken_digit(said) == digit


@pytest.mark.parametrize(
    "said", ["j'ai un problème", "deux fois que ça plante", "c'est ma première connexion", ""]
)
def test_numbers_in_a_sentence_name_no_key(said: str) -> None:
    assert spoken_digit(said) is None


def test_a_key_said_as_a_word_routes_to_its_motive(doc: ConfigDocument) -> None:
    understood = understand(doc.motives, "le deux")
    assert (understood.outcome, understood.motive, understood.via) == ("route", "usage", "number")
    assert understand(doc.motives, "sept").outcome == "retry"  # no motive on 7


# -- decisions ---------------------------------------------------------------------------


def test_a_colloquial_incident_routes_at_once(doc: ConfigDocument) -> None:
    understood = understand(doc.motives, "ça marche plus du tout")
    assert (understood.outcome, understood.motive) == ("route", "incident")


def test_two_motives_heard_well_are_asked_back(doc: ConfigDocument) -> None:
    # An object (the account) and a symptom (blocked): the caller is asked.
    understood = understand(doc.motives, "mon compte est bloqué")
    assert (understood.outcome, understood.motive) == ("confirm", "account")
    assert understood.runner_up == "incident"


def test_a_low_recogniser_confidence_is_asked_back(doc: ConfigDocument) -> None:
    assert understand(doc.motives, "ça marche plus du tout", 0.92).outcome == "route"
    assert understand(doc.motives, "ça marche plus du tout", 0.2).outcome == "confirm"
    # Some recognisers send no confidence (0 or nothing): the words decide.
    assert understand(doc.motives, "ça marche plus du tout", 0.0).outcome == "route"
    assert understand(doc.motives, "le deux", 0.15).outcome == "confirm"  # "deux", really?


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=120))
def test_any_text_gets_one_of_three_decisions(doc: ConfigDocument, text: str) -> None:
    understood = understand(doc.motives, text)
    assert understood.outcome in ("route", "confirm", "retry")
    assert (understood.motive == "") == (understood.outcome == "retry")


@pytest.mark.parametrize(
    "said",
    [
        "je voudrais commander une pizza",
        "bonjour",
        "euh",
        "je voudrais réserver un billet de train",
    ],
)
def test_out_of_scope_is_asked_again(doc: ConfigDocument, said: str) -> None:
    assert understand(doc.motives, said).outcome == "retry"


@pytest.mark.parametrize(
    ("said", "digits", "answer"),
    [
        ("oui", "", True),
        ("oui c'est bien ça", "", True),
        ("exactement", "", True),
        ("", "1", True),
        ("non", "", False),
        ("non c'est pas ça", "", False),
        ("c'est pas ça du tout", "", False),
        ("", "2", False),
        ("deux", "", False),
        ("pour mon mot de passe", "", None),
        ("", "7", None),
    ],
)
def test_yes_or_no(said: str, digits: str, answer: bool | None) -> None:
    assert answer_yes_no(said, digits) is answer


# -- the corpus --------------------------------------------------------------------------


def test_the_corpus_is_large_and_covers_every_motive(doc: ConfigDocument) -> None:
    entries = corpus()
    assert len(entries) >= 60
    expected = Counter(entry["motive"] for entry in entries)
    assert set(expected) == {m.key for m in doc.motives} | {"none"}


def test_the_matcher_on_the_corpus(doc: ConfigDocument) -> None:
    """>= 90 % correct, <= 2 % wrong (definitions in tests/speech_corpus.yaml)."""
    grades = {entry["said"]: grade(doc, entry["said"], entry["motive"]) for entry in corpus()}
    counts = Counter(grades.values())
    total = len(grades)
    wrong = [said for said, g in grades.items() if g == "wrong"]
    assert counts["correct"] / total >= 0.90, counts
    assert len(wrong) / total <= 0.02, wrong


# -- hints and the configuration ---------------------------------------------------------


def test_hints_come_from_every_motive(doc: ConfigDocument) -> None:
    listed = hints(doc.motives).split(", ")
    assert "mot de passe" in listed and "ça ne marche plus" in listed and "annuaire" in listed
    assert all(0 < len(hint) <= 100 for hint in listed)
    assert len(listed) == len(set(listed)) <= 500


def motive(**extra: Any) -> dict[str, Any]:
    return {"key": "incident", "label": "un incident", "digit": "1", "family": "incident"} | extra


def test_phrases_are_cleaned_and_deduplicated() -> None:
    parsed = Motive.model_validate(motive(phrases=["  ça  plante ", "Ça plante", "écran noir"]))
    assert parsed.phrases == ["ça plante", "écran noir"]


@pytest.mark.parametrize(
    ("phrases", "message"),
    [
        (["  "], "a phrase is empty"),
        (["x" * 101], "at most 100 characters"),
        ([f"phrase {i}" for i in range(61)], "at most 60 phrases"),
    ],
)
def test_phrases_have_limits(phrases: list[str], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Motive.model_validate(motive(phrases=phrases))


def test_a_phrase_in_two_motives_is_refused(doc: ConfigDocument) -> None:
    data = yaml.safe_load(demo_yaml_text())
    data["motives"][1]["phrases"].append("Ça ne marche plus")
    with pytest.raises(
        ValueError, match="la phrase « ça ne marche plus » appartient à plusieurs motifs"
    ):
        validate_document(data)


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("planté", "plantait"),
        ("ouvrir", "ouvre"),
        ("questions", "question"),
        ("souci", "problème"),
        ("l'appli", "le logiciel"),
        ("courriels", "mails"),
    ],
)
def test_variants_of_a_word_mean_the_same(one: str, other: str) -> None:
    assert [meaning(w) for w in words(one)][-1] == [meaning(w) for w in words(other)][-1]


def test_urgent_keeps_its_ending() -> None:
    assert meaning("urgent") == "urgent" and meaning("questions") == "question"


def test_several_words_of_one_motive_outweigh_one_of_another(doc: ConfigDocument) -> None:
    understood = understand(doc.motives, "tout le serveur est planté c'est très urgent")
    assert (understood.motive, understood.runner_up) == ("emergency", "incident")
    assert understood.outcome == "confirm"  # both heard well: asked, not guessed
