"""The pinned RAPIDS release as source text: fetch its wheels' .py/.pyx files once, then index names and signatures.

cuDF, cuML, dask-cudf and dask-cuda wheels ship their Python and Cython sources. `fetch` (run by `make rapids-src`,
never by a test or notebook) downloads them without dependencies at the version pyproject.toml's `rapids-cu12` extra
resolves to and keeps only the sources. `Release` parses them without importing anything (no GPU needed): `.py`
files with `ast`, `.pyx` files with a small parser of their `class`, `def` and `cpdef` lines.
"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SOURCES_ENV = "FSL_RAPIDS_SRC"
PACKAGES = ("cudf", "cuml", "dask_cudf", "dask_cuda")
EXTRA = "rapids-cu12"
VERSIONS_FILE = "versions.json"
_KEEP = (".py", ".pyx", ".pyi")


def sources_dir() -> Path:
    """Where the release sources live: $FSL_RAPIDS_SRC, else .cache/rapids-src in the project."""
    return Path(os.environ.get(SOURCES_ENV, ROOT / ".cache" / "rapids-src"))


def missing_reason(path: Path | None = None) -> str | None:
    """None when the release sources are at `path`, else one sentence saying how to get them."""
    path = sources_dir() if path is None else path
    if (path / VERSIONS_FILE).is_file():
        return None
    return (
        f"the RAPIDS release sources are not at {path}; run `make rapids-src` once (it downloads the pinned cuDF, "
        "cuML, dask-cudf and dask-cuda wheels without dependencies, about 10 MB)"
    )


def requirements(pyproject: Path = ROOT / "pyproject.toml") -> list[str]:
    """The wheel requirements of the `rapids-cu12` extra, e.g. 'cudf-cu12>=26.6,<27'."""
    extras = tomllib.loads(pyproject.read_text())["project"]["optional-dependencies"]
    return list(extras[EXTRA])


def fetch(dest: Path, pyproject: Path = ROOT / "pyproject.toml") -> dict[str, str]:
    """Download the extra's wheels (no dependencies), keep their sources under `dest`; return name → version."""
    versions: dict[str, str] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for requirement in requirements(pyproject):
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "pip",
                    "download",
                    "-q",
                    "--no-deps",
                    "--only-binary=:all:",
                    "--python-version",
                    "3.12",
                    "--platform",
                    "manylinux_2_28_x86_64",
                    "-d",
                    tmp,
                    requirement,
                ],
                check=True,
            )
        for wheel in sorted(Path(tmp).glob("*.whl")):
            name, version = wheel.name.split("-")[:2]
            versions[name] = version
            with zipfile.ZipFile(wheel) as archive:
                for member in archive.namelist():
                    if member.split("/")[0] in PACKAGES and member.endswith(_KEEP):
                        target = dest / member
                        target.parent.mkdir(parents=True, exist_ok=True)
                        target.write_bytes(archive.read(member))
    (dest / VERSIONS_FILE).write_text(json.dumps(versions, indent=1) + "\n")
    return versions


@dataclass(frozen=True)
class Signature:
    """The keywords a callable accepts: named parameters, and whether it also takes **kwargs or *args; for a Python
    source, its definition (read by the API conformance test), its module and class; for a method, whether it
    returns `self` and whether cuML's `mlfunc` decorator converts its result to the input's array type."""

    names: tuple[str, ...]
    var_keyword: bool = False
    var_positional: bool = False
    node: ast.FunctionDef | ast.AsyncFunctionDef | None = field(default=None, compare=False, repr=False)
    module: str = field(default="", compare=False)
    owner: str = field(default="", compare=False)
    returns_self: bool = field(default=False, compare=False)
    array_result: bool = field(default=False, compare=False)

    def rejects(self, keywords: tuple[str, ...]) -> list[str]:
        """The keywords this signature does not accept."""
        return [] if self.var_keyword else [k for k in keywords if k not in self.names]


