"""The translation catalogs: complete for English, compiled files up to date.

French is the source language (the msgids); `callbook/translations/en` holds
the English catalog, its `.po` edited by people and its `.mo` compiled and
committed. See the README, "Translations", to update them.
"""

from __future__ import annotations

import re
from io import BytesIO
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po

from callbook import labels
from callbook.i18n import CATALOGS, LOCALES, gettext

ROOT = Path(__file__).resolve().parent.parent
KEYWORDS = {**DEFAULT_KEYWORDS, "lazy_gettext": None}
METHODS = [
    ("ivr/**.py", "python"),
    ("callbook/**.py", "python"),
    ("ivr/admin/templates/**.html", "jinja2"),
]
PLACEHOLDER = re.compile(r"%\(\w+\)s|\{\w+\}")


def _catalog_dirs() -> list[Path]:
    return sorted(p for p in CATALOGS.iterdir() if (p / "LC_MESSAGES" / "messages.po").exists())


def _messages(catalog: object) -> dict[object, object]:
    """msgid -> translation (plurals as tuples), the header left out."""

    def frozen(value: object) -> object:
        return tuple(value) if isinstance(value, list | tuple) else value

    return {frozen(m.id): frozen(m.string) for m in catalog if m.id}  # type: ignore[attr-defined]


def _source_msgids() -> set[str]:
    """Every msgid marked in the code and the templates (plurals by their singular)."""
    found: set[str] = set()
    for _name, _line, message, _comments, _context in extract_from_dir(
        str(ROOT), METHODS, keywords=KEYWORDS
    ):
        found.add(message[0] if isinstance(message, tuple) else message)
    return found


def test_babel_cfg_lists_the_same_sources_as_this_test() -> None:
    cfg = (ROOT / "babel.cfg").read_text(encoding="utf-8")
    assert re.findall(r"^\[(\w+): (.+)\]$", cfg, re.MULTILINE) == [(m, p) for p, m in METHODS]


def test_every_locale_but_french_has_a_catalog() -> None:
    assert [p.name for p in _catalog_dirs()] == [code for code, _ in LOCALES if code != "fr"]


@pytest.mark.parametrize("directory", _catalog_dirs(), ids=lambda p: p.name)
def test_the_committed_mo_is_compiled_from_the_po(directory: Path) -> None:
    folder = directory / "LC_MESSAGES"
    with (folder / "messages.po").open("rb") as po:
        source = read_po(po, locale=directory.name)
    fresh = BytesIO()
    write_mo(fresh, source)
    fresh.seek(0)
    with (folder / "messages.mo").open("rb") as mo:
        committed = read_mo(mo)
    assert _messages(committed) == _messages(read_mo(fresh)), (
        "messages.mo is older than messages.po: run `pybabel compile -d callbook/translations`"
    )


def test_every_marked_string_has_an_english_translation() -> None:
    with (CATALOGS / "en" / "LC_MESSAGES" / "messages.po").open("rb") as po:
        english = read_po(po, locale="en")
    translated = {
        (m.id[0] if isinstance(m.id, tuple) else m.id)
        for m in english
        if m.id and not m.fuzzy and all(m.string if isinstance(m.string, tuple) else (m.string,))
    }
    missing = sorted(_source_msgids() - translated)
    assert missing == [], f"{len(missing)} strings without English: {missing[:20]}"


def test_translations_keep_the_placeholders() -> None:
    with (CATALOGS / "en" / "LC_MESSAGES" / "messages.po").open("rb") as po:
        english = read_po(po, locale="en")
    for message in english:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        for source, text in zip(ids, strings, strict=False):
            assert sorted(PLACEHOLDER.findall(source)) == sorted(PLACEHOLDER.findall(text)), source


def test_every_label_reads_in_french_and_in_english() -> None:
    for kind, codes in labels.kinds().items():
        for code in codes:
            french = labels.label(kind, code)
            english = labels.label(kind, code, "en")
            assert french != code or kind == "actor", (kind, code)
            assert english, (kind, code)
            assert gettext(french, "en") == english
    assert labels.label("priority", "high") == "Haute"
    assert labels.label("priority", "high", "en") == "High"
    assert labels.label("call_status", "no-answer", "en") == "No answer"
    assert labels.label("priority", "someday") == "someday"  # unknown codes are shown as is
    assert labels.label("priority", None) == "—"
    assert labels.choices("role", "en") == [
        ("admin", "Administrator"),
        ("technician", "Technician"),
        ("viewer", "Viewer"),
        ("referent", "Referent"),
    ]
