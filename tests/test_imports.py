"""The first-party import graph has no cycles, and the packages depend one way: vw_cli -> vw_agent -> vw_envs.

The graph is read from the source with :mod:`ast`, so an import hidden inside a function counts like one at
the top of a file: a cycle cannot be hidden by making one of its imports lazy.
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Installed name -> folder: the CLI ships as ``vw_cli`` from ``cli/`` (see pyproject's package-dir).
PACKAGES = {"vw_cli": "cli", "vw_agent": "vw_agent", "vw_envs": "vw_envs", "vw_assets": "assets"}
# Who may import whom: each package may import only the packages listed after it.
ALLOWED = {
    "vw_envs": {"vw_envs", "vw_assets"},
    "vw_agent": {"vw_agent", "vw_envs", "vw_assets"},
    "vw_cli": {"vw_cli", "vw_agent", "vw_envs", "vw_assets"},
    "vw_assets": {"vw_assets"},
}


# --- reading the graph -------------------------------------------------------------------------------


def first_party_modules() -> dict[str, Path]:
    """Every first-party module's dotted name and file; a package is named by its ``__init__.py``."""
    modules = {}
    for top, folder in PACKAGES.items():
        base = ROOT / folder
        if not base.is_dir():
            continue
        for path in sorted(base.rglob("*.py")):
            parts = [top, *path.relative_to(base).with_suffix("").parts]
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join(parts)] = path
    return modules


def imported_modules(name: str, path: Path, known: set[str]) -> set[str]:
    """The first-party modules that ``name`` imports anywhere in its file, functions included.

    ``from pkg import x`` is an import of ``pkg.x`` when that is a module, otherwise of ``pkg``.
    """
    is_package = path.name == "__init__.py"
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against this module's package
                package = name.split(".")
                if not is_package:
                    package.pop()
                package = package[: len(package) - (node.level - 1)]
                base = ".".join(package + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names]
        else:
            continue
        for target in targets:
            while target and target not in known:  # `import a.b.c` of a non-module attribute: its module
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


@functools.cache
def import_graph() -> dict[str, set[str]]:
    modules = first_party_modules()
    known = set(modules)
    return {name: imported_modules(name, path, known) for name, path in modules.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle as a path ``[a, b, ..., a]``, or None when the graph is acyclic (iterative DFS)."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    for start in sorted(graph):
        if start in state:
            continue
        path = [start]
        stack = [iter(sorted(graph.get(start, ())))]
        state[start] = 1
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                state[path.pop()] = 2
                stack.pop()
            elif state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            elif nxt not in state:
                state[nxt] = 1
                path.append(nxt)
                stack.append(iter(sorted(graph.get(nxt, ()))))
    return None


def unexplained_lazy_imports(path: Path) -> list[int]:
    """Lines of first-party imports inside functions that carry no ``# lazy: why`` comment, on the line or on a
    comment line heading their block of imports."""
    lines = path.read_text().splitlines()
    missing = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if in_function and isinstance(child, (ast.Import, ast.ImportFrom)):
                module = child.names[0].name if isinstance(child, ast.Import) else child.module or ""
                if module.split(".")[0] in PACKAGES:
                    i = child.lineno - 1
                    block = lines[i:child.end_lineno]
                    while i > 0 and lines[i - 1].strip().startswith(("#", "import ", "from ")):
                        i -= 1
                        block.append(lines[i])
                    if not any("# lazy" in line for line in block):
                        missing.append(child.lineno)
            visit(child, in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)))

    visit(ast.parse("\n".join(lines)), False)
    return missing


# --- the checker itself can fail -----------------------------------------------------------------------


def test_find_cycle_on_small_graphs():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None
    assert find_cycle({"a": {"b", "c"}, "b": {"d"}, "c": {"d"}, "d": set()}) is None  # a diamond is no cycle
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"x": {"a"}, "a": {"b"}, "b": {"a"}}) == ["a", "b", "a"]


def test_imported_modules_reads_function_level_and_from_imports(tmp_path):
    source = tmp_path / "mod.py"
    source.write_text(
        "import vw_envs\n"
        "from vw_envs.go import sgf\n"
        "from vw_envs.go.rules import GoGame\n"
        "def f():\n"
        "    from vw_agent.eval import elo\n"
        "    import vw_agent.eval.ladder as ladder\n"
        "    from . import sibling\n"
    )
    known = {"vw_envs", "vw_envs.go", "vw_envs.go.sgf", "vw_envs.go.rules", "vw_agent.eval", "vw_agent.eval.elo",
             "vw_agent.eval.ladder", "pkg.sibling", "pkg.mod"}
    assert imported_modules("pkg.mod", source, known) == {
        "vw_envs", "vw_envs.go.sgf", "vw_envs.go.rules", "vw_agent.eval.elo", "vw_agent.eval.ladder", "pkg.sibling"}
    assert unexplained_lazy_imports(source) == [5, 6]
    source.write_text("def f():\n    # lazy: imports torch\n    from vw_agent import agent\n"
                      "    from vw_agent import train  # lazy: imports torch\n    import json\n")
    assert unexplained_lazy_imports(source) == []


def test_a_cycle_in_the_real_graph_would_be_found():
    graph = dict(import_graph())
    graph["vw_envs.go.rules"] = graph["vw_envs.go.rules"] | {"vw_envs.go.env"}  # env imports rules
    cycle = find_cycle(graph)
    assert cycle is not None and "vw_envs.go.rules" in cycle and "vw_envs.go.env" in cycle


# --- the real graph ------------------------------------------------------------------------------------


def test_the_graph_is_read():
    graph = import_graph()
    assert "vw_envs.go.rules" in graph["vw_envs.go.env"]  # a top-level import
    assert "vw_agent.baselines.bc" in graph["vw_agent.baselines.sb3_agent"]  # inside evaluate_run (lazy: torch)
    assert len(graph) > 40


def test_no_import_cycles():
    cycle = find_cycle(import_graph())
    assert cycle is None, "first-party import cycle: " + " -> ".join(cycle) + (
        " (move what both sides need into a third module, or move the importer's code next to what it imports)")


def test_first_party_imports_inside_functions_say_why():
    """Only a heavy or optional library (torch, pybullet, pygame, SB3, ...) or the fast CLI justifies a lazy import."""
    missing = [f"{path.relative_to(ROOT)}:{line}" for path in first_party_modules().values()
               for line in unexplained_lazy_imports(path)]
    assert not missing, ("move these imports to the top of their file, or say why they must wait with a "
                         "'# lazy: ...' comment: " + ", ".join(missing))


@pytest.mark.parametrize("package", sorted(PACKAGES))
def test_packages_depend_one_way(package):
    wrong = sorted(
        f"{name} imports {target}"
        for name, targets in import_graph().items() if name.split(".")[0] == package
        for target in targets if target.split(".")[0] not in ALLOWED[package]
    )
    assert not wrong, f"{package} may import only {sorted(ALLOWED[package])}: " + "; ".join(wrong)
