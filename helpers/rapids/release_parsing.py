"""The release sources parsed, never imported: `.py` with `ast`, `.pyx` line by line, into signatures."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any


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


def absolute_module(module: str, is_package: bool, level: int, target: str | None) -> str:
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


def parse_py(module: ModuleInfo, text: str, is_package: bool) -> None:
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
            source = absolute_module(module.name, is_package, node.level, node.module)
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


def parse_pyx(module: ModuleInfo, text: str, is_package: bool) -> None:
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
                    f"{absolute_module(module.name, is_package, 0, source)}.{parts[0]}"
                    if source
                    else parts[0]
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
