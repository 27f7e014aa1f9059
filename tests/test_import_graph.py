"""The package's modules import each other in one direction only: no import circle, lazy or not.

A circle (a loader importing the transformer module that imports the loader, the engine importing
the app's settings that import the engine) works only by the luck of import order and makes every
module on it part of every other's change. Function-level imports count too: they postpone a
circle, they do not remove it. The UI stays free of torch at import time.
"""
import ast
import sys
from pathlib import Path

import pytest

import framepack_desktop

ROOT = Path(framepack_desktop.__file__).parent
PACKAGE = "framepack_desktop"


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in ROOT.rglob("*.py")}


def resolve(importer: str, is_package: bool, node: ast.ImportFrom | ast.Import, known: set[str]) -> set[str]:
    """The package modules an import statement names (a submodule when `from pkg import sub`)."""
    if isinstance(node, ast.Import):
        return {a.name for a in node.names if a.name in known}
    if node.level:
        base = importer.split(".") if is_package else importer.split(".")[:-1]
        base = base[: len(base) - (node.level - 1)]
        target = ".".join(base + ([node.module] if node.module else []))
    else:
        target = node.module or ""
    if not target.startswith(PACKAGE):
        return set()
    out = set()
    for alias in node.names:
        sub = f"{target}.{alias.name}"
        out.add(sub if sub in known else target)
    return {m for m in out if m in known}


def import_graph() -> dict[str, set[str]]:
    found = modules()
    known = set(found)
    graph = {}
    for name, path in found.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        edges = set()
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                edges |= resolve(name, path.name == "__init__.py", node, known)
        graph[name] = edges - {name}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            # a package's __init__ re-exporting its submodules is not a circle with them
            if node.startswith(nxt + ".") and nxt in graph and ROOT.joinpath(*nxt.split(".")[1:], "__init__.py").exists():
                continue
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                cycle = visit(nxt)
                if cycle:
                    return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return None


def test_no_module_imports_itself_through_others():
    assert find_cycle(import_graph()) is None, " -> ".join(find_cycle(import_graph()))


def test_the_cycle_finder_finds_a_circle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


def test_the_engine_does_not_import_the_app_or_the_window():
    outside = {f"{PACKAGE}.settings", f"{PACKAGE}.app"}
    for name, edges in import_graph().items():
        if name.startswith(f"{PACKAGE}.engine"):
            assert not {e for e in edges if e in outside or e.startswith(f"{PACKAGE}.ui")}, name


@pytest.mark.parametrize("module", ["framepack_desktop.ui.main_window", "framepack_desktop.engine.jobfolder"])
def test_the_window_and_the_job_folder_import_without_torch(module):
    """The window imports no torch; neither does the job folder, whose takes and unfinished jobs the
    window reads on pool threads (two threads importing torch at once see it half initialised)."""
    import subprocess

    code = f"import sys, {module}; sys.exit(1 if 'torch' in sys.modules else 0)"
    assert subprocess.run([sys.executable, "-c", code], env={"QT_QPA_PLATFORM": "offscreen", "PATH": ""},
                          cwd=ROOT.parent).returncode == 0
