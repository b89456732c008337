"""Verified caches: a cached file or folder comes with a manifest of what it holds, checked on every read.

The manifest (`<path>.manifest.json`, written last, so it marks a finished build) records what was asked for
(rows, seed, schema or parameters, source versions), the size and SHA-256 of every file, and a seal: the SHA-256
of both together, so that a manifest claiming another identity (another seed, copied from another cache or edited)
no longer matches its files. A read checks all of it, plus what `inspect` finds in the data itself; a missing,
stale, cut-short, relabelled or corrupted cache is rebuilt with a one-line notice and never used.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from helpers.core.results import CACHE_DIR_ENV, file_mode, short_paths, to_jsonable, write_json_atomic

MANIFEST_SUFFIX = ".manifest.json"
TMP_MARK = ".building-"


def sha256_of(path: Path) -> str:
    """SHA-256 hex digest of a file, read in 8 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(8 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def manifest_path(path: Path) -> Path:
    """Where the manifest of the cache at `path` lives."""
    return path.with_name(path.name + MANIFEST_SUFFIX)


def _members(path: Path) -> dict[str, Path]:
    """The cached file, or every file under the cached folder, by relative name."""
    if path.is_file():
        return {path.name: path}
    return {str(p.relative_to(path)): p for p in sorted(path.rglob("*")) if p.is_file()}


def _files(path: Path) -> dict[str, dict[str, Any]]:
    """Size and SHA-256 of each member of the cache."""
    return {name: {"size": p.stat().st_size, "sha256": sha256_of(p)} for name, p in _members(path).items()}


def seal(holds: dict[str, Any], files: dict[str, Any]) -> str:
    """The SHA-256 that binds a cache's identity (`holds`) to the digests of its files."""
    text = json.dumps({"holds": to_jsonable(holds), "files": files}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def _differences(expected: dict[str, Any], actual: dict[str, Any]) -> str:
    keys = sorted(k for k in set(expected) | set(actual) if expected.get(k) != actual.get(k))
    return ", ".join(f"{k}={actual.get(k)!r} where {expected.get(k)!r} was asked" for k in keys[:3])


def problem(
    path: Path, holds: dict[str, Any], inspect: Callable[[Path], dict[str, Any]] | None = None
) -> str | None:
    """Why the cache at `path` cannot be used for `holds` (a short phrase), or None when it verifies."""
    holds = to_jsonable(holds)
    manifest_file = manifest_path(path)
    if not path.exists():
        return "is missing"
    if not manifest_file.exists():
        return "has no manifest (it was written by an older version or its build was cut short)"
    try:
        manifest = json.loads(manifest_file.read_text())
        recorded_holds, recorded_files = manifest["holds"], manifest["files"]
        if not all(isinstance(entry, dict) for entry in recorded_files.values()):
            raise TypeError("file entries are not objects")
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        return f"has an unreadable manifest ({type(error).__name__})"
    if manifest.get("seal") != seal(recorded_holds, recorded_files):
        return (
            "has a manifest whose seal does not match what it claims (edited, or copied from another cache)"
        )
    if recorded_holds != holds:
        return f"holds {_differences(holds, recorded_holds)}"
    try:
        sizes = {name: p.stat().st_size for name, p in _members(path).items()}
        if sizes != {name: entry.get("size") for name, entry in recorded_files.items()}:
            return "differs in size from its manifest (cut short or changed)"
        if _files(path) != recorded_files:
            return "fails its checksum (corrupted or changed)"
    except OSError as error:  # replaced by another process while being read
        return f"changed while being read ({error.strerror})"
    if inspect is not None:
        try:
            facts = to_jsonable(inspect(path))
        except Exception as error:  # noqa: BLE001 — any failure to read the data means the cache is unusable
            return f"cannot be read ({type(error).__name__}: {str(error)[:120]})"
        wrong = {k: v for k, v in facts.items() if holds.get(k, v) != v}
        if wrong:
            return f"holds {_differences({k: holds[k] for k in wrong}, wrong)}"
    return None


@contextmanager
def locked(folder: Path, wait: bool = True) -> Iterator[bool]:
    """An exclusive advisory lock on a folder across processes (released by the OS if the holder dies); yields
    False, without the lock, when `wait` is off and another process holds it."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _sweep_stale(path: Path) -> None:
    """Remove temporaries of `path` left by builders that no longer run (killed before they could clean up)."""
    for stale in path.parent.glob(f".{path.name}{TMP_MARK}*"):
        pid = stale.name.rsplit("-", 1)[-1]
        if pid.isdigit() and not _alive(int(pid)):
            _remove(stale)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _set_modes(path: Path) -> None:
    """Give built files the mode the user's umask gives other files (temporary files start private)."""
    for item in [path, *path.rglob("*")] if path.is_dir() else [path]:
        item.chmod(file_mode(directory=item.is_dir()))


def verified(
    path: Path,
    holds: dict[str, Any],
    build: Callable[[Path], None],
    inspect: Callable[[Path], dict[str, Any]] | None = None,
) -> Path:
    """`path` once it verifiably holds `holds`: reused when its manifest, checksums and `inspect` facts agree,
    else (re)built by `build(temporary_path)` with a one-line notice and published atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if problem(path, holds, inspect) is None:
        return path
    with locked(path.parent):  # one build at a time per cache folder
        reason = problem(path, holds, inspect)  # another process may have built it meanwhile
        if reason is None:
            return path
        if reason != "is missing":
            print(f"Cache {short_paths(str(path))} {reason}; rebuilding it.")
        _sweep_stale(path)
        tmp = path.with_name(f".{path.name}{TMP_MARK}{os.getpid()}")
        _remove(tmp)
        try:
            build(tmp)
            _set_modes(tmp)
            manifest_path(path).unlink(missing_ok=True)
            _remove(path)
            os.replace(tmp, path)
            files = _files(path)
            write_json_atomic(
                manifest_path(path), {"holds": to_jsonable(holds), "files": files, "seal": seal(holds, files)}
            )
        except PermissionError as error:
            raise ValueError(
                f"Cannot write the cache {path} ({error.strerror}); set {CACHE_DIR_ENV} to a folder you can write."
            ) from error
        finally:
            _remove(tmp)
    return path
