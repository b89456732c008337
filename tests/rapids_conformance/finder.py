"""The RAPIDS use finder: which cuDF / cuML / dask-cudf / dask-cuda names the GPU path uses, read with `ast`.

It never imports RAPIDS. A value is on the GPU path when it comes from a RAPIDS import, from the GPU `Backend`
(fields mapped by `helpers.core.backend._gpu`, read by `units.gpu_fields`), or from a call that is handed such a
value (calls into the scanned code are followed with those arguments, whatever their return annotation says: a
helper annotated pandas returns cuDF on the GPU). Every module attribute, class, keyword and method used on such a
value is recorded as a `Use`, with the literal values of its arguments and the `Origin` of the value a method is
called on, for `checking.check` to look up in the release sources. Keywords passed as `**{...}`, `**dict(...)` or
`**name` of a dict literal count as keywords; estimators kept in a dict or list are followed through `.items()`,
`.values()` and loops. Branches guarded by `hasattr(x, "name")` are skipped when no RAPIDS class has `name`
(e.g. Dask-only code).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from helpers.rapids.release import PACKAGES

from .units import ScanUnit

_BUILTINS_PASSING = {"tuple", "list", "sorted", "reversed", "dict"}
# methods whose result leaves the GPU path (host or other libraries' objects), so nothing is checked on it
_LEAVING = {"to_numpy", "to_pandas", "to_arrow", "to_cupy", "to_dlpack", "to_dict", "tolist", "to_list"}
# annotations that do not stop a RAPIDS value: on the GPU a "pandas" frame or a "NumPy" array is cuDF or CuPy
_FRAME_ANNOTATION = re.compile(r"\b(DataFrame|Series|Index|ndarray|ArrayLike)\b")


@dataclass(frozen=True)
class Origin:
    """What produced a RAPIDS value, as far as the finder can tell: a call of dotted RAPIDS callables (an instance
    when they are classes), or a method of another value (`receiver`, None when unknown) given a first argument of
    kind `argument` ('cudf', 'host' for anything not RAPIDS, 'unknown', '' for none); `method` '' means a part
    of the receiver (an item or attribute)."""

    made_by: tuple[str, ...] = ()
    receiver: Origin | None = None
    method: str = ""
    argument: str = ""

    @property
    def family(self) -> str:
        """The RAPIDS package the value belongs to when known ('cudf' for cuDF and dask-cudf frames), else ''."""
        if self.made_by:
            packages = {
                "cudf" if n.startswith(("cudf.", "dask_cudf.")) else n.split(".")[0] for n in self.made_by
            }
            return packages.pop() if len(packages) == 1 else ""
        return "cudf" if self.receiver is not None and self.receiver.family == "cudf" else ""


@dataclass(frozen=True)
class Use:
    """One use of RAPIDS at a call site: a dotted name (module, class, function) or a method on a RAPIDS value, with
    its keywords, the literal values of its arguments (source text; positional None when not a literal, the whole
    tuple None when some argument is unpacked) and, for a method or attribute, the origin of its value."""

    site: str
    target: str  # "cudf.read_csv" for a named object, ".sort_values" for a method or attribute of a value
    keywords: tuple[str, ...] = ()
    called: bool = False
    is_import: bool = False
    literals: tuple[tuple[str, str], ...] = ()
    positional: tuple[str | None, ...] | None = ()
    owner: Origin | None = None


@dataclass
class _Value:
    # "ref" (a dotted RAPIDS name), "refs" (one of several: `names`), "obj" (a RAPIDS object), "backend", "box" (a
    # container), "pair" (a key and value of `.items()`), "func", "keys" (a dict literal's keys and literal values)
    kind: str
    name: str = ""
    node: Any = None
    returns: _Value | None = None
    origin: Origin | None = None
    names: tuple[str, ...] = ()
    keys: tuple[tuple[str, str | None], ...] = ()


_OBJ = _Value("obj")


def _tainting(annotation: ast.expr | None) -> bool:
    """Whether a return annotation lets a RAPIDS value through (none, Any, a module, a tuple of Any, or a frame or
    array type, which is cuDF's or CuPy's on the GPU)."""
    text = ast.unparse(annotation) if annotation is not None else "Any"
    return (
        text == "Any"
        or "ModuleType" in text
        or text.startswith("tuple[Any")
        or bool(_FRAME_ANNOTATION.search(text))
    )


def _called(value: _Value | None) -> _Value | None:
    """What calling or passing on `value` yields: a RAPIDS object whenever anything RAPIDS flows through."""
    return None if value is None else value if value.kind in ("backend", "box", "obj") else _OBJ


def _part(value: _Value | None) -> _Value | None:
    """An item or attribute of `value` (a RAPIDS object of its family when `value` is one)."""
    if value is not None and value.kind == "obj":
        return _Value("obj", origin=Origin(receiver=value.origin)) if value.origin is not None else _OBJ
    return _called(value)


def _join(*values: _Value | None) -> _Value | None:
    present = [v for v in values if v is not None]
    refs = [n for v in present if v.kind in ("ref", "refs") for n in (v.names or (v.name,))]
    if refs and len(refs) == len(present):
        names = tuple(dict.fromkeys(refs))
        return _Value("ref", names[0]) if len(names) == 1 else _Value("refs", names=names)
    for kind in ("backend", "ref", "refs", "obj", "box", "func"):
        for value in present:
            if value.kind == kind and (kind != "func" or value.returns is not None):
                return _OBJ if kind in ("ref", "refs") else value
    return None


def _literal(node: ast.expr) -> str | None:
    """The source of `node` when it is a literal (a constant, or a container of constants), else None."""
    try:
        ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return None
    return ast.unparse(node)


class Finder:
    """Walks scan units and collects every RAPIDS use on the GPU path (see the module docstring)."""

    def __init__(self, units: list[ScanUnit], fields: dict[str, str]) -> None:
        self.units = units
        self.fields = fields
        self.by_name = {u.name: u for u in units}
        self.uses: list[Use] = []
        self._memo: dict[tuple, _Value | None] = {}
        # attribute names no RAPIDS class has (set by `checking.find_uses`)
        self.guard_absent: set[str] = set()

    def run(self) -> list[Use]:
        """Analyse every unit's top level and every function (Backend-annotated parameters as the GPU backend)."""
        for unit in self.units:
            self._block(unit, unit.tree.body, {})
            for qualname, node in unit.defs.items():
                self._function(unit, node, {}, qualname)
        return list(dict.fromkeys(self.uses))

    def _function(
        self,
        unit: ScanUnit,
        node: ast.FunctionDef,
        bound: dict[str, _Value | None],
        qualname: str,
        env: dict[str, _Value | None] | None = None,
    ) -> _Value | None:
        taints = tuple(
            sorted(
                (k, v.kind, v.name, v.names, v.returns is not None, repr(v.origin))
                for k, v in bound.items()
                if v
            )
        )
        closure = tuple(sorted(k for k, v in (env or {}).items() if v is not None))
        key = (unit.name, qualname, node.lineno, taints, closure)
        if key in self._memo:
            return self._memo[key]
        self._memo[key] = None
        local = dict(env or {})
        for arg in (*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs):
            annotation = ast.unparse(arg.annotation) if arg.annotation else ""
            local[arg.arg] = bound.get(arg.arg) or (
                _Value("backend") if annotation.endswith("Backend") else None
            )
        returned: list[_Value | None] = []
        self._block(unit, node.body, local, returned)
        result = _join(*returned)
        if not _tainting(node.returns):
            result = None
        self._memo[key] = result
        return result

    def _block(
        self, unit: ScanUnit, body: Iterable[ast.stmt], env: dict, returned: list | None = None
    ) -> None:
        for statement in body:
            self._statement(unit, statement, env, returned if returned is not None else [])

    def _bind(self, target: ast.expr, value: _Value | None, env: dict) -> None:
        if isinstance(target, ast.Name):
            env[target.id] = value
        elif isinstance(target, ast.Tuple | ast.List) and value is not None and value.kind == "pair":
            for element, part in zip(target.elts, (None, value.returns), strict=False):
                self._bind(element, part, env)
        elif isinstance(target, ast.Tuple | ast.List):
            inner = value.returns if value is not None and value.kind == "box" else _part(value)
            for element in target.elts:
                self._bind(element, inner, env)
        elif isinstance(target, ast.Starred):
            self._bind(target.value, value, env)

    def _guard_dead(self, unit: ScanUnit, test: ast.expr, env: dict) -> bool:
        """True when `test` is `hasattr(v, "x")` (or an `and` of them) on a RAPIDS value and no RAPIDS class has x."""
        tests = test.values if isinstance(test, ast.BoolOp) and isinstance(test.op, ast.And) else [test]
        for t in tests:
            if (
                isinstance(t, ast.Call)
                and getattr(t.func, "id", "") == "hasattr"
                and len(t.args) == 2
                and isinstance(t.args[1], ast.Constant)
                and self._quiet(unit, t.args[0], env) is not None
                and t.args[1].value in self.guard_absent
            ):
                return True
        return False

    def _quiet(self, unit: ScanUnit, node: ast.expr, env: dict) -> _Value | None:
        if isinstance(node, ast.Name):
            return env.get(node.id)
        return None

    def _statement(self, unit: ScanUnit, node: ast.stmt, env: dict, returned: list) -> None:
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in PACKAGES:
                    self.uses.append(Use(unit.site(node), alias.name, is_import=True))
                    local = alias.asname or alias.name.split(".")[0]
                    env[local] = _Value("ref", alias.name if alias.asname else local)
        elif isinstance(node, ast.ImportFrom):
            if node.module and not node.level and node.module.split(".")[0] in PACKAGES:
                for alias in node.names:
                    dotted = f"{node.module}.{alias.name}"
                    self.uses.append(Use(unit.site(node), dotted, is_import=True))
                    env[alias.asname or alias.name] = _Value("ref", dotted)
        elif isinstance(node, ast.FunctionDef):
            value = self._function(unit, node, {}, node.name, env)
            env[node.name] = _Value("func", node.name, node, value)
        elif isinstance(node, ast.Assign):
            value = self._expr(unit, node.value, env)
            keys = self._keys(node.value, env)
            for target in node.targets:
                if isinstance(target, ast.Subscript | ast.Attribute):
                    self._expr(unit, target.value, env)
                self._bind(target, value, env)
                if isinstance(target, ast.Name):  # `**name` of a dict literal passes its keys
                    env[f"**{target.id}"] = None if keys is None else _Value("keys", keys=keys)
        elif isinstance(node, ast.AnnAssign | ast.AugAssign):
            value = self._expr(unit, node.value, env) if node.value else None
            if isinstance(node, ast.AnnAssign):
                self._bind(node.target, value, env)
        elif isinstance(node, ast.Return):
            returned.append(self._expr(unit, node.value, env) if node.value else None)
        elif isinstance(node, ast.Expr):
            self._expr(unit, node.value, env)
        elif isinstance(node, ast.If):
            dead = self._guard_dead(unit, node.test, env)
            self._expr(unit, node.test, env)
            if not dead:
                self._block(unit, node.body, env, returned)
            self._block(unit, node.orelse, env, returned)
        elif isinstance(node, ast.For | ast.AsyncFor):
            self._bind(node.target, self._element(self._expr(unit, node.iter, env)), env)
            self._block(unit, [*node.body, *node.orelse], env, returned)
        elif isinstance(node, ast.While):
            self._expr(unit, node.test, env)
            self._block(unit, [*node.body, *node.orelse], env, returned)
        elif isinstance(node, ast.With | ast.AsyncWith):
            for item in node.items:
                value = self._expr(unit, item.context_expr, env)
                if item.optional_vars is not None:
                    self._bind(item.optional_vars, value, env)
            self._block(unit, node.body, env, returned)
        elif isinstance(node, ast.Try):
            self._block(
                unit,
                [*node.body, *[s for h in node.handlers for s in h.body], *node.orelse, *node.finalbody],
                env,
                returned,
            )
        elif isinstance(node, ast.Raise | ast.Assert | ast.Delete):
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.expr):
                    self._expr(unit, child, env)

    def _callee(
        self, unit: ScanUnit, func: ast.expr, env: dict
    ) -> tuple[ScanUnit, ast.FunctionDef, str] | None:
        if isinstance(func, ast.Name) and func.id not in env:
            if func.id in unit.defs:
                return unit, unit.defs[func.id], func.id
            dotted = unit.imports.get(func.id, "")
            module, _, name = dotted.rpartition(".")
            if module in self.by_name and name in self.by_name[module].defs:
                return self.by_name[module], self.by_name[module].defs[name], name
        return None

    def _keys(self, node: ast.expr, env: dict) -> tuple[tuple[str, str | None], ...] | None:
        """The keys of a dict literal, `dict(...)` call or name bound to one, with their literal values."""
        if isinstance(node, ast.Dict) and all(
            isinstance(k, ast.Constant) and isinstance(k.value, str) for k in node.keys
        ):
            return tuple((k.value, _literal(v)) for k, v in zip(node.keys, node.values, strict=True))
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "dict" and not node.args:
            if all(k.arg for k in node.keywords):
                return tuple((k.arg, _literal(k.value)) for k in node.keywords)
        if isinstance(node, ast.Name) and (bound := env.get(f"**{node.id}")) is not None:
            return bound.keys
        return None

    def _arguments(self, node: ast.Call, env: dict) -> dict[str, Any]:
        """A call's keywords (those of `**` dict literals included), their literal values and its positionals."""
        named = [(k.arg, _literal(k.value)) for k in node.keywords if k.arg]
        unpacked = [self._keys(k.value, env) for k in node.keywords if not k.arg]
        for keys in unpacked:
            named.extend(keys or ())
        starred = any(isinstance(a, ast.Starred) for a in node.args) or None in unpacked
        return {
            "keywords": tuple(dict.fromkeys(k for k, _ in named)),
            "literals": tuple((k, v) for k, v in named if v is not None),
            "positional": None if starred else tuple(_literal(a) for a in node.args),
        }

    @staticmethod
    def _kind(value: _Value | None) -> str:
        """What a method is given first, for the type of its result: 'cudf', 'host' (not RAPIDS) or 'unknown'."""
        if value is None:
            return "host"
        return (
            "cudf"
            if value.kind == "obj" and value.origin is not None and value.origin.family == "cudf"
            else "unknown"
        )

    def _call(self, unit: ScanUnit, node: ast.Call, env: dict) -> _Value | None:
        args = [self._expr(unit, a.value if isinstance(a, ast.Starred) else a, env) for a in node.args]
        kwargs = {k.arg: self._expr(unit, k.value, env) for k in node.keywords}
        arguments = self._arguments(node, env)
        func = node.func
        if isinstance(func, ast.Name) and func.id == "getattr" and len(node.args) >= 2:
            owner = args[0]
            if owner is not None and isinstance(node.args[1], ast.Constant):
                return self._attribute(unit, node, owner, node.args[1].value)
            return _OBJ if owner is not None else None
        if isinstance(func, ast.Attribute):
            owner = self._expr(unit, func.value, env)
            if owner is not None and owner.kind == "box" and func.attr in ("items", "values", "get"):
                inner = owner.returns
                return (
                    _Value("box", returns=_Value("pair", returns=inner))
                    if func.attr == "items"
                    else (_Value("box", returns=inner) if func.attr == "values" else inner)
                )
            if owner is not None and owner.kind == "obj":
                if func.attr.startswith("__"):
                    return _OBJ
                self.uses.append(
                    Use(unit.site(node), f".{func.attr}", called=True, owner=owner.origin, **arguments)
                )
                if func.attr in _LEAVING:
                    return None
                first = self._kind(args[0]) if node.args and not isinstance(node.args[0], ast.Starred) else ""
                return _Value("obj", origin=Origin(receiver=owner.origin, method=func.attr, argument=first))
            if owner is not None and owner.kind in ("ref", "refs") and not func.attr.startswith("__"):
                return self._construct(
                    unit, node, tuple(f"{n}.{func.attr}" for n in owner.names or (owner.name,)), arguments
                )
            if owner is not None and owner.kind == "backend":
                target = self.fields.get(func.attr)
                if target is None:
                    return _join(*args) if func.attr.startswith("to_") else None
                if target == "cudf":
                    return _OBJ
                return self._construct(unit, node, (target,), arguments)
        value = self._expr(unit, func, env) if not isinstance(func, ast.Attribute) else None
        if value is not None and value.kind in ("ref", "refs"):
            return self._construct(unit, node, value.names or (value.name,), arguments)
        if value is not None and value.kind == "func":
            bound = self._bind_args(value.node, args, kwargs)
            result = self._function(unit, value.node, bound, value.name, env) if bound else value.returns
            return _called(
                result or (_join(*args, *kwargs.values()) if _tainting(value.node.returns) else None)
            )
        if value is not None and value.kind == "obj":
            return _OBJ
        if isinstance(func, ast.Name) and func.id == "get_backend":
            return _Value("backend")
        callee = self._callee(unit, func, env)
        if callee is not None:
            target_unit, definition, qualname = callee
            bound = self._bind_args(definition, args, kwargs)
            result = self._function(target_unit, definition, bound, qualname)
            if result is None and bound and _tainting(definition.returns):
                return _OBJ
            return result
        if isinstance(func, ast.Name) and func.id in _BUILTINS_PASSING:  # a host container of the elements
            joined = _join(*args)
            return None if joined is None else _Value("box", returns=self._element(joined))
        return None

    @staticmethod
    def _bind_args(node: ast.FunctionDef, args: list, kwargs: dict) -> dict[str, _Value | None]:
        names = [a.arg for a in (*node.args.posonlyargs, *node.args.args)]
        bound = {n: v for n, v in zip(names, args, strict=False) if v is not None}
        bound.update({k: v for k, v in kwargs.items() if k and v is not None})
        return bound

    def _construct(self, unit: ScanUnit, node: ast.Call, names: tuple[str, ...], arguments: dict) -> _Value:
        """A call of the RAPIDS callables `names` (one of them, when several): a use of each, and its result."""
        for name in names:
            self.uses.append(Use(unit.site(node), name, called=True, **arguments))
        return _Value("obj", origin=Origin(made_by=names))

    def _attribute(self, unit: ScanUnit, node: ast.AST, owner: _Value, attr: str) -> _Value | None:
        if attr.startswith("__"):
            return None
        if owner.kind in ("ref", "refs"):
            names = tuple(f"{n}.{attr}" for n in owner.names or (owner.name,))
            self.uses.extend(Use(unit.site(node), n) for n in names)
            return _Value("ref", names[0]) if len(names) == 1 else _Value("refs", names=names)
        if owner.kind == "obj":
            self.uses.append(Use(unit.site(node), f".{attr}", owner=owner.origin))
            return _part(owner)
        if owner.kind == "backend":
            target = self.fields.get(attr)
            return None if target is None else _Value("ref", target)
        return None

    @staticmethod
    def _element(value: _Value | None) -> _Value | None:
        """An element of `value` when iterated or indexed."""
        if value is not None and value.kind == "box":
            return value.returns if value.returns is None or value.returns.kind != "box" else value.returns
        return _part(value)

    def _expr(self, unit: ScanUnit, node: ast.expr | None, env: dict) -> _Value | None:
        if node is None:
            return None
        if isinstance(node, ast.Name):
            return env.get(node.id)
        if isinstance(node, ast.Call):
            return self._call(unit, node, env)
        if isinstance(node, ast.Attribute):
            owner = self._expr(unit, node.value, env)
            return self._attribute(unit, node, owner, node.attr) if owner is not None else None
        if isinstance(node, ast.Subscript):
            owner = self._expr(unit, node.value, env)
            self._expr(unit, node.slice, env)
            return self._element(owner) if owner is not None and owner.kind == "box" else _part(owner)
        if isinstance(node, ast.List | ast.Tuple | ast.Set | ast.Dict):
            for key in node.keys if isinstance(node, ast.Dict) else ():  # a dict holds its values' kind
                self._expr(unit, key, env)
            parts = node.values if isinstance(node, ast.Dict) else node.elts
            inner = _join(*[self._expr(unit, p, env) for p in parts if p is not None])
            return None if inner is None else _Value("box", returns=inner)
        if isinstance(node, ast.Lambda):
            inner = dict(env)
            for arg in node.args.args:
                inner[arg.arg] = None
            body = self._expr(unit, node.body, inner)
            return _Value(
                "func",
                "<lambda>",
                ast.FunctionDef(
                    name="<lambda>",
                    args=node.args,
                    body=[],
                    decorator_list=[],
                    returns=None,
                    type_params=[],
                    lineno=node.lineno,
                ),
                body,
            )
        if isinstance(node, ast.IfExp):
            self._expr(unit, node.test, env)
            dead = self._guard_dead(unit, node.test, env)
            return _join(
                None if dead else self._expr(unit, node.body, env), self._expr(unit, node.orelse, env)
            )
        if isinstance(node, ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp):
            inner = dict(env)
            for generator in node.generators:
                self._bind(generator.target, self._element(self._expr(unit, generator.iter, inner)), inner)
                for condition in generator.ifs:
                    self._expr(unit, condition, inner)
            if isinstance(node, ast.DictComp):
                self._expr(unit, node.key, inner)
            joined = _join(
                self._expr(unit, node.value if isinstance(node, ast.DictComp) else node.elt, inner)
            )
            return None if joined is None else _Value("box", returns=joined)
        values = [
            self._expr(unit, child, env)
            for child in ast.iter_child_nodes(node)
            if isinstance(child, ast.expr)
        ]
        if isinstance(node, ast.Compare | ast.BoolOp) and not any(v and v.kind == "obj" for v in values):
            return None
        joined = _join(*values)
        return _OBJ if joined is not None and joined.kind in ("ref", "refs") and len(values) > 1 else joined
