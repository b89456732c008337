"""The GPU path against the pinned release: each `Use` the finder reports, looked up in the release sources.

A name must exist, on every class the value it is used on may be: an instance of the class that made it, cuML's
result in the input's array type (`mlfunc` methods: a cuDF frame for a cuDF input, a CuPy or NumPy array for an
array, either when unknown), or any class of the GPU path when nothing narrows it. A keyword must be accepted,
`**kwargs` followed to where it goes (`calls.rejection`), and the call must not reach a `raise` for the values
passed (`calls.raising`). The one call whose target is data (`getattr(backend, spec.cls)(**params)` in
`make_estimator`) is followed by calling `make_estimator` with a backend whose fields record their keywords
(`traced_estimator_uses`).
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy

from helpers.rapids.release import ROOT, Release
from helpers.rapids.release_parsing import ClassInfo, Signature

from .calls import rejection, use_raising
from .finder import Finder, Origin, Use
from .units import ScanUnit, gpu_fields, gpu_path_units

# RAPIDS classes whose instances the GPU path receives from calls whose result class the finder does not follow
# (frames from readers, groupby objects, the `.dt` accessor, cuml.accel's profile results)
VALUE_CLASSES = (
    "cudf.DataFrame",
    "cudf.Series",
    "cudf.Index",
    "cudf.core.groupby.groupby.DataFrameGroupBy",
    "cudf.core.groupby.groupby.SeriesGroupBy",
    "cudf.core.series.DatetimeProperties",
    "cuml.accel.profilers.ProfileResults",
    "cuml.accel.profilers.MethodStats",
)


# what cuML's `mlfunc` methods return (cuml/internals/base.py, output_type "input"): for a cuDF input a Series
# (one column) or a DataFrame; for an array input an array of its kind, CuPy or NumPy, whose API CuPy follows
ARRAY = "a CuPy or NumPy array (what cuML returns for an array input)"
ARRAY_ATTRIBUTES = frozenset(dir(numpy.ndarray))
CUDF_RESULTS = ("cudf.Series", "cudf.DataFrame")


@dataclass(frozen=True)
class Problem:
    """A use the release does not support, with its call site."""

    site: str
    message: str

    def __str__(self) -> str:
        return f"{self.site}: {self.message}"


def _classes(release: Release, uses: list[Use]) -> list[ClassInfo]:
    names = [*VALUE_CLASSES, *(u.target for u in uses if not u.target.startswith("."))]
    found = [release.resolve(n) for n in dict.fromkeys(names)]
    return [c for c in found if isinstance(c, ClassInfo)]


def _mirror(release: Release, argument: str) -> list[list[ClassInfo | str]]:
    """What an `mlfunc` method returns for a first argument of this kind: alternatives that each must fit."""
    frames = [c for c in (release.resolve(n) for n in CUDF_RESULTS) if isinstance(c, ClassInfo)]
    return {"cudf": [frames], "host": [[ARRAY]]}.get(argument, [[ARRAY], frames])


def _alternatives(
    release: Release, origin: Origin | None, classes: list[ClassInfo]
) -> list[list[ClassInfo | str]]:
    """The classes a value of this origin may be an instance of, as alternatives: what is used on the value must
    exist in each alternative (in one of its classes)."""
    if origin is None:
        return [classes]
    if origin.made_by:
        made = [release.resolve(n) for n in origin.made_by]
        return [[c] for c in made] if all(isinstance(c, ClassInfo) for c in made) else [classes]
    if origin.method:
        receivers = _alternatives(release, origin.receiver, classes)
        methods = [
            m
            for alternative in receivers
            for c in alternative
            if isinstance(c, ClassInfo) and isinstance(m := release.member(c, origin.method), Signature)
        ]
        if methods and all(m.returns_self for m in methods):
            return receivers
        if methods and all(m.array_result for m in methods):
            return _mirror(release, origin.argument)
    return [classes]


def _named(alternative: list[ClassInfo | str], classes: list[ClassInfo]) -> str:
    """The start of the sentence saying that an alternative lacks a name."""
    if alternative is classes:
        return "no cuDF/cuML class of the GPU path has"
    names = [c if isinstance(c, str) else f"{c.module}.{c.name}" for c in alternative]
    return f"{' or '.join(names)} has no"


def _member_problems(release: Release, use: Use, classes: list[ClassInfo]) -> list[Problem]:
    """What is wrong with a method or attribute used on a RAPIDS value: absent from a class it may be, a keyword
    that every candidate method refuses, or a raise that every candidate reaches."""
    name = use.target[1:]
    for alternative in _alternatives(release, use.owner, classes):
        found = [(c, m) for c in alternative if isinstance(c, ClassInfo) and (m := release.member(c, name))]
        if not found and not (ARRAY in alternative and name in ARRAY_ATTRIBUTES):
            return [Problem(use.site, f"{_named(alternative, classes)} `{name}` ({release.describe()})")]
        signatures = [(c, m) for c, m in found if isinstance(m, Signature)]
        if not signatures or ARRAY in alternative:
            continue
        owners = ", ".join(f"{c.module}.{c.name}" for c, _ in signatures)
        refused = [{k: why for k in use.keywords if (why := rejection(release, m, k))} for _, m in signatures]
        if use.keywords and all(refused):
            bad = sorted(set.intersection(*(set(r) for r in refused)))
            detail = "; ".join(w for w in refused[0].values() if w != "takes no such keyword")
            return [
                Problem(
                    use.site,
                    f"`{name}` of {owners} takes no keyword {', '.join(bad)}"
                    + (f": it {detail}" if detail else ""),
                )
            ]
        raises = [use_raising(release, m, use.positional, use.keywords, use.literals) for _, m in signatures]
        if use.called and all(raises):
            return [Problem(use.site, f"`{name}` of {owners} raises for these arguments ({raises[0]})")]
    return []


def check(release: Release, uses: list[Use]) -> list[Problem]:
    """Every use the release lacks: a missing module, name, method or attribute (on any class its value may be), a
    keyword not accepted (followed through **kwargs), or a call that raises for the values passed."""
    problems = []
    classes = _classes(release, uses)
    for use in uses:
        if use.target.startswith("."):
            problems.extend(_member_problems(release, use, classes))
            continue
        target = release.resolve(use.target)
        if target is None:
            problems.append(Problem(use.site, f"`{use.target}` does not exist in {release.describe()}"))
            continue
        signature = release.constructor(target) if isinstance(target, ClassInfo) else target
        if not isinstance(signature, Signature):
            continue
        refused = {k: why for k in use.keywords if (why := rejection(release, signature, k))}
        if refused:
            detail = "; ".join(w for w in refused.values() if w != "takes no such keyword")
            problems.append(
                Problem(
                    use.site,
                    f"`{use.target}` takes no keyword {', '.join(refused)} in {release.describe()}"
                    + (f": it {detail}" if detail else ""),
                )
            )
        elif use.called and (
            raised := use_raising(release, signature, use.positional, use.keywords, use.literals)
        ):
            problems.append(Problem(use.site, f"`{use.target}` raises for these arguments ({raised})"))
    return problems


def absent_attributes(release: Release, names: Iterable[str], uses: list[Use]) -> set[str]:
    """Of `names`, those that no class of the GPU path has (used to skip `hasattr` branches for other stacks)."""
    classes = _classes(release, uses)
    return {n for n in names if all(release.member(c, n) is None for c in classes)}


def _hasattr_names(units: list[ScanUnit]) -> set[str]:
    return {
        n.args[1].value
        for u in units
        for n in ast.walk(u.tree)
        if isinstance(n, ast.Call)
        and getattr(n.func, "id", "") == "hasattr"
        and len(n.args) == 2
        and isinstance(n.args[1], ast.Constant)
    }


def find_uses(release: Release, units: list[ScanUnit], fields: dict[str, str]) -> list[Use]:
    """All RAPIDS uses in `units`: a first pass finds the classes, a second skips `hasattr` branches they lack."""
    first = Finder(units, fields).run()
    finder = Finder(units, fields)
    finder.guard_absent = absent_attributes(release, _hasattr_names(units), first)
    return finder.run()


def traced_estimator_uses(fields: dict[str, str]) -> list[Use]:
    """The estimator constructions `make_estimator` performs on the GPU backend, with their keywords and call site."""
    import sys

    from helpers.core.backend import Backend
    from helpers.rapids.ml import SPECS, make_estimator

    uses: list[Use] = []

    def recorder(target: str) -> Any:
        def record(*args: Any, **kwargs: Any) -> None:
            frame = sys._getframe(1)
            site = f"{Path(frame.f_code.co_filename).resolve().relative_to(ROOT).as_posix()}:{frame.f_lineno}"
            literals = tuple(
                (k, repr(v)) for k, v in kwargs.items() if isinstance(v, int | float | str | None)
            )
            uses.append(Use(site, target, tuple(kwargs), called=True, literals=literals, positional=None))

        return record

    names = [f for f in Backend.__dataclass_fields__ if f != "name"]
    backend = Backend("gpu", **{f: recorder(fields[f]) if f in fields else None for f in names})
    for spec in SPECS.values():
        make_estimator(backend, spec, seed=0)
    return uses


def conformance(release: Release, root: Path = ROOT) -> tuple[list[Use], list[Problem]]:
    """Every RAPIDS use of the project's GPU path and the problems the release finds with them."""
    units = gpu_path_units(root)
    fields = gpu_fields(next(u for u in units if u.name == "helpers.core.backend"))
    uses = find_uses(release, units, fields) + traced_estimator_uses(fields)
    return uses, check(release, uses)
