"""Which passwords an account may have: long enough, not common, hard to guess.

A password is refused when it is shorter than MIN_LENGTH, longer than
MAX_LENGTH, or when zxcvbn's estimate scores it below MIN_SCORE (3 of 4: more
than about 10^10 guesses). The estimate knows zxcvbn's own lists (common
passwords, English words, names) and, as more lists, the account's username
and display name and the French common passwords of
`common_passwords_fr.txt`: "Motdepasse2024!" or "Astreinte63" are refused. A
password holding the username or a part of the display name (four letters
or more) is refused too: "alice.martin63" for Alice Martin.
The refusal says why, in French, from zxcvbn's feedback.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from functools import cache
from importlib import resources
from typing import Any

from zxcvbn import zxcvbn

MIN_LENGTH = 10
MAX_LENGTH = 200
MIN_SCORE = 3
ACCOUNT_WORD = 4
"""A part of the username or display name this long may not appear in the password."""
REFUSED = "Mot de passe trop faible : "

# zxcvbn keeps the extra list of each estimate in a module global: one at a time.
_estimating = threading.Lock()

WARNINGS = {
    "Straight rows of keys are easy to guess.": "une rangée de touches du clavier se devine "
    "facilement.",
    "Short keyboard patterns are easy to guess.": "un court motif du clavier se devine facilement.",
    'Repeats like "aaa" are easy to guess.': "les répétitions comme « aaa » se devinent "
    "facilement.",
    'Repeats like "abcabcabc" are only slightly harder to guess than "abc".': "une suite "
    "répétée comme « abcabcabc » se devine presque aussi vite que « abc ».",
    'Sequences like "abc" or "6543" are easy to guess.': "les suites comme « abc » ou "
    "« 6543 » se devinent facilement.",
    "Recent years are easy to guess.": "les années récentes se devinent facilement.",
    "Dates are often easy to guess.": "les dates se devinent facilement.",
    "This is a top-10 common password.": "c'est l'un des 10 mots de passe les plus courants.",
    "This is a top-100 common password.": "c'est l'un des 100 mots de passe les plus courants.",
    "This is a very common password.": "c'est un mot de passe très courant.",
    "This is similar to a commonly used password.": "il ressemble à un mot de passe très courant.",
    "A word by itself is easy to guess.": "un mot seul se devine facilement.",
    "Names and surnames by themselves are easy to guess.": "un prénom ou un nom seul se devine "
    "facilement.",
    "Common names and surnames are easy to guess.": "les prénoms et noms courants se devinent "
    "facilement.",
}
ACCOUNT = "il reprend l'identifiant ou le nom du compte."
COMMON = "il repose sur un mot de passe très courant."
TOO_EASY = "il se devine trop vite."
ADVICE = " Une phrase de quatre ou cinq mots peu courants est plus sûre."


@cache
def common_passwords() -> tuple[str, ...]:
    """The French list, most common first (lower case)."""
    text = resources.files(__package__).joinpath("common_passwords_fr.txt").read_text("utf-8")
    lines = (line.strip() for line in text.splitlines())
    return tuple(line for line in lines if line and not line.startswith("#"))


def password_problem(password: str, account: Sequence[str] = ()) -> str | None:
    """Why `password` is refused (French, starting "Mot de passe trop faible : "), or None.

    `account` holds what an attacker knows of the account: its username and
    display name.
    """
    if len(password) < MIN_LENGTH:
        return f"{REFUSED}{MIN_LENGTH} caractères au moins."
    if len(password) > MAX_LENGTH:
        return f"Mot de passe trop long : {MAX_LENGTH} caractères au plus."
    words = _account_words(account)
    if any(len(word) >= ACCOUNT_WORD and word in password.lower() for word in words):
        return REFUSED + ACCOUNT + ADVICE
    with _estimating:
        result = zxcvbn(password, user_inputs=[*words, *common_passwords()], max_length=MAX_LENGTH)
    if result["score"] >= MIN_SCORE:
        return None
    return REFUSED + _reason(result, set(words)) + ADVICE


def _account_words(account: Iterable[str]) -> list[str]:
    """The account's names and their parts ("Alice Martin": alice martin, alice, martin)."""
    words: list[str] = []
    for value in account:
        value = value.strip().lower()
        parts = [value, *value.replace(".", " ").replace("-", " ").replace("_", " ").split()]
        words.extend(p for p in parts if len(p) >= 3 and p not in words)
    return words


def _reason(result: dict[str, Any], account: set[str]) -> str:
    own = [m for m in result["sequence"] if m.get("dictionary_name") == "user_inputs"]
    if any(m["matched_word"] in account for m in own):
        return ACCOUNT
    if own:
        return COMMON
    warning = result["feedback"]["warning"]
    return WARNINGS.get(warning, TOO_EASY)
