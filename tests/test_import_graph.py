"""The import graph flows one way: no module imports itself through others, and no package of
``pyrec`` reaches back to a package that imports it (imports inside functions included)."""

from __future__ import annotations

import ast
from pathlib import Path

PKG = Path(__file__).resolve().parents[1] / "pyrec"


def _modules() -> dict[str, Path]:
    out = {}
    for f in PKG.rglob("*.py"):
        name = ".".join(f.relative_to(PKG.parent).with_suffix("").parts)
        out[name.removesuffix(".__init__")] = f
    return out


def _edges(mods: dict[str, Path]) -> dict[str, set[str]]:
    """module -> pyrec modules it imports (anywhere in its body); package re-exports excluded."""
    edges: dict[str, set[str]] = {m: set() for m in mods}
    for mod, path in mods.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = mod.split(".") if path.name == "__init__.py" else mod.split(".")[:-1]
                    base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in mods else base for a in node.names]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                continue
            for t in targets:
                while t and t not in mods:
                    t = t.rpartition(".")[0]
                if t and t != mod and mods[t].name != "__init__.py":
                    edges[mod].add(t)
    return edges


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` (as a path), or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(n: str) -> list[str] | None:
        state[n] = 1
        stack.append(n)
        for m in sorted(graph.get(n, ())):
            if state.get(m) == 1:
                return stack[stack.index(m):] + [m]
            if m not in state and (found := visit(m)):
                return found
        stack.pop()
        state[n] = 2
        return None

    for n in sorted(graph):
        if n not in state and (found := visit(n)):
            return found
    return None


def test_no_module_imports_itself_through_others():
    assert _cycle(_edges(_modules())) is None


def test_packages_import_one_way():
    def package(m: str) -> str:
        return ".".join(m.split(".")[:2])

    graph: dict[str, set[str]] = {}
    for a, bs in _edges(_modules()).items():
        for b in bs:
            if package(a) != package(b):
                graph.setdefault(package(a), set()).add(package(b))
    assert _cycle(graph) is None
    # the run pipeline sits above models, strategies and training, and below the grid runner
    # (pyrec evaluate), the statistics, the report and the CLI
    assert {a for a, bs in graph.items() if "pyrec.pipeline" in bs} <= {"pyrec.cli", "pyrec.experiment"}
    assert not graph.get("pyrec.pipeline", set()) & {"pyrec.experiment", "pyrec.stats",
                                                      "pyrec.report", "pyrec.cli"}


def test_the_cycle_finder_finds_cycles():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None
