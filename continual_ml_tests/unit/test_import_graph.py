"""Imports run downhill: no module imports one in a layer above its own, and no import cycle.

Read from the source with `ast` (nothing is imported), counting imports inside functions too:
a deferred import is still a dependency.
"""

from __future__ import annotations

import ast
from pathlib import Path

import continual_ml

PACKAGE = Path(continual_ml.__file__).parent

# Top to bottom; a module may import its own package and any layer below it, never a layer above
# and never a sibling in its own layer. A module belongs to the longest prefix naming it, so
# `app.cli` (the commands) sits above the demo, which uses the rest of `app` (the local home, the
# first champion) and, below that, the process supervision. `models` (the model store and the
# types a model may hold) is what training writes and serving reads.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("app.cli",),
    ("demo",),
    ("app",),
    ("app.supervision",),
    ("definitions",),
    ("defs",),
    ("decisions", "serving", "monitoring", "alerts"),
    ("training",),
    ("models",),
    ("ingestion",),
    ("warehouse",),
    ("config",),
    ("paths",),
    ("settings",),
)
RANK = {name: rank for rank, names in enumerate(LAYERS) for name in names}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py")) if "__pycache__" not in p.parts}


def _ours(name: str) -> str | None:
    """The module of ours `name` is, or is inside (a function or class of it)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def imports(module: str) -> set[str]:
    """The modules of ours `module` imports: `from package import submodule` names the
    submodule, not the package."""
    path, found = MODULES[module], set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {_ours(alias.name) for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                here = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
                base = ".".join(here[: len(here) - node.level + 1] + ([base] if base else []))
            for alias in node.names:
                found.add(
                    _ours(f"{base}.{alias.name}")
                    if f"{base}.{alias.name}" in MODULES
                    else _ours(base)
                )
    # The root package holds nothing; importing it (for its folder) is no dependency.
    return found - {None, module, "continual_ml"}


GRAPH = {module: imports(module) for module in MODULES}


def layer(module: str) -> str | None:
    parts = module.split(".")[1:]
    for end in range(len(parts), 0, -1):
        if ".".join(parts[:end]) in RANK:
            return ".".join(parts[:end])
    return None


def test_every_module_has_a_layer():
    assert [m for m in MODULES if m != "continual_ml" and layer(m) is None] == []


def test_no_import_points_up_or_sideways():
    wrong = sorted(
        f"{module} ({layer(module)}) imports {target} ({layer(target)})"
        for module, targets in GRAPH.items()
        if module != "continual_ml"
        for target in targets
        if layer(target) != layer(module) and RANK[layer(target)] <= RANK[layer(module)]
    )
    assert not wrong, "\n".join(wrong)


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while (member := stack.pop()) != node:
                component.append(member)
            if component:
                found.append(sorted([node, *component]))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycle():
    assert cycles(GRAPH) == []


def test_the_cycle_finder_finds_a_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []
