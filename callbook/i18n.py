"""The translation catalogs, shared by the call book and the web service.

Source strings (msgids) are French: the templates and the code read as the
hotline's managers read them, and French needs no catalog. English is the
second locale, `translations/en/LC_MESSAGES/messages.po` (and its compiled
`.mo`, committed). The catalogs live here, not in `ivr`, because
`callbook.labels` translates stored codes and may not import `ivr`; the web
service points Flask-Babel at the same directory.
"""

from __future__ import annotations

from functools import lru_cache
from gettext import NullTranslations
from pathlib import Path

from babel.support import Translations

CATALOGS = Path(__file__).resolve().parent / "translations"
DEFAULT_LOCALE = "fr"
LOCALES: tuple[tuple[str, str], ...] = (("fr", "Français"), ("en", "English"))
"""Locales a user may choose, with their names in their own language."""


def N_(message: str) -> str:
    """Mark `message` for extraction; it is translated where it is shown."""
    return message


def known_locale(locale: str | None) -> str:
    """`locale` when it is one of LOCALES, else the default (French)."""
    return locale if locale in dict(LOCALES) else DEFAULT_LOCALE


@lru_cache(maxsize=8)
def translations(locale: str) -> NullTranslations:
    """The catalog of `locale` (French, the source language, translates nothing)."""
    if known_locale(locale) == DEFAULT_LOCALE:
        return NullTranslations()
    return Translations.load(str(CATALOGS), [locale])


def gettext(message: str, locale: str = DEFAULT_LOCALE) -> str:
    """`message` (French) in `locale`; the French text when no translation exists."""
    return translations(locale).gettext(message)
