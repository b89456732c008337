"""The pinned RAPIDS release as source text: fetch its wheels' .py/.pyx files once, then index names and signatures.

cuDF, cuML, dask-cudf and dask-cuda wheels ship their Python and Cython sources. `fetch` (run by `make rapids-src`,
never by a test or notebook) downloads them without dependencies at the version pyproject.toml's `rapids-cu12` extra
resolves to and keeps only the sources. `Release` parses them without importing anything (no GPU needed): `.py`
files with `ast`, `.pyx` files with a small parser of their `class`, `def` and `cpdef` lines.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from functools import cached_property
from pathlib import Path

from helpers.rapids.release_parsing import ClassInfo, ModuleInfo, Signature, parse_py, parse_pyx

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
                (parse_py if path.suffix == ".py" else parse_pyx)(info, text, is_package)
                stub = path.with_suffix(".pyi")
                if stub.is_file():  # mixins built at run time (cudf.core.mixins) are spelt out in stubs
                    declared = ModuleInfo(dotted, stub)
                    parse_py(declared, stub.read_text(encoding="utf-8"), is_package)
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