@dataclass
class ClassInfo:
    """A class of the release: its bases (dotted names as written), methods and other attributes."""

    name: str
    module: str
    bases: list[str]
    methods: dict[str, Signature] = field(default_factory=dict)
    attributes: set[str] = field(default_factory=set)


@dataclass
class ModuleInfo:
    """One module of the release: what each top-level name is bound to."""

    name: str
    path: Path
    functions: dict[str, Signature] = field(default_factory=dict)
    classes: dict[str, ClassInfo] = field(default_factory=dict)
    imports: dict[str, str] = field(default_factory=dict)  # local name → dotted target
    values: set[str] = field(default_factory=set)  # assigned names (constants, aliases)
    star: list[str] = field(default_factory=list)  # modules imported with *


def _signature(args: ast.arguments, method: bool, **context: Any) -> Signature:
    named = [a.arg for a in (*args.posonlyargs, *args.args)]
    names = named[1:] if method and named else named
    positional_only = {a.arg for a in args.posonlyargs}
    keywords = tuple(n for n in names if n not in positional_only) + tuple(a.arg for a in args.kwonlyargs)
    return Signature(keywords, args.kwarg is not None, args.vararg is not None, **context)


def _converts_output(decorator: ast.expr) -> bool:
    """cuML's `mlfunc`, which returns arrays in the input's type; `mlfunc(set_input_type=True)` decorates a `fit`."""
    keywords = decorator.keywords if isinstance(decorator, ast.Call) else []
    fitting = any(k.arg == "set_input_type" and ast.unparse(k.value) == "True" for k in keywords)
    return _dotted(decorator).split(".")[-1] == "mlfunc" and not fitting


def _returns_self(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """Whether a method returns `self` somewhere (a fit's usual end)."""
    return any(
        isinstance(n, ast.Return) and isinstance(n.value, ast.Name) and n.value.id == "self"
        for n in ast.walk(node)
    )


def _dotted(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    if isinstance(node, ast.Subscript):
        return _dotted(node.value)
    if isinstance(node, ast.Call):
        return _dotted(node.func)
    return ""


def _absolute(module: str, is_package: bool, level: int, target: str | None) -> str:
    parts = module.split(".")
    base = parts if is_package else parts[:-1]
    base = base[: len(base) - (level - 1)] if level > 1 else base
    return ".".join([*base, *([target] if target else [])]) if level else (target or "")


def _class_from_ast(node: ast.ClassDef, module: str) -> ClassInfo:
    info = ClassInfo(node.name, module, [_dotted(b) for b in node.bases])
    for item in node.body:
        if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
            decorators = {_dotted(d).split(".")[-1] for d in item.decorator_list}
            if decorators & {"property", "cached_property", "setter", "getter"}:
                info.attributes.add(item.name)
            else:
                info.methods[item.name] = _signature(
                    item.args,
                    "staticmethod" not in decorators,
                    node=item,
                    module=module,
                    owner=node.name,
                    returns_self=_returns_self(item),
                    array_result=any(_converts_output(d) for d in item.decorator_list),
                )
        elif (
            isinstance(item, ast.Assign)
            and isinstance(item.value, ast.Name)
            and item.value.id in info.methods
        ):
            info.methods.update(
                {t.id: info.methods[item.value.id] for t in item.targets if isinstance(t, ast.Name)}
            )
        elif isinstance(item, ast.Assign):
            info.attributes.update(t.id for t in item.targets if isinstance(t, ast.Name))
        elif isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
            info.attributes.add(item.target.id)
    for sub in ast.walk(node):
        if isinstance(sub, ast.Attribute) and isinstance(sub.ctx, ast.Store) and _dotted(sub.value) == "self":
            info.attributes.add(sub.attr)
    return info


def _parse_py(module: ModuleInfo, text: str, is_package: bool) -> None:
    tree = ast.parse(text)
    statements = list(tree.body)
    while statements:
        node = statements.pop(0)
        if isinstance(node, ast.If | ast.Try):
            statements[:0] = [
                *node.body,
                *getattr(node, "orelse", []),
                *getattr(node, "finalbody", []),
                *[s for h in getattr(node, "handlers", []) for s in h.body],
            ]
        elif isinstance(node, ast.Import):
            for alias in node.names:
                local = alias.asname or alias.name.split(".")[0]
                module.imports[local] = alias.name if alias.asname else alias.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom):
            source = _absolute(module.name, is_package, node.level, node.module)
            for alias in node.names:
                if alias.name == "*":
                    module.star.append(source)
                else:
                    module.imports[alias.asname or alias.name] = f"{source}.{alias.name}"
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            module.functions[node.name] = _signature(node.args, method=False, node=node, module=module.name)
        elif isinstance(node, ast.ClassDef):
            module.classes[node.name] = _class_from_ast(node, module.name)
        elif (
            isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Name)
            and node.value.id in module.functions
        ):  # an alias, e.g. `read_parquet = read_parquet_expr`
            module.functions.update(
                {t.id: module.functions[node.value.id] for t in node.targets if isinstance(t, ast.Name)}
            )
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                for name in ast.walk(target):
                    if isinstance(name, ast.Name):
                        module.values.add(name.id)


