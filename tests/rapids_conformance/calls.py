"""What a release callable does with the arguments of a use, read from its body (never run).

`rejection` follows a keyword that reaches `**kwargs`: to the keys the body takes out of it (`kwargs.pop("k")`,
`"k" in kwargs`), to an allow-list it raises outside of (`if set(kwargs).difference({...}): raise`), and to the
callables it is forwarded to (`f(**kwargs)`, `super().__init__(**kwargs)`), through the release; a callable outside
the release accepts anything, and a keyword the body never passes on is ignored.

`raising` walks the body with the values the use passes (its literals, else each parameter's default) and reports
a `raise` it must reach: unconditional (cuDF's `iterrows`, `tolist`) or under conditions those values make true
(`merge(indicator=True)`, `LocalCUDACluster(processes=False)`), following calls that forward `*args` or `**kwargs`.
A condition it cannot decide, a loop or a `try` ends what it can say about the code after it, never with a guess.

Dask's readers leave the release and come back through its backend dispatch; `DISPATCH` names where.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import Any

from helpers.rapids.release import PACKAGES, Release
from helpers.rapids.release_parsing import ClassInfo, Signature, absolute_module

# Calls into a module outside the release that dispatch back into it, in 26.10: with the cuDF backend (which
# dask_cudf's readers set), `dask.dataframe.read_parquet(...)` calls `CudfBackendEntrypoint.read_parquet(...)` with
# the same arguments (dask_cudf/__init__.py, dask_cudf/backends.py).
DISPATCH = {"dask.dataframe": "dask_cudf.backends.CudfBackendEntrypoint"}
_DEPTH = 8
_UNKNOWN = object()  # a value the walk cannot know


@dataclass(frozen=True)
class _Symbol:
    """A value known only by the expression that names it (a module-level sentinel such as `no_default`)."""

    text: str


@dataclass
class _Frame:
    """One function being walked: its signature, what its names hold, and the names it imported locally."""

    signature: Signature
    values: dict[str, Any]
    imports: dict[str, str] = field(default_factory=dict)


def _kwarg(signature: Signature) -> str:
    """The name of the `**kwargs` parameter ('' when there is none)."""
    node = signature.node
    return node.args.kwarg.arg if node is not None and node.args.kwarg is not None else ""


def _site(release: Release, signature: Signature, node: ast.AST) -> str:
    """`path:line` of a node of the release function `signature`."""
    module = release.module(signature.module)
    path = module.path.relative_to(release.root).as_posix() if module is not None else signature.module
    return f"{path}:{node.lineno}"


def _local_imports(release: Release, signature: Signature) -> dict[str, str]:
    """Names imported inside a function's body (absolute or relative to its module)."""
    module = release.module(signature.module)
    is_package = module is not None and module.path.stem == "__init__"
    return {
        alias.asname
        or alias.name: f"{absolute_module(signature.module, is_package, sub.level, sub.module)}.{alias.name}"
        for sub in ast.walk(signature.node)
        if isinstance(sub, ast.ImportFrom)
        for alias in sub.names
    }


def _dotted(node: ast.expr) -> str:
    """`a.b.c` of a name or attribute chain ('' for anything else)."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute) and (head := _dotted(node.value)):
        return f"{head}.{node.attr}"
    return ""


def _callee(
    release: Release, signature: Signature, func: ast.expr, imports: dict[str, str]
) -> Signature | None:
    """The release callable a call in `signature`'s body reaches (a class: its constructor); None outside it."""
    module = release.module(signature.module)
    owner = module.classes.get(signature.owner) if module is not None and signature.owner else None
    if (
        isinstance(func, ast.Attribute)
        and isinstance(func.value, ast.Call)
        and _dotted(func.value.func) == "super"
    ):
        if owner is None:
            return None
        ancestors, outside = release.bases(owner)
        found = next((c.methods[func.attr] for c in ancestors if func.attr in c.methods), None)
        return found if found is not None and not outside else None
    text = _dotted(func)
    head, _, rest = text.partition(".")
    if head in ("self", "cls"):
        return None  # the receiver's own class (a subclass) may override it
    if head in imports:
        dotted = f"{imports[head]}.{rest}".rstrip(".")
    elif module is not None and head in module.imports:
        dotted = f"{module.imports[head]}.{rest}".rstrip(".")
    else:
        dotted = f"{signature.module}.{text}"
    for outside, inside in DISPATCH.items():
        if dotted.startswith(f"{outside}."):
            dotted = f"{inside}.{dotted.removeprefix(f'{outside}.')}"
    if dotted.split(".")[0] not in PACKAGES:
        return None
    target = release.resolve(dotted)
    if isinstance(target, ClassInfo):
        return release.constructor(target)
    return target if isinstance(target, Signature) else None


