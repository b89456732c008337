"""The GPU path against the pinned release: each `Use` the finder reports, looked up in the release sources.

The one call whose target is data (`getattr(backend, spec.cls)(**params)` in `make_estimator`) is followed by
calling `make_estimator` with a backend whose fields record their keywords (`traced_estimator_uses`).
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from helpers.rapids.release import ROOT, ClassInfo, Release, Signature

from .finder import Finder, Use
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


def check(release: Release, uses: list[Use]) -> list[Problem]:
    """Every use the release lacks: a missing module, name, method or attribute, or a keyword not accepted."""
    problems = []
    classes = _classes(release, uses)
    for use in uses:
        if use.target.startswith("."):
            name = use.target[1:]
            found = [(c, m) for c in classes if (m := release.member(c, name)) is not None]
            if not found:
                problems.append(
                    Problem(
                        use.site, f"no cuDF/cuML class of the GPU path has `{name}` ({release.describe()})"
                    )
                )
                continue
            signatures = [m for _, m in found if isinstance(m, Signature)]
            if use.keywords and signatures and all(s.rejects(use.keywords) for s in signatures):
                bad = sorted(set.intersection(*(set(s.rejects(use.keywords)) for s in signatures)))
                owners = ", ".join(f"{c.module}.{c.name}" for c, m in found if isinstance(m, Signature))
                problems.append(Problem(use.site, f"`{name}` of {owners} takes no keyword {', '.join(bad)}"))
            continue
        target = release.resolve(use.target)
        if target is None:
            problems.append(Problem(use.site, f"`{use.target}` does not exist in {release.describe()}"))
            continue
        signature = release.constructor(target) if isinstance(target, ClassInfo) else target
        if use.keywords and isinstance(signature, Signature) and (bad := signature.rejects(use.keywords)):
            problems.append(
                Problem(use.site, f"`{use.target}` takes no keyword {', '.join(bad)} in {release.describe()}")
            )
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
            uses.append(Use(site, target, tuple(kwargs), called=True))

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
