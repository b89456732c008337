"""The RAPIDS use finder: which cuDF / cuML / dask-cudf / dask-cuda names the GPU path uses, read with `ast`.

It never imports RAPIDS. A value is on the GPU path when it comes from a RAPIDS import, from the GPU `Backend`
(fields mapped by `helpers.core.backend._gpu`, read by `units.gpu_fields`), or from a call that is handed such a
value (calls into the scanned code are followed with those arguments). Every module attribute, class, keyword and
method used on such a value is recorded as a `Use`, for `checking.check` to look up in the release sources.
Branches guarded by `hasattr(x, "name")` are skipped when no RAPIDS class has `name` (e.g. Dask-only code).
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from helpers.rapids.release import PACKAGES

from .units import ScanUnit

_BUILTINS_PASSING = {"tuple", "list", "sorted", "reversed", "dict"}


@dataclass(frozen=True)
class Use:
    """One use of RAPIDS at a call site: a dotted name (module, class, function) or a method on a RAPIDS value."""

    site: str
    target: str  # "cudf.read_csv" for a named object, ".sort_values" for a method or attribute of a value
    keywords: tuple[str, ...] = ()
    called: bool = False
    is_import: bool = False


@dataclass
class _Value:
    kind: str  # "ref" (a dotted RAPIDS name), "obj" (a RAPIDS object), "backend", "box" (a container), "func"
    name: str = ""
    node: Any = None
    returns: _Value | None = None


_OBJ = _Value("obj")


def _tainting(annotation: ast.expr | None) -> bool:
    """Whether a return annotation lets a RAPIDS value through (none, Any, a module, or a tuple of Any)."""
    text = ast.unparse(annotation) if annotation is not None else "Any"
    return text == "Any" or "ModuleType" in text or text.startswith("tuple[Any")


def _called(value: _Value | None) -> _Value | None:
    """What calling or passing on `value` yields: a RAPIDS object whenever anything RAPIDS flows through."""
    return None if value is None else value if value.kind in ("backend", "box") else _OBJ


def _join(*values: _Value | None) -> _Value | None:
    for kind in ("backend", "ref", "obj", "box", "func"):
        for value in values:
            if value is not None and value.kind == kind and (kind != "func" or value.returns is not None):
                return value if kind != "ref" else _OBJ if len([v for v in values if v]) > 1 else value
    return None


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
        taints = tuple(sorted((k, v.kind, v.name, v.returns is not None) for k, v in bound.items() if v))
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
        elif isinstance(target, ast.Tuple | ast.List):
            inner = value.returns if value is not None and value.kind == "box" else _called(value)
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
            for target in node.targets:
                if isinstance(target, ast.Subscript | ast.Attribute):
                    self._expr(unit, target.value, env)
                self._bind(target, value, env)
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

    def _call(self, unit: ScanUnit, node: ast.Call, env: dict) -> _Value | None:
        args = [self._expr(unit, a.value if isinstance(a, ast.Starred) else a, env) for a in node.args]
        kwargs = {k.arg: self._expr(unit, k.value, env) for k in node.keywords}
        keywords = tuple(k for k in kwargs if k)
        func = node.func
        if isinstance(func, ast.Name) and func.id == "getattr" and len(node.args) >= 2:
            owner = args[0]
            if owner is not None and isinstance(node.args[1], ast.Constant):
                return self._attribute(unit, node, owner, node.args[1].value)
            return _OBJ if owner is not None else None
        if isinstance(func, ast.Attribute):
            owner = self._expr(unit, func.value, env)
            if owner is not None and owner.kind == "obj":
                if not func.attr.startswith("__"):
                    self.uses.append(Use(unit.site(node), f".{func.attr}", keywords, called=True))
                return _OBJ
            if owner is not None and owner.kind == "ref" and not func.attr.startswith("__"):
                self.uses.append(Use(unit.site(node), f"{owner.name}.{func.attr}", keywords, called=True))
                return _OBJ
            if owner is not None and owner.kind == "backend":
                target = self.fields.get(func.attr)
                if target is None:
                    return _join(*args) if func.attr.startswith("to_") else None
                if target != "cudf":
                    self.uses.append(Use(unit.site(node), target, keywords, called=True))
                return _OBJ
        value = self._expr(unit, func, env) if not isinstance(func, ast.Attribute) else None
        if value is not None and value.kind == "ref":
            self.uses.append(Use(unit.site(node), value.name, keywords, called=True))
            return _OBJ
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
        if isinstance(func, ast.Name) and func.id in _BUILTINS_PASSING:
            return _join(*args)
        return None

    @staticmethod
    def _bind_args(node: ast.FunctionDef, args: list, kwargs: dict) -> dict[str, _Value | None]:
        names = [a.arg for a in (*node.args.posonlyargs, *node.args.args)]
        bound = {n: v for n, v in zip(names, args, strict=False) if v is not None}
        bound.update({k: v for k, v in kwargs.items() if k and v is not None})
        return bound

    def _attribute(self, unit: ScanUnit, node: ast.AST, owner: _Value, attr: str) -> _Value | None:
        if attr.startswith("__"):
            return None
        if owner.kind == "ref":
            self.uses.append(Use(unit.site(node), f"{owner.name}.{attr}"))
            return _Value("ref", f"{owner.name}.{attr}")
        if owner.kind == "obj":
            self.uses.append(Use(unit.site(node), f".{attr}"))
            return _OBJ
        if owner.kind == "backend":
            target = self.fields.get(attr)
            return None if target is None else _Value("ref", target)
        return None

    @staticmethod
    def _element(value: _Value | None) -> _Value | None:
        """An element of `value` when iterated or indexed."""
        if value is not None and value.kind == "box":
            return value.returns if value.returns is None or value.returns.kind != "box" else value.returns
        return _called(value)

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
            return self._element(owner) if owner is not None and owner.kind == "box" else _called(owner)
        if isinstance(node, ast.List | ast.Tuple | ast.Set | ast.Dict):
            parts = [*node.keys, *node.values] if isinstance(node, ast.Dict) else node.elts
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
            parts = [node.key, node.value] if isinstance(node, ast.DictComp) else [node.elt]
            joined = _join(*[self._expr(unit, p, inner) for p in parts])
            return None if joined is None else _Value("box", returns=joined)
        values = [
            self._expr(unit, child, env)
            for child in ast.iter_child_nodes(node)
            if isinstance(child, ast.expr)
        ]
        if isinstance(node, ast.Compare | ast.BoolOp) and not any(v and v.kind == "obj" for v in values):
            return None
        joined = _join(*values)
        return _OBJ if joined is not None and joined.kind == "ref" and len(values) > 1 else joined
