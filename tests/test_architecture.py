"""The packages' arrows point one way, and every module stays small.

Read from the source with `ast`: every import counts, at module level or
inside a function, so a late import cannot hide a cycle.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("ivr", "callbook", "schedules")
MAX_LINES = 350


@cache
def modules() -> dict[str, Path]:
    """Every module of the three packages, by dotted name (a package by its own name)."""
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def _absolute(module: str, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    is_package = modules()[module].name == "__init__.py"
    base = module.split(".")[: len(module.split(".")) - node.level + is_package]
    return ".".join([*base, *([node.module] if node.module else [])])


def _imported(module: str, tree: ast.AST) -> Iterator[str]:
    """The modules `module` imports; `from a import b` is `a.b` when that is a module."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            source = _absolute(module, node)
            for alias in node.names:
                submodule = f"{source}.{alias.name}"
                yield submodule if submodule in modules() else source


@cache
def imports() -> dict[str, set[str]]:
    """Each module's imports of the three packages' modules."""
    graph: dict[str, set[str]] = {}
    for name, path in modules().items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        graph[name] = {
            target for target in _imported(name, tree) if target.split(".")[0] in PACKAGES
        }
    return graph


def _top(name: str) -> str:
    return name.split(".")[0]


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of `graph` as a path that ends where it starts, or None."""
    state: dict[str, str] = {}  # "open" while on the path, then "done"
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = "open"
        path.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == "open":
                return [*path[path.index(target) :], target]
            if target not in state and (cycle := visit(target)) is not None:
                return cycle
        path.pop()
        state[node] = "done"
        return None

    for start in sorted(graph):
        if start not in state and (cycle := visit(start)) is not None:
            return cycle
    return None


def _inside(package: str) -> dict[str, set[str]]:
    """The import graph between the modules of `package` (the package itself included)."""
    members = {m for m in modules() if m == package or m.startswith(package + ".")}
    return {m: imports()[m] & members for m in members}


def _unit(name: str) -> str:
    """`ivr.api.kit` -> `ivr.api`; a top-level module of ivr stands for itself."""
    return ".".join(name.split(".")[:2])


def test_the_lower_packages_never_import_the_upper_ones() -> None:
    refused = {"callbook": {"ivr"}, "schedules": {"ivr", "callbook"}}
    wrong = [
        f"{module} imports {target}"
        for module, targets in imports().items()
        for target in sorted(targets)
        if _top(target) in refused.get(_top(module), set())
    ]
    assert wrong == []


@pytest.mark.parametrize("package", ["ivr.api", "ivr.cli"])
def test_no_import_cycle_inside(package: str) -> None:
    graph = _inside(package)
    assert len(graph) > 5, f"{package} should be a package of several modules"
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph) or [])


def test_the_arrows_between_the_parts_of_ivr_point_one_way() -> None:
    """Each subpackage of ivr (and each top-level module) is one node: no cycle between them."""
    graph: dict[str, set[str]] = {}
    for module, targets in imports().items():
        if _top(module) == "ivr" and module != "ivr":
            graph.setdefault(_unit(module), set()).update(
                _unit(t) for t in targets if _top(t) == "ivr" and _unit(t) != _unit(module)
            )
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph) or [])


def test_the_cycle_finder_finds_cycles() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_every_module_is_small() -> None:
    long = {
        name: count
        for name, path in modules().items()
        if (count := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}