@dataclass
class _KwargUses:
    """How a body uses its `**kwargs`: keys it takes out, an allow-list it raises outside of (None: none) and
    where, the calls it forwards them to, and whether it uses them otherwise (then any keyword may be fine)."""

    taken: set[str] = field(default_factory=set)
    allowed: set[str] | None = None
    guard: ast.If | None = None
    forwards: list[ast.Call] = field(default_factory=list)
    other: bool = False


def _kwarg_uses(signature: Signature) -> _KwargUses:
    """How `signature`'s body uses its `**kwargs`."""
    name = _kwarg(signature)
    parents = {child: parent for parent in ast.walk(signature.node) for child in ast.iter_child_nodes(parent)}
    found = _KwargUses()
    for use in (n for n in ast.walk(signature.node) if isinstance(n, ast.Name) and n.id == name):
        parent = parents.get(use)
        grand = parents.get(parent)
        if isinstance(_statement(use, parents), ast.Raise):
            continue  # named in an error message
        if isinstance(parent, ast.keyword) and parent.arg is None:
            found.forwards.append(grand)
        elif (
            isinstance(parent, ast.Attribute)
            and parent.attr in ("pop", "get", "setdefault")
            and isinstance(grand, ast.Call)
            and grand.args
            and isinstance(grand.args[0], ast.Constant)
        ):
            found.taken.add(grand.args[0].value)
        elif isinstance(parent, ast.Compare) and isinstance(parent.left, ast.Constant):
            found.taken.add(parent.left.value)
        elif isinstance(parent, ast.Subscript) and isinstance(parent.slice, ast.Constant):
            found.taken.update([parent.slice.value] if isinstance(parent.ctx, ast.Load) else [])
        elif (guard := _guard(use, parents)) is not None:
            strings = {
                c.value
                for c in ast.walk(guard.test)
                if isinstance(c, ast.Constant) and isinstance(c.value, str)
            }
            found.allowed = strings if found.allowed is None else found.allowed & strings
            found.guard = guard
        else:
            found.other = True
    return found


def _statement(node: ast.AST, parents: dict) -> ast.AST | None:
    """The statement holding `node`."""
    while node is not None and not isinstance(node, ast.stmt):
        node = parents.get(node)
    return node


def _guard(node: ast.AST, parents: dict) -> ast.If | None:
    """The `if` whose test holds `node` and whose body raises, if any."""
    while node in parents and not isinstance(node, ast.stmt):
        child, node = node, parents[node]
        if isinstance(node, ast.If) and child is node.test:
            return node if any(isinstance(s, ast.Raise) for s in node.body) else None
    return None


def rejection(release: Release, signature: Signature, keyword: str, depth: int = 0) -> str | None:
    """None when `signature` accepts `keyword`, else why not (where it goes and what refuses it)."""
    if keyword in signature.names:
        return None
    if not signature.var_keyword:
        return "takes no such keyword"
    if signature.node is None or depth > _DEPTH:
        return None
    uses = _kwarg_uses(signature)
    if keyword in uses.taken or uses.other:
        return None
    if uses.allowed is not None:
        if keyword in uses.allowed:
            return None
        where = _site(release, signature, uses.guard)
        return f"raises for any **kwargs but {', '.join(sorted(uses.allowed)) or 'none'} ({where})"
    if not uses.forwards:
        return f"ignores it: its **kwargs go nowhere ({_site(release, signature, signature.node)})"
    imports = _local_imports(release, signature)
    reasons = []
    for call in uses.forwards:
        if any(k.arg == keyword for k in call.keywords):
            reasons.append(f"passes {keyword} itself to {ast.unparse(call.func)}")
            continue
        callee = _callee(release, signature, call.func, imports)
        if callee is None:
            return None
        why = rejection(release, callee, keyword, depth + 1)
        if why is None:
            return None
        reasons.append(
            f"passes its **kwargs to {callee.module}.{ast.unparse(call.func).split('.')[-1]}, which {why}"
        )
    return "; ".join(dict.fromkeys(reasons))


