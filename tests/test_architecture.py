"""The layer rules of ARCHITECTURE.md, checked on every module's imports, and no import cycle."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "helpers"
TOPICS = {"rapids", "hpo", "compression", "albert"}
LAYERS = {"core", "datasets", "collection", *TOPICS}


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Every `helpers…` module a file imports, at top level or inside functions."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith("helpers")}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("helpers"):
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def _existing(name: str, modules: set[str]) -> str | None:
    """The module a dotted import name refers to (an imported attribute resolves to its module)."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


MODULES = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
GRAPH = {
    name: {m for m in (_existing(i, set(MODULES)) for i in _imports(path)) if m and m != name}
    for name, path in MODULES.items()
}


def _layer(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in LAYERS else None


def _allowed(source: str, target: str) -> bool:
    src, dst = _layer(source), _layer(target)
    if (
        src is None or dst is None
    ):  # the package root (helpers/__init__, __main__) re-exports core and the CLI
        return src is None
    if src == "core":
        return dst == "core"
    if src == "datasets":
        return dst in {"core", "datasets"}
    if src == "collection":
        return dst in {"core", "collection"}
    return dst in {"core", "datasets", src}


def test_every_module_sits_in_a_layer() -> None:
    loose = sorted(m for m in MODULES if _layer(m) is None and m not in {"helpers", "helpers.__main__"})
    assert not loose, f"modules outside the layers of ARCHITECTURE.md: {loose}"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_follow_the_layers(module: str) -> None:
    wrong = sorted(t for t in GRAPH[module] if not _allowed(module, t))
    assert not wrong, f"{module} imports {wrong}, which ARCHITECTURE.md does not allow"


def test_no_import_cycle() -> None:
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(GRAPH[node]):
            if state.get(nxt) == 1:
                cycle = path[path.index(nxt) :] + [nxt]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if nxt not in state:
                visit(nxt)
        path.pop()
        state[node] = 2

    for module in sorted(GRAPH):
        if module not in state:
            visit(module)


def test_notebooks_do_not_import_the_tooling() -> None:
    import json

    for notebook in sorted((ROOT / "notebooks").glob("*.ipynb")):
        cells = json.loads(notebook.read_text())["cells"]
        code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
        assert "helpers.collection" not in code, f"{notebook.name} imports helpers.collection"
