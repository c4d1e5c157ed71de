"""The README stays true: commands, settings and CLI match the code."""

from __future__ import annotations

import re
from pathlib import Path

from ivr.cli import main
from ivr.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _env_name(field: str) -> str:
    alias = Settings.model_fields[field].validation_alias
    if alias is not None:
        return str(alias.choices[0])  # type: ignore[union-attr]
    return f"IVR_{field.upper()}"


def test_every_setting_is_documented() -> None:
    documented = set(re.findall(r"^\| `([A-Z_]+)` \|", README, flags=re.MULTILINE))
    assert documented == {_env_name(f) for f in Settings.model_fields}


def test_ci_runs_the_readme_test_command() -> None:
    blocks = re.findall(r"```sh\n(.+?)\n```", README, flags=re.DOTALL)
    assert len(blocks) >= 2
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert blocks[1].strip() in ci


def test_every_cli_command_is_documented() -> None:
    def walk(group: object, prefix: str) -> list[str]:
        commands = getattr(group, "commands", None)
        if not commands:
            return [prefix]
        return [name for key, cmd in commands.items() for name in walk(cmd, f"{prefix} {key}")]

    for command in walk(main, "ivr"):
        assert f"`{command}" in README, command