def _bind(signature: Signature, positional: list[Any], keywords: dict[str, Any]) -> dict[str, Any] | None:
    """Each parameter's value for a call: passed, else its default (a literal, or a `_Symbol`); None when the
    arguments do not fit the parameters."""
    args = signature.node.args
    params = [*args.posonlyargs, *args.args]
    if signature.owner and "staticmethod" not in {_dotted(d) for d in signature.node.decorator_list}:
        params = params[1:]
    defaults = dict(zip([p.arg for p in params][::-1], args.defaults[::-1], strict=False))
    defaults.update(
        {p.arg: d for p, d in zip(args.kwonlyargs, args.kw_defaults, strict=True) if d is not None}
    )
    values: dict[str, Any] = {}
    for param, value in zip(params, positional, strict=False):
        values[param.arg] = value
    extra = tuple(positional[len(params) :])
    if extra and args.vararg is None:
        return None
    if args.vararg is not None:
        values[args.vararg.arg] = extra
    rest = {}
    for key, value in keywords.items():
        if key in values:
            return None
        if key in {p.arg for p in (*params, *args.kwonlyargs)}:
            values[key] = value
        else:
            rest[key] = value
    if args.kwarg is not None:
        values[args.kwarg.arg] = rest
    for param in (*params, *args.kwonlyargs):
        if param.arg not in values:
            if param.arg not in defaults:
                return None
            values[param.arg] = _constant(defaults[param.arg])
    return values


def _constant(node: ast.expr) -> Any:
    """A default's value: the literal, or a `_Symbol` naming it."""
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return _Symbol(ast.unparse(node))


def _evaluate(node: ast.expr, frame: _Frame) -> Any:
    """The value of an expression when the walk knows it, else _UNKNOWN (dict methods pop and get do act)."""
    values = frame.values
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        return values.get(node.id, _Symbol(node.id))
    if isinstance(node, ast.Attribute):
        base = _evaluate(node.value, frame)
        return _Symbol(ast.unparse(node)) if isinstance(base, _Symbol) else _UNKNOWN
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        items = [_evaluate(e, frame) for e in node.elts]
        if any(i is _UNKNOWN or isinstance(i, _Symbol) for i in items):
            return _UNKNOWN
        return {ast.Tuple: tuple, ast.List: list, ast.Set: set}[type(node)](items)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        value = _truth(_evaluate(node.operand, frame))
        return _UNKNOWN if value is _UNKNOWN else not value
    if isinstance(node, ast.BoolOp):
        truths = [_truth(_evaluate(v, frame)) for v in node.values]
        decisive = isinstance(node.op, ast.Or)
        if decisive in truths:
            return decisive
        return _UNKNOWN if _UNKNOWN in truths else not decisive
    if isinstance(node, ast.Compare) and len(node.ops) == 1:
        return _compare(node.ops[0], _evaluate(node.left, frame), _evaluate(node.comparators[0], frame))
    if isinstance(node, ast.Call):
        return _call_value(node, frame)
    return _UNKNOWN


def _truth(value: Any) -> Any:
    """`bool(value)` when known, else _UNKNOWN."""
    return _UNKNOWN if value is _UNKNOWN or isinstance(value, _Symbol) else bool(value)


