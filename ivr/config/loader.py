"""Read, validate and write configuration documents (YAML or JSON data).

Validation runs section by section so that one bad section does not hide the
problems of the others, then runs the cross-field checks over every section
that stood on its own: an admin sees every problem of a file at once.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

import yaml
from pydantic import TypeAdapter, ValidationError

from callbook.i18n import N_, gettext
from ivr.config.checks import Problem, check_references, problem
from ivr.config.document import ConfigDocument
from ivr.config.messages import MESSAGES, describe, shown


class ConfigInvalid(ValueError):
    """The document was refused; `problems` lists every reason with its path."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def _path(prefix: str, loc: tuple[int | str, ...]) -> str:
    return ".".join([prefix, *(str(p) for p in loc)]) if prefix else ".".join(map(str, loc))


def _problems(prefix: str, error: ValidationError) -> list[Problem]:
    """pydantic's errors as Problems in French (`ivr.config.messages`), paths kept."""
    out = []
    for item in error.errors(include_url=False):
        path, message = describe(item, prefix)
        if item["type"] in ("value_error", "assertion_error"):
            out.append(Problem(path, message))
            continue
        template = MESSAGES.get(item["type"], "")
        ctx = tuple((k, shown(v)) for k, v in (item.get("ctx") or {}).items())
        out.append(Problem(path, message, template, ctx) if template else Problem(path, message))
    return out


_ADAPTERS: dict[str, TypeAdapter[Any]] = {}


def _adapter(name: str) -> TypeAdapter[Any]:
    if name not in _ADAPTERS:
        _ADAPTERS[name] = TypeAdapter(ConfigDocument.model_fields[name].annotation)
    return _ADAPTERS[name]


def validate_document(data: Any) -> ConfigDocument:
    """Validate plain data (from YAML or JSON); raise ConfigInvalid with every problem."""
    if not isinstance(data, dict):
        raise ConfigInvalid([problem("", N_("le document doit être un ensemble de sections"))])
    problems: list[Problem] = []
    fields = ConfigDocument.model_fields
    for key in data:
        if key not in fields:
            known = ", ".join(fields)
            problems.append(
                problem(str(key), N_("section inconnue (connues : %(known)s)"), known=known)
            )
    sections: dict[str, Any] = {}
    for name, field in fields.items():
        if name not in data:
            if field.is_required():
                problems.append(problem(name, N_("cette section est obligatoire")))
            else:
                sections[name] = field.get_default(call_default_factory=True)
            continue
        try:
            sections[name] = _adapter(name).validate_python(data[name])
        except ValidationError as exc:
            problems.extend(_problems(name, exc))
    raw_calendars = data.get("calendars")
    calendar_names = set(map(str, raw_calendars)) if isinstance(raw_calendars, dict) else None
    problems.extend(check_references(sections, calendar_names))
    if problems:
        raise ConfigInvalid(problems)
    return ConfigDocument.model_validate(sections)


def load_yaml_text(text: str) -> ConfigDocument:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = (
            gettext("ligne %(line)s, colonne %(column)s")
            % {"line": mark.line + 1, "column": mark.column + 1}
            if mark
            else gettext("document")
        )
        raise ConfigInvalid(
            [problem("", N_("YAML illisible (%(where)s) : %(error)s"), where=where, error=exc)]
        ) from exc
    return validate_document(data)


def to_data(doc: ConfigDocument) -> dict[str, Any]:
    """The canonical plain form: what is stored in a revision and exported."""
    return doc.model_dump(mode="json", exclude_defaults=False)


def dump_yaml_text(doc: ConfigDocument | dict[str, Any]) -> str:
    data = to_data(doc) if isinstance(doc, ConfigDocument) else doc
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=100)


def demo_yaml_text() -> str:
    """The demo configuration shipped with the package."""
    return resources.files("ivr").joinpath("demo/demo.yaml").read_text(encoding="utf-8")
