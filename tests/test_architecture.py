"""The layer rules of ARCHITECTURE.md, checked on every module's imports, no import cycle, and every module named."""

from __future__ import annotations

import ast
import re
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


ARCHITECTURE = (ROOT / "ARCHITECTURE.md").read_text()


def _named_in_architecture() -> dict[str, list[str]]:
    """The Modules table of ARCHITECTURE.md as {package: its modules}: a row per package, its items separated by
    ' · ', each item starting with its module's name in backticks."""
    assert "\n## Modules\n" in ARCHITECTURE, "ARCHITECTURE.md has no section '## Modules'"
    section = ARCHITECTURE.split("\n## Modules\n", 1)[1].split("\n## ", 1)[0]
    named: dict[str, list[str]] = {}
    for package, cell in re.findall(r"^\| `(helpers[\w.]*)` \| (.+) \|$", section, flags=re.MULTILINE):
        names = []
        for item in cell.split(" · "):
            start = re.match(r"`(\w+)`", item)
            assert start, (
                f"ARCHITECTURE.md, {package}: an item that does not start with a module name: {item!r}"
            )
            names.append(start[1])
        named[package] = names
    return named


def _modules_by_package() -> dict[str, set[str]]:
    """Every package of helpers/ with its modules (every .py file but __init__.py), by dotted package name."""
    found: dict[str, set[str]] = {n: set() for n, p in MODULES.items() if p.name == "__init__.py"}
    for name, path in MODULES.items():
        if path.name != "__init__.py":
            package, _, stem = name.rpartition(".")
            found[package].add(stem)
    return found


def test_architecture_names_every_module_of_helpers_and_no_other():
    named, actual = _named_in_architecture(), _modules_by_package()
    assert "helpers.core" in actual and len(MODULES) > 20, "helpers/ was not found"
    assert set(named) == set(actual), (
        f"ARCHITECTURE.md's Modules table: packages without a row {sorted(set(actual) - set(named))}, "
        f"rows for no package {sorted(set(named) - set(actual))}"
    )
    problems = []
    for package, modules in sorted(actual.items()):
        listed = named[package]
        if repeated := sorted({m for m in listed if listed.count(m) > 1}):
            problems.append(f"{package}: named twice {repeated}")
        if missing := sorted(modules - set(listed)):
            problems.append(f"{package}: not named {missing}")
        if stray := sorted(set(listed) - modules):
            problems.append(f"{package}: no such module {stray}")
    assert not problems, "ARCHITECTURE.md's Modules table: " + "; ".join(problems)


def _defines(path: Path, name: str) -> bool:
    """Whether a module defines `name` at top level (a function, class or assigned constant)."""
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.FunctionDef | ast.ClassDef) and node.name == name:
            return True
        targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
        if any(isinstance(t, ast.Name) and t.id == name for t in targets):
            return True
    return False


def test_every_module_and_path_architecture_names_exists():
    prose = re.sub(r"```.*?```", "", ARCHITECTURE, flags=re.DOTALL)  # the diagram aside
    quoted = re.findall(r"`([^`\n]+)`", prose)
    dotted = [q for q in quoted if re.fullmatch(r"helpers(\.\w+)+", q)]
    paths = [q for q in quoted if re.match(r"(helpers|tests|notebooks)/", q) and not re.search(r"<|NN", q)]
    assert dotted and paths, "ARCHITECTURE.md names no module and no path"
    wrong = []
    for name in dotted:
        module = _existing(name, set(MODULES))
        rest = name.removeprefix(module or "").lstrip(".")
        if (
            module is None
            or module == "helpers"
            or "." in rest
            or (rest and not _defines(MODULES[module], rest))
        ):
            wrong.append(name)
    wrong += [p for p in paths if not (ROOT / p).exists()]
    assert not wrong, f"ARCHITECTURE.md names what does not exist: {wrong}"
