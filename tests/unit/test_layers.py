"""The package's import graph: no cycles, and dependencies run one way, from the top layer down.

Every import of every module of ``src/veiligverder`` is parsed (``ast``), the lazy ones inside
functions included. ``from package import name`` counts as an import of ``package.name`` when that
is a module (as import-linter reads it), else of ``package``. The layers, lowest first, are those
of DESIGN.md and the package docstring: a module may import from its own layer and the ones below.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"
PACKAGE = "veiligverder"

#: Lowest first. Each entry: the top-level modules or subpackages of that layer.
LAYERS: list[set[str]] = [
    {"__init__", "vocab", "paths", "lazy"},  # __init__: the package root (its version only)
    {"contract"},
    {"params"},
    {"data", "instruments"},
    {"measures"},
    {"design", "stats"},
    {"analysis"},
    {"reproduction"},
    {"report", "synthetic"},
    {"pipeline"},
    {"cli", "__main__"},
]
#: The foundations: they may not import anything of the layers from analysis up.
FOUNDATION = {"vocab", "paths", "lazy", "contract", "params", "data", "instruments", "measures", "design", "stats"}
UPPER = {"analysis", "reproduction", "report", "synthetic", "pipeline", "cli"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted((SRC / PACKAGE).rglob("*.py"))}


def imports_of(path: Path, name: str, known: set[str]) -> set[str]:
    """Every project module ``path`` imports, at any depth of its code."""
    is_package = path.name == "__init__.py"
    package = name if is_package else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            for alias in node.names:
                sub = f"{source}.{alias.name}"
                found.add(sub if sub in known else source)
    return {m for m in found if m in known and m != name}


def graph() -> dict[str, set[str]]:
    mods = modules()
    known = set(mods)
    return {name: imports_of(path, name, known) for name, path in mods.items()}


def top(name: str) -> str:
    parts = name.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def rank(name: str) -> int:
    t = top(name)
    for i, layer in enumerate(LAYERS):
        if t in layer:
            return i
    raise AssertionError(f"{name}: top-level module {t!r} is in no layer of tests/test_layers.py; add it")


def find_cycle(g: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``g`` as a list of modules (first = last), or None (iterative DFS)."""
    state: dict[str, int] = {}
    for root in sorted(g):
        if state.get(root):
            continue
        stack: list[tuple[str, list[str]]] = [(root, sorted(g[root]))]
        path = [root]
        state[root] = 1
        while stack:
            node, todo = stack[-1]
            if not todo:
                state[node] = 2
                stack.pop()
                path.pop()
                continue
            nxt = todo.pop()
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if not state.get(nxt):
                state[nxt] = 1
                stack.append((nxt, sorted(g[nxt])))
                path.append(nxt)
    return None


def test_the_parser_sees_lazy_and_relative_imports(tmp_path):
    """The graph would be worthless if imports inside functions or relative ones were missed."""
    pkg = tmp_path / "p"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("def f():\n    from p.sub import b\n    import p.c\n")
    (pkg / "c.py").write_text("from . import a\n")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "sub" / "b.py").write_text("from ..c import thing\n")
    known = {"p", "p.a", "p.c", "p.sub", "p.sub.b"}
    assert imports_of(pkg / "a.py", "p.a", known) == {"p.sub.b", "p.c"}
    assert imports_of(pkg / "c.py", "p.c", known) == {"p.a"}
    assert imports_of(pkg / "sub" / "b.py", "p.sub.b", known) == {"p.c"}
    assert find_cycle({"p.a": {"p.c"}, "p.c": {"p.a"}}) == ["p.a", "p.c", "p.a"]
    assert find_cycle({"p.a": {"p.c"}, "p.c": set()}) is None


def test_no_import_cycles():
    cycle = find_cycle(graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_every_module_is_in_a_layer():
    for name in graph():
        rank(name)


def test_dependencies_run_one_way():
    """No module imports from a layer above its own."""
    upward = sorted(f"{m} (layer {rank(m)}) imports {d} (layer {rank(d)})"
                    for m, deps in graph().items() for d in deps if rank(d) > rank(m))
    assert not upward, "imports against the layers:\n" + "\n".join(upward)


def test_foundations_import_nothing_above_them():
    bad = sorted(f"{m} imports {d}" for m, deps in graph().items() if top(m) in FOUNDATION
                 for d in deps if top(d) in UPPER)
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("module, forbidden", [
    ("synthetic", {"analysis", "reproduction", "report", "pipeline", "cli", "measures", "design", "stats"}),
])
def test_the_generator_rests_on_the_contract_only(module, forbidden):
    """The synthetic twin is generated from the contract, the instruments and the claims file,
    never from the analyses it is later checked by (that would make the check circular)."""
    bad = sorted(f"{m} imports {d}" for m, deps in graph().items() if top(m) == module
                 for d in deps if top(d) in forbidden)
    assert not bad, "\n".join(bad)


def test_no_test_support_in_the_package():
    """Browser automation belongs to the tests, not to what a researcher installs."""
    offenders = [str(p.relative_to(SRC)) for p in (SRC / PACKAGE).rglob("*.py")
                 if "selenium" in p.read_text(encoding="utf-8")]
    assert not offenders