_PYX_CLASS = re.compile(r"^(?:cdef\s+)?class\s+(\w+)\b")
_PYX_DEF = re.compile(r"^(\s*)(?:async\s+)?(?:def|cpdef)\s+(?:[\w.\[\]]+\s+)*?(\w+)\s*\(")
_PYX_SELF_ATTR = re.compile(r"\bself\.(\w+)\s*=[^=]")
_PYX_DECORATOR = re.compile(r"^\s*@([\w.]+)")
_PYX_IMPORT = re.compile(r"^(?:from\s+([\w.]+)\s+)?import\s+(.+)$")


def _pyx_parameters(text: str) -> str:
    """A Cython parameter list as Python: drop C types (`int n=1` → `n=1`) and `not None` clauses."""
    pieces, depth, current = [], 0, ""
    for char in text:
        depth += char in "([{"
        depth -= char in ")]}"
        if char == "," and depth == 0:
            pieces.append(current)
            current = ""
        else:
            current += char
    pieces.append(current)
    out = []
    for piece in (p.strip() for p in pieces):
        if not piece:
            continue
        name, sep, default = piece.partition("=")
        name = re.sub(r"\s+not\s+None$", "", name.strip())
        tokens = re.findall(r"\*{0,2}\w+|\*", name.replace("&", " "))
        stars = "**" if name.lstrip().startswith("**") else "*" if name.lstrip().startswith("*") else ""
        last = tokens[-1].lstrip("*") if tokens else ""
        out.append(f"{stars}{last}" + (f"={default.strip() and 'None'}" if sep else ""))
    return ", ".join(out)


def _closing(text: str, start: int) -> int:
    """Index of the parenthesis closing the one at `start`."""
    depth = 0
    for index in range(start, len(text)):
        depth += text[index] == "("
        depth -= text[index] == ")"
        if depth == 0:
            return index
    return len(text)