def _compare(op: ast.cmpop, left: Any, right: Any) -> Any:
    """`left op right` when known, else _UNKNOWN."""
    if left is _UNKNOWN or right is _UNKNOWN:
        return _UNKNOWN
    symbols = [v for v in (left, right) if isinstance(v, _Symbol)]
    if isinstance(op, ast.Is | ast.IsNot) and len(symbols) == 2 and left == right:
        return isinstance(op, ast.Is)  # a sentinel default compared with itself
    if symbols:
        return _UNKNOWN  # a name's value (None, a sentinel, a constant) is not known here
    operations = {
        ast.Eq: lambda a, b: a == b,
        ast.NotEq: lambda a, b: a != b,
        ast.Is: lambda a, b: a is b,
        ast.IsNot: lambda a, b: a is not b,
        ast.In: lambda a, b: a in b,
        ast.NotIn: lambda a, b: a not in b,
    }
    try:
        return operations[type(op)](left, right) if type(op) in operations else _UNKNOWN
    except TypeError:
        return _UNKNOWN


def _call_value(node: ast.Call, frame: _Frame) -> Any:
    """The value of a call the walk can make itself (dict pop/get/keys, set difference, set, len, bool)."""
    try:
        return _known_call(node, frame)
    except (TypeError, ValueError, KeyError):
        return _UNKNOWN  # the release would raise here too, but not for a reason the walk reports


def _known_call(node: ast.Call, frame: _Frame) -> Any:
    """`_call_value` without the guard against the operations' own errors."""
    func = node.func
    args = [_evaluate(a, frame) for a in node.args]
    if any(a is _UNKNOWN or isinstance(a, _Symbol) for a in args):
        return _UNKNOWN
    if isinstance(func, ast.Attribute):
        owner = _evaluate(func.value, frame)
        if isinstance(owner, dict) and func.attr in ("pop", "get") and args:
            if args[0] not in owner and len(args) == 1:
                return None if func.attr == "get" else _UNKNOWN
            return getattr(owner, func.attr)(*args[:2])
        if isinstance(owner, dict) and func.attr == "keys" and not args:
            return set(owner)
        if isinstance(owner, set) and func.attr == "difference":
            return owner.difference(*[set(a) for a in args])
        return _UNKNOWN
    if isinstance(func, ast.Name) and func.id in ("set", "len", "bool") and len(args) == 1:
        return {"set": set, "len": len, "bool": bool}[func.id](args[0])
    return _UNKNOWN


def _assigned(node: ast.AST) -> set[str]:
    """The names a node assigns."""
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}


def _reaches(node: ast.AST, kinds: tuple[type, ...]) -> bool:
    """Whether a node holds one of these kinds of nodes."""
    return any(isinstance(n, kinds) for n in ast.walk(node))


def raising(
    release: Release,
    signature: Signature,
    positional: list[Any] | None,
    keywords: dict[str, Any],
    depth: int = 0,
) -> str | None:
    """Where `signature` must raise for these arguments (`site: Exception: message`), or None; `positional` None
    means unknown arguments (nothing is said)."""
    if signature.node is None or positional is None or depth > _DEPTH:
        return None
    values = _bind(signature, positional, keywords)
    if values is None:
        return None
    frame = _Frame(signature, values, _local_imports(release, signature))
    body = signature.node.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]
    found = _walk(release, frame, body, depth)
    return found if isinstance(found, str) else None


def _walk(release: Release, frame: _Frame, body: list[ast.stmt], depth: int) -> str | bool | None:
    """A raise this block must reach (str), True when it stops (returns, or the walk cannot go on), else None."""
    for statement in body:
        forwarded = _forwarded(release, frame, statement, depth)
        if forwarded is not None:
            return forwarded
        if isinstance(statement, ast.Raise):
            return _raised(release, frame.signature, statement)
        if isinstance(statement, ast.Return):
            return True
        if isinstance(statement, ast.If):
            truth = _truth(_evaluate(statement.test, frame))
            if truth is _UNKNOWN:
                if _reaches(statement, (ast.Return,)):
                    return True
                frame.values.update(dict.fromkeys(_assigned(statement), _UNKNOWN))
                continue
            found = _walk(release, frame, statement.body if truth else statement.orelse, depth)
            if found is not None:
                return found
        elif isinstance(statement, ast.Assign | ast.AnnAssign | ast.Expr) and statement.value is not None:
            value = _evaluate(statement.value, frame)
            targets = getattr(statement, "targets", [getattr(statement, "target", None)])
            for target in filter(None, targets):
                frame.values.update(dict.fromkeys(_assigned(target), _UNKNOWN))
                if isinstance(target, ast.Name):
                    frame.values[target.id] = value
        elif isinstance(statement, ast.With | ast.AsyncWith):
            for item in statement.items:
                frame.values.update(dict.fromkeys(_assigned(item), _UNKNOWN))
            found = _walk(release, frame, statement.body, depth)
            if found is not None:
                return found
        elif not isinstance(statement, ast.Import | ast.ImportFrom | ast.Pass):
            if _reaches(statement, (ast.Return,)):
                return True
            frame.values.update(dict.fromkeys(_assigned(statement), _UNKNOWN))
    return None


