"""No import cycles in ``gateway/``: read every module's imports (module level and inside
functions alike) from its syntax tree, and find the strongly connected components.

A cycle still being taken apart elsewhere is listed in ``KNOWN_CYCLES`` (each entry is
every module of one component); a listed cycle that no longer exists fails the test too,
so the list only shrinks.
"""

from __future__ import annotations

import ast
from pathlib import Path

from conftest import ROOT

PACKAGE = ROOT / "gateway"

# Being taken apart on other branches of issue 15; the lead empties this at the merge.
KNOWN_CYCLES: list[frozenset[str]] = []  # none left; kept for the next refactor


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _target(name: str, known: dict[str, Path]) -> str | None:
    """The module of ``gateway`` a dotted name means: itself or its longest known prefix."""
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or None


def _absolute(node: ast.ImportFrom, importer: str, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    base = importer.split(".")
    base = base[: len(base) - node.level + (1 if is_package else 0)]
    return ".".join([*base, *([node.module] if node.module else [])])


def imports_of(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The modules of ``gateway`` that ``name`` imports, wherever in the file."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {_target(alias.name, known) for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(node, name, path.name == "__init__.py")
            # ``from gateway.cli import rules`` imports the module gateway.cli.rules
            found |= {_target(f"{base}.{alias.name}", known) for alias in node.names}
    return {m for m in found if m and m != name and m.startswith("gateway")}


def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: imports_of(name, path, known) for name, path in known.items()}


def components(edges: dict[str, set[str]]) -> list[frozenset[str]]:
    """Strongly connected components of more than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[frozenset[str]] = []
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                members = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    members.add(member)
                    if member == node:
                        break
                if len(members) > 1:
                    found.append(frozenset(members))
    return found


def a_cycle(edges: dict[str, set[str]], members: frozenset[str]) -> list[str]:
    """One cycle through a component, as a path that ends where it starts."""
    start = min(members)
    paths, seen = [[start]], {start}
    while paths:
        path = paths.pop(0)
        for nxt in sorted(edges[path[-1]] & members):
            if nxt == start:
                return [*path, start]
            if nxt not in seen:
                seen.add(nxt)
                paths.append([*path, nxt])
    return [start]


def describe(edges: dict[str, set[str]], members: frozenset[str]) -> str:
    return f"{sorted(members)}: e.g. {' -> '.join(a_cycle(edges, members))}"


def test_the_graph_is_read():
    edges = graph()
    assert "gateway.cli.base" in edges["gateway.cli.rules"]
    # from gateway.store import messages as stored: the module gateway.store.messages
    assert "gateway.store.messages" in edges["gateway.decide.facts"]
    assert "gateway.store.db" in edges["gateway.store.stats"]


def test_components_find_a_cycle_and_only_a_cycle():
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert components(edges) == [frozenset("abc")]
    assert a_cycle(edges, frozenset("abc")) == ["a", "b", "c", "a"]


def test_no_import_cycles_but_the_known_ones():
    edges = graph()
    found = components(edges)
    new = [describe(edges, c) for c in found if c not in KNOWN_CYCLES]
    gone = [sorted(c) for c in KNOWN_CYCLES if c not in found]
    assert not new, "import cycles:\n" + "\n".join(new)
    assert not gone, "no longer cycles, take them off KNOWN_CYCLES:\n" + "\n".join(map(str, gone))
