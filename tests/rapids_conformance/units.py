"""Scan units: a Python module, a notebook's code cells or a source text, parsed once for the RAPIDS use finder.

A unit keeps each line's call-site label (`file:line`, or `notebook cell N line M`), its top-level functions and
methods, and its imports; `gpu_path_units` gives every unit of the project's GPU path.
"""

from __future__ import annotations

import ast
import json
from dataclasses import dataclass, field
from pathlib import Path

from helpers.rapids.release import ROOT


@dataclass
class ScanUnit:
    """A scanned module or notebook: its name, the site label of each line, top-level defs and imports."""

    name: str
    label: str
    tree: ast.Module
    lines: dict[int, str] = field(default_factory=dict)
    defs: dict[str, ast.FunctionDef] = field(default_factory=dict)
    imports: dict[str, str] = field(default_factory=dict)

    def site(self, node: ast.AST) -> str:
        """'file:line' (or 'notebook cell N line M') of a node."""
        return self.lines.get(node.lineno, f"{self.label}:{node.lineno}")


def source_unit(name: str, label: str, source: str, lines: dict[int, str] | None = None) -> ScanUnit:
    """A source text as a scan unit named `name`, its sites labelled `label:line` unless `lines` names them."""
    unit = ScanUnit(name, label, ast.parse(source), lines or {})
    for node in ast.walk(unit.tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                unit.imports[alias.asname or alias.name.split(".")[0]] = (
                    alias.name if alias.asname else alias.name.split(".")[0]
                )
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                unit.imports[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    for node in unit.tree.body:
        if isinstance(node, ast.FunctionDef):
            unit.defs[node.name] = node
        elif isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, ast.FunctionDef):
                    unit.defs[f"{node.name}.{item.name}"] = item
    return unit


def module_unit(path: Path, root: Path = ROOT) -> ScanUnit:
    """A Python file as a scan unit; its dotted name from its place under `root` (or its stem)."""
    try:
        name = ".".join(path.resolve().relative_to(root).with_suffix("").parts).removesuffix(".__init__")
        label = path.resolve().relative_to(root).as_posix()
    except ValueError:
        name, label = path.stem, str(path)
    return source_unit(name, label, path.read_text())


def notebook_unit(path: Path, root: Path = ROOT) -> ScanUnit:
    """A notebook's code cells (IPython magics dropped) as one scan unit, sites named by cell and line."""
    cells = json.loads(path.read_text())["cells"]
    label = path.resolve().relative_to(root).as_posix() if path.resolve().is_relative_to(root) else str(path)
    source, lines, number = [], {}, 0
    for index, cell in enumerate(cells):
        if cell["cell_type"] != "code":
            continue
        for line_no, line in enumerate("".join(cell["source"]).splitlines(), 1):
            number += 1
            source.append("" if line.lstrip().startswith(("%", "!")) else line)
            lines[number] = f"{label} cell {index} line {line_no}"
    return source_unit(path.stem, label, "\n".join(source) + "\n", lines)


def gpu_fields(backend_unit: ScanUnit) -> dict[str, str]:
    """Backend field → dotted RAPIDS name, read from the `Backend(...)` call in `_gpu()` of helpers/core/backend.py."""
    classes = {n.name: n for n in backend_unit.tree.body if isinstance(n, ast.ClassDef)}
    fields = [s.target.id for s in classes["Backend"].body if isinstance(s, ast.AnnAssign)]
    gpu = backend_unit.defs["_gpu"]
    names = {}
    for node in ast.walk(gpu):
        if isinstance(node, ast.Import):
            names.update({a.asname or a.name: a.name for a in node.names})
        elif isinstance(node, ast.ImportFrom):
            names.update({a.asname or a.name: f"{node.module}.{a.name}" for a in node.names})
    call = next(
        n for n in ast.walk(gpu) if isinstance(n, ast.Call) and getattr(n.func, "id", "") == "Backend"
    )
    mapping = {}
    for name, arg in zip(fields, call.args, strict=False):
        if isinstance(arg, ast.Name) and arg.id in names:
            mapping[name] = names[arg.id]
    return mapping


def gpu_path_units(root: Path = ROOT) -> list[ScanUnit]:
    """helpers/ modules and the RAPIDS notebooks (01–03) as scan units."""
    modules = [module_unit(p, root) for p in sorted((root / "helpers").rglob("*.py"))]
    notebooks = [notebook_unit(p, root) for p in sorted((root / "notebooks").glob("0[1-3]_*.ipynb"))]
    return modules + notebooks
