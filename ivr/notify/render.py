"""The French e-mails: a text and an HTML body per template (`templates/`).

HTML is autoescaped; text is not (it is never read as markup). Templates
take plain values only, so the book's rows never leak into them.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape


@lru_cache(maxsize=1)
def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("ivr.notify", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html",), default=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render(template: str, values: dict[str, Any]) -> tuple[str, str]:
    """(text, html) of e-mail `template` with `values`."""
    env = _environment()
    text = env.get_template(f"{template}.txt").render(values)
    html = env.get_template(f"{template}.html").render(values)
    return text, html
