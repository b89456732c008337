"""One results contract for every notebook: `record(key, value)` shows a value and, headless, saves it."""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

OUT_DIR_ENV = "FSL_OUT_DIR"
NOTEBOOK_ENV = "FSL_NOTEBOOK"
CACHE_DIR_ENV = "FSL_CACHE_DIR"
STORE_DIR_ENV = "FSL_STORE_DIR"

_results: dict[str, Any] = {}


def output_dir() -> Path | None:
    """Folder where a headless run writes results and figures; None in an interactive session."""
    value = os.environ.get(OUT_DIR_ENV)
    return Path(value) if value else None


def notebook_stem() -> str:
    """Stem of the running notebook: set by the runner headless, by Jupyter Server in JupyterLab, else 'interactive'."""
    if os.environ.get(NOTEBOOK_ENV):
        return os.environ[NOTEBOOK_ENV]
    session = os.environ.get("JPY_SESSION_NAME", "")  # the notebook's path, set by jupyter_server ≥ 2 for kernels
    return Path(session).stem if session.endswith(".ipynb") else "interactive"


def artifact_dir(name: str) -> Path:
    """A folder for a notebook's artifacts (MLflow store, saved models): beside the results when headless,
    else `./artifacts/<name>` next to the notebook."""
    path = (output_dir() or Path("artifacts")) / name
    path.mkdir(parents=True, exist_ok=True)
    return path


def _writable_dir(path: Path, env: str) -> Path:
    """`path`, created if needed, or one sentence naming `env` when it cannot be written."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ValueError(
            f"Cannot create {path} ({error.strerror}); set {env} to a folder you can write."
        ) from error
    if not os.access(path, os.W_OK | os.X_OK):
        raise ValueError(f"{path} is not writable; set {env} to a folder you can write.")
    return path


def cache_dir() -> Path:
    """A folder for regenerable data shared across runs (FSL_CACHE_DIR, default ~/.cache/faster-smaller-lighter)."""
    return _writable_dir(
        Path(os.environ.get(CACHE_DIR_ENV, Path.home() / ".cache" / "faster-smaller-lighter")), CACHE_DIR_ENV
    )


def store_dir(name: str) -> Path:
    """A folder for data that must outlive runs, such as the MLflow store: `$FSL_STORE_DIR/<name>`, by default
    `~/.local/share/faster-smaller-lighter/<name>` (or under $XDG_DATA_HOME), never inside a run's folder."""
    data_home = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    root = Path(os.environ.get(STORE_DIR_ENV) or data_home / "faster-smaller-lighter")
    return _writable_dir(root.expanduser() / name, STORE_DIR_ENV)


def to_jsonable(value: Any) -> Any:
    """Convert numpy scalars, tuples, paths and non-finite floats into plain JSON values."""
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if hasattr(value, "item") and callable(value.item) and getattr(value, "ndim", 0) == 0:
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Path):
        return str(value)
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(
        f"Cannot record a value of type {type(value).__name__}; record numbers, strings, lists or dicts."
    )


def file_mode(directory: bool = False) -> int:
    """The mode the user's umask gives a new file (or folder), e.g. 0o644 under umask 022."""
    umask = os.umask(0)
    os.umask(umask)
    return (0o777 if directory else 0o666) & ~umask


def write_json_atomic(path: Path, data: Any) -> None:
    """Write JSON to a temporary file beside `path`, then rename it, so a crash never leaves half a file; the
    file gets the umask's mode like any other output, and the temporary file is removed if writing fails."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(
        "w", dir=path.parent, prefix=f".{path.name}.", suffix=".tmp", delete=False
    ) as tmp:
        try:
            json.dump(data, tmp, indent=2, sort_keys=True)
            tmp.flush()
            os.chmod(tmp.name, file_mode())
            os.replace(tmp.name, path)
        except BaseException:
            os.unlink(tmp.name)
            raise


def record(key: str, value: Any) -> Any:
    """Show `key = value` and, when run headless, save it to `<out>/<notebook stem>.results.json`."""
    if not isinstance(key, str) or not key.strip():
        raise ValueError("record() needs a non-empty string key such as 'etl.rows'.")
    _results[key] = to_jsonable(value)
    print(f"{key} = {_results[key]}")
    out = output_dir()
    if out is not None:
        write_json_atomic(out / f"{notebook_stem()}.results.json", _results)
    return value


def recorded() -> dict[str, Any]:
    """A copy of everything recorded so far in this process."""
    return dict(_results)
