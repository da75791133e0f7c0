"""The house's layout, checked: which package may import which, no import loops, the driver
only inside the store, and every store function speaking the store's own errors.

The rule (README, "Layout"): domain ← service ← store; the edges (api, console, workers) on
top, sharing only `web`; no edge imports another, and only the app factory composes them.
"""

from __future__ import annotations

import ast
import inspect
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "resolution"
DRIVERS = ("mongoengine", "pymongo", "gridfs", "bson")

# What each part of the package may import from the package (besides itself).
ALLOWED: dict[str, set[str]] = {
    "domain": set(),
    "config": {"domain"},
    "store": {"domain"},
    "service": {"domain", "store", "config"},
    "observability": {"domain", "store", "service", "config"},
    "web": {"domain", "service", "config", "observability", "store.errors"},
    "api": {"domain", "service", "config", "observability", "web"},
    "console": {"domain", "service", "config", "web"},
    "workers": {"domain", "service", "config", "observability", "store.errors"},
}
# The composition roots: they wire everything together, so they may import anything.
COMPOSERS = {"resolution.web.app", "resolution.cli", "resolution.__main__"}
# The store's modules whose public functions are plumbing, not queries (no driver errors to
# translate, or they are the translation).
UNGUARDED = {"documents", "embedded", "errors", "limits"}


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def _imports(name: str, path: Path) -> set[str]:
    """Every module `name` imports, at any depth of its code (lazy imports count too)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join(anchor + ([node.module] if node.module else []))
            for alias in node.names:
                # `from package import module` imports the module; `from module import name`
                # imports the module.
                whole = f"{base}.{alias.name}"
                found.add(whole if whole in MODULES else base)
    return found


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def _part(module: str) -> str:
    """The part of the package a module belongs to: `service`, `web`, `cli` …"""
    return module.split(".")[1] if module.count(".") else module


def _allowed(importer: str, imported: str) -> bool:
    if importer in COMPOSERS or not imported.startswith("resolution."):
        return True
    mine, theirs = _part(importer), _part(imported)
    if mine == theirs:
        return True
    allowed = ALLOWED[mine]
    inner = imported.removeprefix("resolution.")
    return theirs in allowed or any(inner == a or inner.startswith(a + ".") for a in allowed)


def test_every_part_of_the_package_has_a_rule():
    parts = {_part(m) for m in MODULES if m != "resolution"}
    assert parts - set(ALLOWED) - {_part(m) for m in COMPOSERS} == set()


@pytest.mark.parametrize("importer", sorted(m for m in MODULES if m != "resolution"))
def test_imports_follow_the_layers(importer):
    wrong = sorted(i for i in GRAPH[importer] if not _allowed(importer, i))
    assert wrong == [], f"{importer} may not import {wrong}"


def test_no_edge_imports_another():
    edges = ("resolution.api", "resolution.console", "resolution.workers")
    crossing = [
        (importer, imported)
        for importer, imports in GRAPH.items()
        for imported in imports
        if importer not in COMPOSERS
        for edge in edges
        if imported.startswith(edge) and not importer.startswith(edge)
    ]
    assert crossing == []


def test_no_import_loops():
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    loops: list[list[str]] = []

    def visit(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in GRAPH.get(node, ()):
            if nxt not in GRAPH:
                continue
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                loops.append(sorted(component))

    for name in GRAPH:
        if name not in index:
            visit(name)
    assert loops == []


def test_the_database_driver_lives_in_the_store():
    outside = defaultdict(list)
    for name, path in MODULES.items():
        if name.startswith("resolution.store"):
            continue
        if "_get_collection" in path.read_text() or "_get_db" in path.read_text():
            outside[name].append("_get_collection")
        outside[name] += sorted(i for i in GRAPH[name] if i.split(".")[0] in DRIVERS)
    assert {k: v for k, v in outside.items() if v} == {}


def test_at_most_six_modules_lie_loose_in_the_package():
    loose = sorted(p.name for p in PACKAGE.glob("*.py") if p.name != "__init__.py")
    assert len(loose) <= 6, loose


@pytest.mark.parametrize(
    "module",
    sorted(
        m
        for m in MODULES
        if m.startswith("resolution.store.") and m.rpartition(".")[2] not in UNGUARDED
    ),
)
def test_every_store_function_speaks_the_stores_errors(module):
    """A driver error never leaves the store raw: each public function is `@guarded`."""
    import importlib

    loaded = importlib.import_module(module)
    bare = [
        name
        for name, function in inspect.getmembers(loaded, inspect.isfunction)
        if function.__module__ == module
        and not name.startswith("_")
        and not hasattr(function, "__wrapped__")
        and _touches_the_database(function)
    ]
    assert bare == []


def _touches_the_database(function) -> bool:
    source = inspect.getsource(function)
    return any(word in source for word in ("_get_collection", "objects(", "_bucket()", "_files"))