def _raised(release: Release, signature: Signature, node: ast.Raise) -> str:
    """A raise statement as `site: Exception: message`."""
    error = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
    texts = (
        [c.value for c in ast.walk(node.exc) if isinstance(c, ast.Constant) and isinstance(c.value, str)]
        if node.exc is not None
        else []
    )
    message = f": {' '.join(t.strip() for t in texts)}" if texts else ""
    return (
        f"{_site(release, signature, node)}: {ast.unparse(error) if error is not None else 'raise'}{message}"
    )


def _forwarded(release: Release, frame: _Frame, statement: ast.stmt, depth: int) -> str | None:
    """A raise that a call in `statement` forwarding `*args` or `**kwargs` must reach in its callee."""
    if isinstance(statement, ast.If | ast.For | ast.While | ast.Try | ast.With | ast.AsyncWith):
        return None
    args = frame.signature.node.args
    passed = {a.arg for a in (args.vararg, args.kwarg) if a is not None}
    for call in _evaluated_calls(statement):
        spread = [a.value for a in call.args if isinstance(a, ast.Starred)] + [
            k.value for k in call.keywords if k.arg is None
        ]
        if not passed or not all(isinstance(v, ast.Name) and v.id in passed for v in spread) or not spread:
            continue
        callee = _callee(release, frame.signature, call.func, frame.imports)
        arguments = _arguments(call, frame)
        if callee is not None and arguments is not None:
            found = raising(release, callee, *arguments, depth + 1)
            if found is not None:
                return found
    return None


def _arguments(call: ast.Call, frame: _Frame) -> tuple[list[Any], dict[str, Any]] | None:
    """The positional and keyword values a call passes (`*args` and `**kwargs` spread), None when unknown."""
    positional: list[Any] = []
    for arg in call.args:
        value = _evaluate(arg.value if isinstance(arg, ast.Starred) else arg, frame)
        if isinstance(arg, ast.Starred) and not isinstance(value, tuple):
            return None
        positional.extend(value if isinstance(arg, ast.Starred) else [value])
    keywords: dict[str, Any] = {}
    for keyword in call.keywords:
        value = _evaluate(keyword.value, frame)
        if keyword.arg is None and not isinstance(value, dict):
            return None
        keywords.update(value if keyword.arg is None else {keyword.arg: value})
    return positional, keywords


def _evaluated_calls(node: ast.AST) -> list[ast.Call]:
    """The calls a statement always makes: not those behind a lambda, a comprehension, a conditional expression's
    branches or a boolean operator's later operands."""
    if isinstance(node, ast.Lambda | ast.ListComp | ast.SetComp | ast.DictComp | ast.GeneratorExp):
        return []
    children = (
        [node.test]
        if isinstance(node, ast.IfExp)
        else node.values[:1]
        if isinstance(node, ast.BoolOp)
        else list(ast.iter_child_nodes(node))
    )
    calls = [c for child in children for c in _evaluated_calls(child)]
    return [*calls, node] if isinstance(node, ast.Call) else calls


def use_raising(
    release: Release,
    signature: Signature,
    positional: tuple[str | None, ...] | None,
    keywords: tuple[str, ...],
    literals: tuple[tuple[str, str], ...],
) -> str | None:
    """`raising` for a use's arguments as the finder records them (literal source text; None: not a literal)."""
    known = dict(literals)
    values = {k: ast.literal_eval(known[k]) if k in known else _UNKNOWN for k in keywords}
    passed = (
        None if positional is None else [_UNKNOWN if v is None else ast.literal_eval(v) for v in positional]
    )
    return raising(release, signature, passed, values)
