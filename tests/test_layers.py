"""No import cycle between the subpackages (and top-level modules) of src/tunegate.

Every import statement counts, including those inside functions and under TYPE_CHECKING: a
cycle hidden behind a lazy import is still two packages that cannot be understood apart. The
import-linter contract in pyproject.toml (run by .ci/run) checks the layer order itself; this
walk needs nothing but the standard library.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "tunegate"


def _module(path: Path, src: Path) -> tuple[list[str], bool]:
    """The dotted parts of a source file's module, and whether it is a package's __init__."""
    parts = ["tunegate", *path.relative_to(src).with_suffix("").parts]
    is_package = parts[-1] == "__init__"
    return (parts[:-1] if is_package else parts), is_package


def _imported(path: Path, src: Path) -> Iterator[str]:
    """Every module (or module.name) that any import statement in `path` names."""
    parts, is_package = _module(path, src)
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = parts if is_package else parts[:-1]
                package = package[: len(package) - node.level + 1]
                base = ".".join([*package, *([node.module] if node.module else [])])
            yield base
            yield from (f"{base}.{a.name}" for a in node.names)


def _unit(dotted: str, src: Path) -> str | None:
    """The subpackage or top-level module of `tunegate` that a dotted name falls in."""
    parts = dotted.split(".")
    if parts[0] != "tunegate" or len(parts) < 2:
        return None
    name = parts[1]
    return name if (src / name).is_dir() or (src / f"{name}.py").is_file() else None


def unit_graph(src: Path = SRC) -> dict[str, dict[str, set[str]]]:
    """unit -> imported unit -> the files that import it."""
    graph: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for path in sorted(src.rglob("*.py")):
        here = _unit(".".join(_module(path, src)[0]), src)
        if here is None:
            continue
        for name in _imported(path, src):
            there = _unit(name, src)
            if there is not None and there != here:
                graph[here][there].add(str(path.relative_to(src)))
    return graph


def cycles(graph: dict[str, dict[str, set[str]]]) -> list[list[str]]:
    """The strongly connected components with more than one unit (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph.get(v, {}):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while (w := stack.pop()) != v:
                component.append(w)
            if component:
                found.append(sorted([v, *component]))

    for v in list(graph):
        if v not in index:
            visit(v)
    return found


def test_no_import_cycle_between_subpackages() -> None:
    graph = unit_graph()
    assert {"ladder", "train", "report", "flows"} <= set(graph)  # the walk saw the code
    found = cycles(graph)
    detail = [
        f"{a} -> {b} ({', '.join(sorted(graph[a][b]))})"
        for c in found
        for a in c
        for b in c
        if b in graph[a]
    ]
    assert not found, "import cycles: " + "; ".join(detail)


def _write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


@pytest.mark.parametrize(
    ("b_text", "cyclic"),
    [
        ("def f():\n    from tunegate.a import x\n", True),  # hidden inside a function
        ("from ..a import x\n", True),  # relative
        ("import tunegate.a.m\n", True),
        ("from tunegate import errors\n", False),
    ],
)
def test_the_walk_counts_every_kind_of_import(tmp_path: Path, b_text: str, cyclic: bool) -> None:
    src = _write(
        tmp_path / "tunegate",
        {
            "__init__.py": "",
            "errors.py": "",
            "a/__init__.py": "",
            "a/m.py": "from tunegate.b.n import y\n",
            "b/__init__.py": "",
            "b/n.py": b_text,
        },
    )
    assert cycles(unit_graph(src)) == ([["a", "b"]] if cyclic else [])
