"""What a caller says at the menu, understood: normalised, scored against every
motive, and turned into one of three decisions.

Pure (no Flask, no database): the menu step (`ivr.flows.menu`) calls
`understand` with the text Twilio's recogniser heard (`SpeechResult`) and its
`Confidence`.

- **route**: one motive is clearly meant (a number said as a word, "le deux",
  or a phrase of the motive's vocabulary heard well enough, well ahead of the
  others) and the recogniser was not unsure;
- **confirm**: a motive is likely but not certain (its score lies between the
  two thresholds, another motive is close, or the recogniser's confidence is
  low): the caller is asked "c'est bien ça ?";
- **retry**: nothing is close enough; the caller is asked again and reminded
  of the keypad. A weak guess never sends a call to a team.

A motive's vocabulary is its spoken label, its `keywords` and its `phrases`
(configuration document). The comparison is tolerant (rapidfuzz): accents,
case, punctuation and elisions are dropped ("l'appli" -> "appli"), words the
recogniser splits or merges are compared squashed ("la pli" ~ "appli",
"motdepasse" = "mot de passe"), and small misspellings still count.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from rapidfuzz import fuzz, process

from ivr.config import Motive
from ivr.flows.lexicon import STOPWORDS, meaning, normalise, spoken_digit, words

# Scores are 0-100 (rapidfuzz's scale).
ROUTE_SCORE = 88.0  # at or above: the motive is meant ...
ROUTE_MARGIN = 6.0  # ... if no other motive comes within this margin
CONFIRM_SCORE = 72.0  # at or above (and not routed): ask "c'est bien ça ?"
LOW_CONFIDENCE = 0.4  # Twilio's Confidence (0-1) under this: confirm, never route
TOKEN_CUTOFF = 82.0  # a word of a phrase under this similarity is not heard
EVIDENCE_BONUS = 4.0  # per further distinct word of the motive's vocabulary heard
SPECIFIC_BONUS = 6.0  # per meaningful word past the first, for a phrase heard whole
SQUASHED_MIN_LENGTH = 6  # shorter phrases are compared word by word only
MAX_HINTS = 500  # Twilio's limit

Outcome = Literal["route", "confirm", "retry"]

# Words that frame a request more than they name it ("une question", "un problème").
GENERIC_WEIGHT = 0.9


def _content(said: list[str]) -> tuple[str, ...]:
    return tuple(meaning(w) for w in said if w not in STOPWORDS)


GENERIC = frozenset(
    meaning(w) for w in ("question", "probleme", "demande", "logiciel", "besoin", "aide")
)


@dataclass(frozen=True, slots=True)
class Phrase:
    """One entry of a motive's vocabulary, prepared for comparison."""

    content: tuple[str, ...]  # the words that carry meaning
    words: int  # how many words in all
    squashed: str  # every word, spaces removed: "motdepasse"
    squashed_content: str  # content words only, spaces removed

    @classmethod
    def of(cls, text: str) -> Phrase | None:
        said = words(text)
        content = _content(said)
        if not content:
            return None
        return cls(content, len(said), "".join(said), "".join(content))


@dataclass(frozen=True, slots=True)
class Heard:
    """The caller's sentence, prepared once for every phrase."""

    content: tuple[str, ...]
    candidates: tuple[str, ...]  # content words, and runs of 2-3 words squashed
    squashed: str
    squashed_content: str
    known: dict[str, float] = field(default_factory=dict, compare=False)  # word scores

    @classmethod
    def of(cls, text: str) -> Heard:
        said = words(text)
        content = _content(said)
        runs = {"".join(said[i : i + n]) for n in (2, 3) for i in range(len(said) - n + 1)}
        return cls(content, (*content, *sorted(runs)), "".join(said), "".join(content))


def _word_score(word: str, heard: Heard) -> float:
    """How well one word of a phrase is heard (0-100); each word is compared once."""
    if word in heard.known:
        return heard.known[word]
    if len(word) <= 3:  # "bug", "mot": too short to be fuzzy about
        best = 100.0 if word in heard.candidates else 0.0
    else:
        found = process.extractOne(
            word, heard.candidates, scorer=fuzz.ratio, score_cutoff=TOKEN_CUTOFF
        )
        best = found[1] if found else 0.0
    score = heard.known[word] = best * GENERIC_WEIGHT if word in GENERIC else best
    return score


def _squashed_score(phrase: Phrase, heard: Heard) -> float:
    """The phrase against the whole sentence, spaces removed ("motdepasse", "la pli")."""
    best = 0.0
    for mine, theirs in (
        (phrase.squashed, heard.squashed),
        (phrase.squashed_content, heard.squashed_content),
    ):
        if len(mine) < SQUASHED_MIN_LENGTH or not theirs:
            continue
        # partial_ratio slides the shorter text along the longer: only the phrase may slide.
        compare = fuzz.partial_ratio if len(theirs) >= len(mine) else fuzz.ratio
        score = compare(mine, theirs, score_cutoff=TOKEN_CUTOFF)
        best = max(best, score)
    return best if best >= TOKEN_CUTOFF else 0.0


