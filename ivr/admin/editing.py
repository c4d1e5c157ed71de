"""What every editing page shares: field errors, list parsing, saving to the draft."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from flask import flash
from flask_babel import gettext
from markupsafe import Markup, escape
from sqlalchemy.orm import Session

from ivr.admin.auth import current_user
from ivr.admin.drafts import Working, save_edit
from ivr.config import ConfigInvalid
from ivr.i18n import current_locale


class Shown(str):
    """A problem shown above a form. As a string it is "path: message", which some
    pages take apart to move a problem next to its field; a page shows `sentence`,
    the field named in words ("structure n° 1 › référent n° 2 : référent inconnu")."""

    sentence: str

    def __new__(cls, text: str, sentence: str) -> Shown:
        shown = super().__new__(cls, text)
        shown.sentence = sentence
        return shown

    def __html__(self) -> Markup:
        return escape(self.sentence)


class FieldErrors:
    """Messages per form field (a dotted path below the edited item) and the others.

    `errors("weekly")` answers the messages of "weekly" and of everything
    below it ("weekly.mon.0"), so a template shows them next to that field.
    """

    def __init__(self) -> None:
        self.fields: dict[str, list[str]] = {}
        self.other: list[str] = []

    @classmethod
    def from_invalid(cls, exc: ConfigInvalid, prefix: str) -> FieldErrors:
        """Problems under `prefix` ("structures.0") by field; the rest in `other`.

        A problem about the item itself ("structures.0: needs a referent")
        or about another part of the document is shown above the form.
        """
        errors = cls()
        locale = current_locale()
        for problem in exc.problems:
            if prefix and problem.path.startswith(prefix + "."):
                errors.add(problem.path[len(prefix) + 1 :], problem.in_locale(locale))
            else:
                text = f"{problem.path or '(document)'}: {problem.in_locale(locale)}"
                errors.other.append(Shown(text, problem.sentence(locale)))
        return errors

    def add(self, field: str, message: str) -> None:
        self.fields.setdefault(field, []).append(message)

    def __call__(self, name: str) -> list[str]:
        return [
            message
            for field, messages in self.fields.items()
            if field == name or field.startswith(name + ".")
            for message in messages
        ]

    def __bool__(self) -> bool:
        return bool(self.fields or self.other)


def split_list(text: str) -> list[str]:
    """'63, 03 ; 15' or one per line -> ['63', '03', '15']."""
    return [item.strip() for item in re.split(r"[,;\n]", text) if item.strip()]


def actor() -> str:
    user = current_user()
    return user.username if user is not None else "?"


def save(
    session: Session,
    work: Working,
    data: dict[str, Any],
    *,
    prefix: str,
    entity_id: str,
    before: Any,
    after: Any,
    message: str,
) -> FieldErrors | None:
    """Validate and store `data` as the draft and commit; None when saved, else the errors."""
    try:
        save_edit(
            session, work, data, actor=actor(), entity_id=entity_id, before=before, after=after
        )
    except ConfigInvalid as exc:
        session.rollback()
        return FieldErrors.from_invalid(exc, prefix)
    session.commit()
    flash(message + gettext(" Le brouillon n'est pas encore publié."))
    return None


def save_item(
    session: Session,
    work: Working,
    section: str,
    id_field: str,
    index: int,
    old: dict[str, Any],
    new: dict[str, Any],
    message: str,
) -> FieldErrors | None:
    """Put `new` at `index` of list `section` (appended past the end) and `save` the draft."""
    items = work.data.setdefault(section, [])
    if index < len(items):
        items[index] = new
    else:
        items.append(new)
    return save(
        session,
        work,
        work.data,
        prefix=f"{section}.{index}",
        entity_id=f"{section}/{new[id_field]}",
        before=old or None,
        after=item_of(section, id_field, new[id_field]),
        message=message,
    )


def find_index(items: list[dict[str, Any]], key: str, value: str) -> int | None:
    return next((i for i, item in enumerate(items) if item.get(key) == value), None)


def item_of(section: str, key: str, value: str) -> Callable[[dict[str, Any]], Any]:
    """Picks item `key` = `value` of list `section` out of a document's data."""

    def pick(data: dict[str, Any]) -> Any:
        return next((i for i in data.get(section, []) if i.get(key) == value), None)

    return pick
