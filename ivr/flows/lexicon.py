"""French as callers speak it, for the speech menu (`ivr.flows.understanding`).

Pure: normalisation (case, accents, punctuation, elisions), the words that
carry no motive, keys said as words ("le deux", "option trois"), everyday
synonyms and a light stem, and "oui" / "non" to a question.
"""

from __future__ import annotations

import itertools
import unicodedata

# Elided words once the apostrophe is gone: "l'appli", "j'ai", "qu'il", "c'est".
ELIDED = frozenset({"l", "d", "j", "m", "n", "s", "t", "c", "qu", "jusqu", "lorsqu", "puisqu"})
# Words that carry no motive: left out of word-by-word comparisons.
_STOPWORDS = (
    "le la les un une des de du au aux a y en et ou mais donc car que qui quoi dont "
    "je tu il elle on nous vous ils elles me te se moi toi lui "
    "mon ma mes ton ta tes son sa ses notre nos votre vos leur leurs "
    "ce cet cette ces ca cela est sont suis es etes sommes ai as avons avez ont "
    "ne pour par sur dans avec chez tres bien vraiment "
    "bonjour bonsoir allo oui euh heu hum ben bah alors voila merci madame monsieur "
    "voudrais veux voulais souhaite souhaiterais aimerais appelle appel appelais"
)
STOPWORDS = frozenset(_STOPWORDS.split())
NUMBERS = {
    "0": "0", "zero": "0",
    "1": "1", "un": "1", "premier": "1", "premiere": "1",
    "2": "2", "deux": "2", "deuxieme": "2", "second": "2", "seconde": "2",
    "3": "3", "trois": "3", "troisieme": "3",
    "4": "4", "quatre": "4", "quatrieme": "4",
    "5": "5", "cinq": "5", "cinquieme": "5",
    "6": "6", "six": "6", "sixieme": "6",
    "7": "7", "sept": "7", "septieme": "7",
    "8": "8", "huit": "8", "huitieme": "8",
    "9": "9", "neuf": "9", "neuvieme": "9",
}  # fmt: skip
# Words that announce a key: "option trois", "touche 2", "tapez un".
KEY_CUES = frozenset({"option", "touche", "tapez", "tape", "taper", "tapes", "choix", "numero"})
# What may surround a number said alone: "euh le deux", "je prends la trois".
NUMBER_FILLERS = STOPWORDS | KEY_CUES | {
    "prends", "prend", "choisis", "choisir", "appuie", "appuyer", "appuyez", "fais", "faire",
    "plait", "sil", "ok", "okay", "daccord",
}  # fmt: skip

# Everyday variants of a word callers use (after normalisation).
SYNONYMS = {
    "souci": "probleme", "soucis": "probleme", "pb": "probleme", "bug": "bug", "beug": "bug",
    "appli": "logiciel", "application": "logiciel", "programme": "logiciel",
    "courriel": "mail", "courriels": "mail", "mails": "mail", "email": "mail", "emails": "mail",
    "mel": "mail", "mels": "mail", "rade": "panne", "hs": "panne", "down": "panne",
    "fige": "bloque", "gele": "bloque", "freeze": "bloque",
}  # fmt: skip
# Endings stripped from words of 5 letters or more (longest first), so that
# "planté", "plantait" and "plante" meet; "-ent" stays ("urgent").
SUFFIXES = ("aient", "ees", "ais", "ait", "ee", "es", "ez", "er", "ir", "e", "s")

YES = frozenset({"oui", "ouais", "ouai", "exactement", "voila", "absolument", "affirmatif"})
YES_PHRASES = ("c est ca", "c est bien ca", "tout a fait", "bien sur", "d accord", "c est exact")
NO = frozenset({"non", "nan", "negatif"})
NO_PHRASES = ("pas ca", "pas du tout", "pas exactement", "pas le bon", "pas bon")


def normalise(text: str) -> str:
    """Lowercase, no accents, no punctuation, single spaces ("L'appli !" -> "l appli")."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    plain = plain.replace("œ", "oe").replace("æ", "ae")
    return " ".join("".join(c if c.isalnum() else " " for c in plain).split())


def words(text: str) -> list[str]:
    """The normalised words, elided articles and pronouns dropped ("j'ai" -> "ai")."""
    return [w for w in normalise(text).split() if w not in ELIDED]


def meaning(word: str) -> str:
    """A normalised word reduced to what it means here: a common synonym, then a
    light stem ("souci" -> "probleme" -> "problem", "ouvrir" / "ouvre" -> "ouvr")."""
    word = SYNONYMS.get(word, word)
    if len(word) >= 5:
        for suffix in SUFFIXES:
            if word.endswith(suffix) and len(word) - len(suffix) >= 4:
                return word[: -len(suffix)]
    return word


def spoken_digit(text: str) -> str | None:
    """The key a caller names instead of describing: "le deux", "option trois", "2".

    A number counts when a cue announces it ("option", "touche", "tapez") or
    when nothing but filler surrounds it; "j'ai un problème" names no key.
    """
    said = words(text)
    for cue, following in itertools.pairwise(said):
        if cue in KEY_CUES and following in NUMBERS:
            return NUMBERS[following]
    numbers = [NUMBERS[w] for w in said if w in NUMBERS]
    if len(numbers) == 1 and all(w in NUMBERS or w in NUMBER_FILLERS for w in said):
        return numbers[0]
    return None


def answer_yes_no(text: str, digits: str = "") -> bool | None:
    """A confirmation's answer: True (oui, 1), False (non, 2), None (something else)."""
    key = digits.strip() or spoken_digit(text) or ""
    if key in ("1", "2"):
        return key == "1"
    said = words(text)
    heard = f" {' '.join(said)} "
    if NO & set(said) or any(f" {p} " in heard for p in NO_PHRASES):
        return False
    if YES & set(said) or any(f" {p} " in heard for p in YES_PHRASES):
        return True
    return None