def _parse_pyx(module: ModuleInfo, text: str, is_package: bool) -> None:
    lines = text.splitlines()
    current: ClassInfo | None = None
    method: tuple[str, int] | None = None  # the method being read: its name and the indent of its `def`
    decorators: set[str] = set()
    for number, line in enumerate(lines):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        indent = len(line) - len(line.lstrip())
        if method is not None and indent <= method[1] and not stripped.startswith(")"):
            method = None
        if method is not None and current is not None and method[0] in current.methods:
            if re.fullmatch(r"return self\s*(#.*)?", stripped):
                current.methods[method[0]] = replace(current.methods[method[0]], returns_self=True)
        if indent == 0 and not line.startswith(("@", ")")):
            current = None
        if indent == 0 and (found := _PYX_IMPORT.match(stripped)) and "cimport" not in stripped:
            source, names = found.groups()
            for alias in re.sub(r"[()\\]", "", names).split(","):
                parts = alias.split()
                if not parts:
                    continue
                local = parts[-1]
                module.imports[local] = (
                    f"{_absolute(module.name, is_package, 0, source)}.{parts[0]}" if source else parts[0]
                )
        if (found := _PYX_CLASS.match(line)) and indent == 0:
            header = " ".join(lines[number : number + 30])
            bases = header[header.index("(") + 1 : header.index(")")] if "(" in header.split(":")[0] else ""
            current = ClassInfo(found[1], module.name, [b.strip() for b in bases.split(",") if b.strip()])
            module.classes[found[1]] = current
            continue
        if found := _PYX_DECORATOR.match(line):
            # `mlfunc(set_input_type=True)` decorates a fit, which returns the estimator, not an array
            fitting = "set_input_type=True" in line
            decorators.add(found[1].split(".")[-1] + (":fit" if fitting else ""))
            continue
        if found := _PYX_DEF.match(line):
            header = "".join(lines[number : number + 60])
            start = header.index("(", header.index(found[2]))
            end = _closing(header, start)
            try:
                args = ast.parse(f"def f({_pyx_parameters(header[start + 1 : end])}): pass").body[0].args
            except SyntaxError:
                args = ast.parse("def f(*args, **kwargs): pass").body[0].args
            is_method = current is not None and indent > 0
            if is_method:
                method = (found[2], indent)
            if is_method and decorators & {"property", "cached_property", "setter", "getter"}:
                current.attributes.add(found[2])
            elif is_method:
                current.methods[found[2]] = _signature(
                    args, "staticmethod" not in decorators, array_result="mlfunc" in decorators
                )
            elif indent == 0:
                module.functions[found[2]] = _signature(args, method=False)
            decorators = set()
            continue
        decorators = set()
        if current is not None:
            current.attributes.update(_PYX_SELF_ATTR.findall(line))
            if indent == 4 and (assigned := re.match(r"^\s{4}(\w+)\s*=", line)):
                current.attributes.add(assigned[1])
        elif indent == 0 and (assigned := re.match(r"^(\w+)\s*(?::[^=]+)?=", line)):
            module.values.add(assigned[1])


