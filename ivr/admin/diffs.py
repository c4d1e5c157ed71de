"""Readable differences between two configuration documents (plain data).

Two views of the same change: a list of what changed, with items named by
their id ("structures[auvergne].referents"), and the unified diff of the
canonical YAML (what `ivr config diff` prints).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

from ivr.config import dump_yaml_text

IDENTITY_KEYS = ("id", "key", "number")


@dataclass(frozen=True, slots=True)
class Change:
    path: str
    old: Any
    new: Any

    @property
    def kind(self) -> str:
        if self.old is None:
            return "added"
        if self.new is None:
            return "removed"
        return "changed"


def summarize(before: Any, after: Any, path: str = "") -> list[Change]:
    """Every difference; list items with an id/key are matched by it, not by position."""
    if isinstance(before, dict) and isinstance(after, dict):
        out: list[Change] = []
        for key in [*before, *(k for k in after if k not in before)]:
            out.extend(summarize(before.get(key), after.get(key), _join(path, str(key))))
        return out
    if isinstance(before, list) and isinstance(after, list):
        identity = _identity(before + after)
        if identity is not None:
            return _summarize_keyed(before, after, path, identity)
    if before == after:
        return []
    return [Change(path, before, after)]


def _identity(items: list[Any]) -> str | None:
    for key in IDENTITY_KEYS:
        if items and all(isinstance(i, dict) and isinstance(i.get(key), str) for i in items):
            return key
    return None


def _summarize_keyed(before: list[Any], after: list[Any], path: str, key: str) -> list[Change]:
    old = {item[key]: item for item in before}
    new = {item[key]: item for item in after}
    out: list[Change] = []
    for name in [*old, *(n for n in new if n not in old)]:
        out.extend(summarize(old.get(name), new.get(name), f"{path}[{name}]"))
    if not out and [i[key] for i in before] != [i[key] for i in after]:
        out.append(Change(f"{path} (ordre)", [i[key] for i in before], [i[key] for i in after]))
    return out


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def yaml_diff(
    before: dict[str, Any], after: dict[str, Any], from_label: str, to_label: str
) -> list[tuple[str, str]]:
    """(css class, line) of the unified diff of the two documents' YAML."""
    lines = difflib.unified_diff(
        dump_yaml_text(before).splitlines(),
        dump_yaml_text(after).splitlines(),
        fromfile=from_label,
        tofile=to_label,
        lineterm="",
    )
    return [(_css(line), line) for line in lines]


def _css(line: str) -> str:
    if line.startswith(("+++", "---")):
        return "hunk"
    if line.startswith("+"):
        return "add"
    if line.startswith("-"):
        return "del"
    if line.startswith("@@"):
        return "hunk"
    return "ctx"


def short(value: Any, limit: int = 120) -> str:
    """A value in one line, for tables."""
    if value is None:
        return "—"
    if isinstance(value, list):
        text = ", ".join(short(v, limit) for v in value)
    elif isinstance(value, dict):
        text = ", ".join(f"{k}: {short(v, limit)}" for k, v in value.items())
    else:
        text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
