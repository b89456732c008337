"""How much of the Python data-science APIs the pinned RAPIDS release implements, measured from its sources.

"The same functions" is measured, not assumed: the public methods of pandas' DataFrame and Series that cuDF's
classes define, the scikit-learn estimators cuML defines under the same name, and which of the rest `cuml.accel`
intercepts (cudf.pandas by design falls back to pandas for any call cuDF lacks). The CPU libraries are the ones
installed here; RAPIDS is read from its release sources (`helpers.rapids.release`), so no GPU is needed.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from functools import cache

from helpers.rapids.release import Release
from helpers.rapids.release_parsing import ClassInfo


@dataclass(frozen=True)
class Coverage:
    """Which of `total` names a RAPIDS library has: the share, and the names it lacks."""

    covered: int
    total: int
    missing: tuple[str, ...] = field(default=(), repr=False)

    @property
    def share(self) -> float:
        """Covered names over all names (0 when there are none)."""
        return self.covered / self.total if self.total else 0.0


def public_methods(cls: type) -> list[str]:
    """Public callables of a class (methods, not properties), e.g. pandas.DataFrame's."""
    return sorted(
        n
        for n, v in inspect.getmembers(cls)
        if not n.startswith("_") and callable(v) and not isinstance(v, type)
    )


def pandas_coverage(release: Release) -> dict[str, Coverage]:
    """For pandas' DataFrame and Series: how many of their public methods cuDF's class of that name has."""
    import pandas as pd

    result = {}
    for name in ("DataFrame", "Series"):
        cls = release.resolve(f"cudf.{name}")
        methods = public_methods(getattr(pd, name))
        missing = tuple(
            m for m in methods if not isinstance(cls, ClassInfo) or release.member(cls, m) is None
        )
        result[name] = Coverage(len(methods) - len(missing), len(methods), missing)
    return result


@cache
def _public_classes(release: Release, package: str) -> frozenset[str]:
    names = set()
    for path in sorted((release.root / package).rglob("*.py*")):
        if any(
            part.startswith("_") and part != "__init__.py" for part in path.relative_to(release.root).parts
        ):
            continue
        dotted = ".".join(path.relative_to(release.root).with_suffix("").parts).removesuffix(".__init__")
        module = release.module(dotted)
        if module is not None:
            names.update(n for n in (*module.classes, *module.functions) if not n.startswith("_"))
    return frozenset(names)


def estimator_coverage(release: Release, names: list[str]) -> Coverage:
    """How many of the scikit-learn estimator class `names` cuML defines under the same name."""
    cuml = _public_classes(release, "cuml")
    missing = tuple(n for n in names if n not in cuml)
    return Coverage(len(names) - len(missing), len(names), missing)


def accelerated_estimators(release: Release) -> set[str]:
    """The scikit-learn (and umap/hdbscan) estimator names `cuml.accel` intercepts: its proxy classes."""
    names = set()
    for path in sorted((release.root / "cuml" / "accel" / "_overrides").rglob("*.py")):
        dotted = ".".join(path.relative_to(release.root).with_suffix("").parts).removesuffix(".__init__")
        module = release.module(dotted)
        if module is not None:
            names.update(n for n, c in module.classes.items() if "ProxyBase" in c.bases)
    return names


def sklearn_estimator_names() -> list[str]:
    """Every estimator class scikit-learn lists in `sklearn.utils.all_estimators()`."""
    from sklearn.utils import all_estimators

    return sorted({name for name, _ in all_estimators()})


def api_names(library: str) -> list[str]:
    """A library's core public API as names: pandas frame methods, sklearn estimators, torch.nn layers, pyplot."""
    if library == "pandas":
        import pandas as pd

        return sorted({*public_methods(pd.DataFrame), *public_methods(pd.Series)})
    if library == "scikit-learn":
        return sklearn_estimator_names()
    if library == "PyTorch":
        import torch.nn

        return sorted(n for n, v in vars(torch.nn).items() if isinstance(v, type) and not n.startswith("_"))
    if library == "Matplotlib":
        import matplotlib.pyplot as plt

        return sorted(
            n
            for n, v in vars(plt).items()
            if inspect.isfunction(v) and v.__module__ == plt.__name__ and not n.startswith("_")
        )
    raise ValueError(f"Unknown library {library!r}; use pandas, scikit-learn, PyTorch or Matplotlib.")


def counterpart_coverage(release: Release, library: str) -> tuple[str, Coverage]:
    """The RAPIDS package (cudf, cuml, dask_cudf) that covers most of `library`'s core API names, and how much."""
    names = api_names(library)
    best = ("", Coverage(0, len(names), tuple(names)))
    for package in ("cudf", "cuml", "dask_cudf"):
        if library == "pandas" and package == "cudf":
            per_class = pandas_coverage(release)
            missing = set(per_class["DataFrame"].missing) & set(per_class["Series"].missing)
            found = Coverage(len(names) - len(missing), len(names), tuple(sorted(missing)))
        else:
            available = _public_classes(release, package)
            missing = tuple(n for n in names if n not in available)
            found = Coverage(len(names) - len(missing), len(names), missing)
        if found.covered > best[1].covered:
            best = (package, found)
    return best


def interop(release: Release) -> dict[str, bool]:
    """The bridges cuDF offers to array libraries such as PyTorch: DLPack export/import, CUDA array interface."""
    frame = release.resolve("cudf.Series")
    text = "\n".join(p.read_text(errors="replace") for p in (release.root / "cudf").rglob("*.py"))
    return {
        "to_dlpack": isinstance(frame, ClassInfo) and release.member(frame, "to_dlpack") is not None,
        "from_dlpack": release.resolve("cudf.from_dlpack") is not None,
        "__cuda_array_interface__": "__cuda_array_interface__" in text,
    }