class Release:
    """The sources of one RAPIDS release under `root`, parsed on demand into modules, classes and signatures."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = sources_dir() if root is None else root
        reason = missing_reason(self.root)
        if reason:
            raise FileNotFoundError(reason[0].upper() + reason[1:] + ".")
        self._modules: dict[str, ModuleInfo | None] = {}

    @cached_property
    def versions(self) -> dict[str, str]:
        """Distribution name → version of each fetched wheel."""
        return json.loads((self.root / VERSIONS_FILE).read_text())

    def describe(self) -> str:
        """The release in words, e.g. 'cudf_cu12 26.10.2, cuml_cu12 26.10.0, …'."""
        return ", ".join(f"{name} {version}" for name, version in self.versions.items())

    def module(self, dotted: str) -> ModuleInfo | None:
        """The parsed module `dotted` (e.g. 'cudf.core.dataframe'), or None when the release has no such module."""
        if dotted not in self._modules:
            base = self.root.joinpath(*dotted.split("."))
            candidates = [
                (base / "__init__.py", True),
                (base / "__init__.pyx", True),
                (base.with_suffix(".py"), False),
                (base.with_suffix(".pyx"), False),
            ]
            found = next(((p, pkg) for p, pkg in candidates if p.is_file()), None)
            if found is None:
                self._modules[dotted] = None
            else:
                path, is_package = found
                info = ModuleInfo(dotted, path)
                text = path.read_text(encoding="utf-8", errors="replace")
                (_parse_py if path.suffix == ".py" else _parse_pyx)(info, text, is_package)
                stub = path.with_suffix(".pyi")
                if stub.is_file():  # mixins built at run time (cudf.core.mixins) are spelt out in stubs
                    declared = ModuleInfo(dotted, stub)
                    _parse_py(declared, stub.read_text(encoding="utf-8"), is_package)
                    info.classes = {**declared.classes, **info.classes}
                self._modules[dotted] = info
        return self._modules[dotted]

    def resolve(
        self, dotted: str, _seen: frozenset[str] = frozenset()
    ) -> ModuleInfo | ClassInfo | Signature | str | None:
        """What `dotted` names in the release: a module, a class, a function's Signature, 'value', or None."""
        if dotted in _seen:
            return None
        seen = _seen | {dotted}
        parts = dotted.split(".")
        for cut in range(len(parts), 0, -1):
            module = self.module(".".join(parts[:cut]))
            if module is not None:
                break
        else:
            return None
        rest = parts[cut:]
        if not rest:
            return module
        target = self._member_of_module(module, rest[0], seen)
        for name in rest[1:]:
            if isinstance(target, ClassInfo):
                target = self.member(target, name)
            elif isinstance(target, ModuleInfo):
                target = self._member_of_module(target, name, seen)
            else:
                return None
        return target

    def _member_of_module(self, module: ModuleInfo, name: str, seen: frozenset[str]):
        if name in module.functions:
            return module.functions[name]
        if name in module.classes:
            return module.classes[name]
        if name in module.imports:
            return self.resolve(module.imports[name], seen)
        if name in module.values:
            return "value"
        submodule = self.module(f"{module.name}.{name}")
        if submodule is not None:
            return submodule
        for star in module.star:
            star_module = self.module(star)
            if (
                star_module is not None
                and (found := self._member_of_module(star_module, name, seen)) is not None
            ):
                return found
        return None

    def bases(self, cls: ClassInfo) -> tuple[list[ClassInfo], list[str]]:
        """The class's ancestors found in the release (nearest first), and the base names found outside it."""
        found: list[ClassInfo] = []
        outside: list[str] = []
        queue = [(base, cls.module) for base in cls.bases]
        seen: set[str] = set()
        while queue:
            base, module_name = queue.pop(0)
            owner = self.module(module_name)
            head, _, tail = base.partition(".")
            if owner is not None and head in owner.imports:
                dotted = owner.imports[head] + (f".{tail}" if tail else "")
            elif owner is not None and head in owner.classes and not tail:
                dotted = f"{owner.name}.{head}"
            else:
                dotted = base
            if dotted in seen or dotted in ("object", "Generic", "ABC"):
                continue
            seen.add(dotted)
            target = self.resolve(dotted) if dotted.split(".")[0] in PACKAGES else None
            if isinstance(target, ClassInfo):
                found.append(target)
                queue.extend((b, target.module) for b in target.bases)
            else:
                outside.append(dotted)
        return found, outside

    def member(self, cls: ClassInfo, name: str) -> Signature | str | None:
        """A method's Signature, 'attribute', or None: looked up on `cls` and its release ancestors."""
        for klass in [cls, *self.bases(cls)[0]]:
            if name in klass.methods:
                return klass.methods[name]
            if name in klass.attributes:
                return "attribute"
        return None

    def constructor(self, cls: ClassInfo) -> Signature:
        """The keywords `cls(...)` accepts: the nearest `__init__` in the release (any keyword if none is found)."""
        for klass in [cls, *self.bases(cls)[0]]:
            if "__init__" in klass.methods:
                return klass.methods["__init__"]
        return Signature((), var_keyword=True, var_positional=True)


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] != "fetch":
        sys.exit("usage: python -m helpers.rapids.release fetch DEST")
    fetched = fetch(Path(sys.argv[2]))
    print(f"RAPIDS sources in {sys.argv[2]}: {', '.join(f'{k} {v}' for k, v in fetched.items())}")
