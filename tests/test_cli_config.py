"""`ivr db` and `ivr config`: import, export, history, diff, activate, check."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import time_machine
import yaml

from ivr.config import demo_yaml_text, dump_yaml_text, load_yaml_text, to_data

if TYPE_CHECKING:
    from conftest import IvrRunner


def demo_data() -> dict[str, Any]:
    return to_data(load_yaml_text(demo_yaml_text()))


def write_yaml(path: Path, data: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def history(runner: IvrRunner) -> list[str]:
    result = runner.invoke("config", "history")
    assert result.exit_code == 0, result.output
    return result.stdout.splitlines()


def active_line(runner: IvrRunner) -> str:
    """The history line marked active (number, date, time, zone, author, marker, …)."""
    (line,) = [line for line in history(runner) if line.split()[5:6] == ["active"]]
    return line


def test_db_upgrade_twice(runner: IvrRunner) -> None:
    for _ in range(2):
        result = runner.invoke("db", "upgrade")
        assert result.exit_code == 0, result.output
        assert "at schema version" in result.stdout


def test_commands_on_a_database_never_migrated(
    make_runner: Callable[[Path, str], IvrRunner], empty_database: str, tmp_path: Path
) -> None:
    runner = make_runner(tmp_path / "instance", empty_database)
    result = runner.invoke("config", "history")
    assert result.exit_code == 1
    assert "ivr db upgrade" in result.output
    assert "Traceback" not in result.output
    assert runner.invoke("db", "upgrade").exit_code == 0
    result = runner.invoke("config", "history")
    assert result.exit_code == 0
    assert "no revision yet" in result.output
    assert runner.invoke("config", "export").exit_code == 1
    demo = write_yaml(tmp_path / "demo.yaml", demo_data())
    assert runner.invoke("config", "import", str(demo)).stdout == "revision 1 active\n"


def test_a_broken_file_is_refused_with_every_problem(runner: IvrRunner, tmp_path: Path) -> None:
    data = demo_data()
    data["structures"][0]["calendar"] = "atlantide"
    data["motives"][1]["digit"] = "1"
    data["referents"][1]["numbers"] = ["04 65"]
    broken = write_yaml(tmp_path / "broken.yaml", data)
    result = runner.invoke("config", "import", str(broken), "--comment", "oops")
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert any(
        line.startswith("structures.0.calendar: calendrier inconnu « atlantide »") for line in lines
    )
    assert "motives: la touche 1 sert à plusieurs motifs" in lines
    assert any(line.startswith("referents.1.numbers.0: « 04 65 » n'est pas") for line in lines)
    assert "the active revision is unchanged (3 problems)" in lines[-1]
    assert len(history(runner)) == 1
    assert active_line(runner).lstrip().startswith("1 ")


def test_round_trip_import_export(runner: IvrRunner, tmp_path: Path) -> None:
    original = demo_yaml_text()  # hand-written: comments, national notations
    source = tmp_path / "original.yaml"
    source.write_text(original, encoding="utf-8")
    assert runner.invoke("config", "import", str(source)).stdout == "revision 2 active\n"
    exported = runner.invoke("config", "export").stdout
    assert exported == dump_yaml_text(load_yaml_text(original))
    again = tmp_path / "exported.yaml"
    again.write_text(exported, encoding="utf-8")
    assert runner.invoke("config", "import", str(again)).stdout == "revision 3 active\n"
    assert runner.invoke("config", "export", "--revision", "3").stdout == exported
    assert load_yaml_text(exported) == load_yaml_text(original)


def test_newcomer_changes_a_number_then_rolls_back(runner: IvrRunner, tmp_path: Path) -> None:
    exported = tmp_path / "routing.yaml"
    result = runner.invoke("config", "export", "--output", str(exported))
    assert result.exit_code == 0
    assert result.stdout == ""
    text = exported.read_text(encoding="utf-8")
    assert "'+33465711020'" in text
    exported.write_text(text.replace("'+33465711020'", "'04 65 71 10 99'"), encoding="utf-8")

    result = runner.invoke("config", "import", str(exported), "--comment", "Sophie's new line")
    assert result.exit_code == 0, result.output
    assert result.stdout == "revision 2 active\n"
    first, second = history(runner)
    assert first.split()[0] == "1" and "system" in first and "active" not in first
    assert second.split()[0] == "2" and "tester" in second
    assert second.endswith("active  Sophie's new line")
    assert "'+33465711099'" in runner.invoke("config", "export").stdout

    result = runner.invoke("config", "activate", "1")
    assert (result.exit_code, result.stdout) == (0, "revision 1 active\n")
    assert active_line(runner).split()[0] == "1"
    back = runner.invoke("config", "export").stdout
    assert "'+33465711020'" in back and "'+33465711099'" not in back


def test_history_shows_paris_time_and_the_author(runner: IvrRunner, tmp_path: Path) -> None:
    source = write_yaml(tmp_path / "a.yaml", demo_data())
    # 01:30 UTC on 29 March 2026: clocks have just jumped, it is 03:30 CEST in Paris.
    with time_machine.travel(datetime(2026, 3, 29, 1, 30, tzinfo=UTC), tick=False):
        runner.invoke("config", "import", str(source), env={"USER": None})
    last = history(runner)[-1]
    assert "2026-03-29 03:30 CEST" in last
    assert last.split()[4] == "cli"  # no $USER: the default author
    assert last.endswith("imported from a.yaml")


def test_diff_between_revisions(runner: IvrRunner, tmp_path: Path) -> None:
    data = demo_data()
    data["menu"]["attempts"] = 2
    runner.invoke("config", "import", str(write_yaml(tmp_path / "a.yaml", data)))
    result = runner.invoke("config", "diff", "1", "2")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[:2] == ["--- revision 1", "+++ revision 2"]
    assert "-  attempts: 3" in lines and "+  attempts: 2" in lines
    same = runner.invoke("config", "diff", "2", "2")
    assert (same.exit_code, same.stdout) == (0, "")


@pytest.mark.parametrize(
    "args",
    [
        ("config", "activate", "9"),
        ("config", "export", "--revision", "9"),
        ("config", "diff", "1", "9"),
    ],
)
def test_unknown_revision_numbers(runner: IvrRunner, args: tuple[str, ...]) -> None:
    result = runner.invoke(*args)
    assert result.exit_code == 1
    assert "no revision 9" in result.output or "no configuration revision 9" in result.output
    assert active_line(runner).split()[0] == "1"


def test_unreadable_files(runner: IvrRunner, tmp_path: Path) -> None:
    missing = runner.invoke("config", "import", str(tmp_path / "nowhere.yaml"))
    assert missing.exit_code == 2
    assert "does not exist" in missing.output
    assert runner.invoke("config", "check", str(tmp_path)).exit_code == 2  # a directory
    latin1 = tmp_path / "latin1.yaml"
    latin1.write_bytes("name: séminaire\n".encode("latin-1"))
    result = runner.invoke("config", "import", str(latin1))
    assert result.exit_code == 1
    assert f"cannot read {latin1}" in result.output
    not_yaml = tmp_path / "bad.yaml"
    not_yaml.write_text("service:\n  name: [unclosed\n", encoding="utf-8")
    result = runner.invoke("config", "check", str(not_yaml))
    assert result.exit_code == 1
    assert "(document): YAML illisible (ligne" in result.output


def test_check_validates_and_warns_without_storing(runner: IvrRunner, tmp_path: Path) -> None:
    data = demo_data()
    for technician in data["technicians"]:
        technician["active"] = False  # nobody reachable on call: a warning, not an error
    path = write_yaml(tmp_path / "quiet.yaml", data)
    result = runner.invoke("config", "check", str(path))
    assert result.exit_code == 0
    assert result.stdout == f"{path}: valid\n"
    assert "warning: oncall: personne de joignable pour la fenêtre d'astreinte" in result.output
    data["motives"][0]["digit"] = "12"
    result = runner.invoke("config", "check", str(write_yaml(path, data)))
    assert result.exit_code == 1
    assert "motives.0.digit:" in result.output
    assert len(history(runner)) == 1


def test_import_prints_coverage_warnings(runner: IvrRunner, tmp_path: Path) -> None:
    data = demo_data()
    for technician in data["technicians"]:
        technician["active"] = False
    result = runner.invoke("config", "import", str(write_yaml(tmp_path / "q.yaml", data)))
    assert result.exit_code == 0
    assert result.stdout == "revision 2 active\n"
    assert "warning: oncall: personne de joignable pour la fenêtre d'astreinte" in result.output