def phrase_score(phrase: Phrase, heard: Heard) -> float:
    """How well `heard` contains `phrase` (0-100, a little more for long phrases)."""
    by_word = sum(_word_score(w, heard) for w in phrase.content) / len(phrase.content)
    # Squashed, a phrase of one meaningful word would find it inside any longer word.
    squashed = 0.0
    if len(phrase.content) > 1 and by_word < 95:
        squashed = _squashed_score(phrase, heard)
    best = max(by_word, squashed)
    # A phrase of several meaningful words heard whole says more than one word.
    return best + (SPECIFIC_BONUS * min(len(phrase.content) - 1, 2) if best >= 95 else 0.0)


@dataclass(frozen=True, slots=True)
class Understanding:
    """The decision on one sentence, with what it rests on (recorded as an event)."""

    outcome: Outcome
    motive: str = ""  # the motive to route to or to confirm
    score: float = 0.0
    runner_up: str = ""
    runner_up_score: float = 0.0
    via: Literal["", "number", "phrase"] = ""
    confidence: float | None = None  # the recogniser's, as Twilio sent it


def vocabulary(motive: Motive) -> list[str]:
    """What a caller may say for `motive`: its label, keywords and phrases."""
    return [motive.label, *motive.keywords, *motive.phrases]


@functools.lru_cache(maxsize=16)
def _prepared(
    entries: tuple[tuple[str, tuple[str, ...]], ...],
) -> tuple[tuple[str, tuple[Phrase, ...]], ...]:
    out = []
    for key, texts in entries:
        phrases = (Phrase.of(text) for text in texts)
        out.append((key, tuple(p for p in phrases if p is not None)))
    return tuple(out)


def _vocabularies(motives: Iterable[Motive]) -> tuple[tuple[str, tuple[Phrase, ...]], ...]:
    return _prepared(tuple((m.key, tuple(vocabulary(m))) for m in motives))


def scores(motives: Sequence[Motive], text: str) -> list[tuple[float, str]]:
    """(score, motive key) for every motive, best first.

    A motive scores its best phrase, and a little more when the sentence
    holds several distinct words of its vocabulary ("le serveur est planté,
    c'est urgent": two words of the emergency, one of the incident).
    """
    heard = Heard.of(text)
    if not heard.content and not heard.squashed:
        return []
    out = []
    for key, phrases in _vocabularies(motives):
        best = max((phrase_score(p, heard) for p in phrases), default=0.0)
        found = {w for p in phrases for w in p.content if _word_score(w, heard) >= 95}
        if best >= CONFIRM_SCORE and len(found) > 1:
            best += EVIDENCE_BONUS * min(len(found) - 1, 2)
        out.append((round(best, 1), key))
    out.sort(key=lambda pair: pair[0], reverse=True)
    return out


def understand(
    motives: Sequence[Motive], text: str, confidence: float | None = None
) -> Understanding:
    """Route, confirm or ask again, for what the caller said (see the module's doc)."""
    unsure = confidence is not None and 0 < confidence < LOW_CONFIDENCE
    digit = spoken_digit(text)
    if digit is not None:
        motive = next((m for m in motives if m.digit == digit), None)
        if motive is None:
            return Understanding("retry", via="number", confidence=confidence)
        outcome: Outcome = "confirm" if unsure else "route"
        return Understanding(outcome, motive.key, 100.0, via="number", confidence=confidence)
    ranked = scores(motives, text)
    if not ranked or ranked[0][0] < CONFIRM_SCORE:
        score, guess = ranked[0] if ranked else (0.0, "")
        return Understanding(
            "retry", score=score, runner_up=guess if score else "", confidence=confidence
        )
    (top, key), (second, other) = ranked[0], (ranked[1] if len(ranked) > 1 else (0.0, ""))
    # Two motives heard well (a symptom and an object: "mon identifiant ne marche
    # plus") is a question to ask, not a guess to make.
    alone = second < ROUTE_SCORE and top - second >= ROUTE_MARGIN
    clear = top >= ROUTE_SCORE and alone and not unsure
    return Understanding(
        "route" if clear else "confirm", key, top, other, second, "phrase", confidence
    )


def hints(motives: Iterable[Motive]) -> str:
    """Twilio's `hints` for the menu's <Gather>: the motives' vocabulary, comma-separated.

    Twilio takes at most 500 entries of at most 100 characters, words
    separated by spaces. The motives take turns, so each is heard of even
    when the list is cut.
    """
    vocabularies = [vocabulary(motive) for motive in motives]
    seen: dict[str, str] = {}
    for entries in itertools.zip_longest(*vocabularies, fillvalue=""):
        for text in entries:
            text = " ".join(text.replace(",", " ").split())
            if text and len(text) <= 100:
                seen.setdefault(normalise(text), text)
    return ", ".join(list(seen.values())[:MAX_HINTS])
