"""One results contract for every notebook: `record(key, value)` shows a value and, headless, saves it."""

from __future__ import annotations

import json
import math
import os
import re
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
    session = os.environ.get(
        "JPY_SESSION_NAME", ""
    )  # the notebook's path, set by jupyter_server ≥ 2 for kernels
    return Path(session).stem if session.endswith(".ipynb") else "interactive"


def artifact_dir(name: str) -> Path:
    """A folder for a notebook's artifacts (MLflow store, saved models): beside the results when headless,
    else `./artifacts/<name>` next to the notebook."""
    path = (output_dir() or Path("artifacts")) / name
    path.mkdir(parents=True, exist_ok=True)
    return path


def create_dir(path: Path, remedy: str) -> Path:
    """`path`, created if needed, or one sentence ending in `remedy` when it cannot be created."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ValueError(f"Cannot create {path} ({error.strerror}); {remedy}.") from error
    return path


def _writable_dir(path: Path, env: str) -> Path:
    """`path`, created if needed, or one sentence naming `env` when it cannot be written."""
    create_dir(path, f"set {env} to a folder you can write")
    if not os.access(path, os.W_OK | os.X_OK):
        raise ValueError(f"{path} is not writable; set {env} to a folder you can write.")
    return path


def absolute_folder_settings() -> dict[str, str]:
    """FSL_CACHE_DIR and FSL_STORE_DIR as set, each made absolute from the current folder: the runner hands these
    to notebooks, which run in notebooks/, so that a relative setting means the folder where the user stands."""
    return {
        name: str(Path(os.environ[name]).expanduser().absolute())
        for name in (CACHE_DIR_ENV, STORE_DIR_ENV)
        if os.environ.get(name)
    }


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


def read_json(path: Path) -> Any:
    """The JSON in `path`, or one sentence naming the file when it is cut short or is not JSON."""
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise ValueError(
            f"{path} is not valid JSON ({error.msg} at line {error.lineno}, column {error.colno}): it was cut "
            "short or edited; restore it or rerun what wrote it."
        ) from None


def write_text_atomic(path: Path, text: str) -> None:
    """Write text to a temporary file beside `path`, then rename it, so a crash or a full disk never leaves half a
    file; the file gets the umask's mode like any other output, and the temporary file is removed if writing fails."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(
        "w", encoding="utf-8", dir=path.parent, prefix=f".{path.name}.", suffix=".tmp", delete=False
    ) as tmp:
        try:
            tmp.write(text)
            tmp.flush()
            os.chmod(tmp.name, file_mode())
            os.replace(tmp.name, path)
        except BaseException:
            os.unlink(tmp.name)
            raise


def write_json_atomic(path: Path, data: Any) -> None:
    """Write JSON atomically (see `write_text_atomic`)."""
    write_text_atomic(path, json.dumps(data, indent=2, sort_keys=True))


# The unit a key's last part names (`latency_ms_b1`, `etl.pandas_s`, `size_bytes`…), shown after the value.
_UNITS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"(^|_)ms(_b\d+)?$"), "ms"),
    (re.compile(r"(^|_)s$"), "s"),
    (re.compile(r"(^|_)gib$"), "GiB"),
    (re.compile(r"(^|_)gflops$"), "GFLOP/s"),
    (re.compile(r"(^|_)(pct|percent)$"), "%"),
    (re.compile(r"(speedup|_ratio)$"), "×"),
]
_BYTE_UNITS = ("bytes", "kB", "MB", "GB", "TB")


def _number(value: float | int) -> str:
    """4 significant figures for floats; integers in full with thousands separators."""
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if value != 0 and (abs(value) >= 1e5 or abs(value) < 1e-3):
        return f"{value:.3e}"
    return f"{value:.4g}"


def _bytes(value: float) -> str:
    size, unit = float(value), 0
    while abs(size) >= 1000 and unit < len(_BYTE_UNITS) - 1:
        size, unit = size / 1000, unit + 1
    return f"{int(value):,} bytes" if unit == 0 else f"{size:.4g} {_BYTE_UNITS[unit]}"


def _shown(value: Any, unit: str) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_shown(v, unit)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_shown(v, unit) for v in value) + "]"
    if isinstance(value, str):
        return short_paths(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if unit == "bytes":
        return _bytes(value)
    return f"{_number(value)}{unit}" if unit == "×" else f"{_number(value)} {unit}".rstrip()


def short_paths(text: str) -> str:
    """`text` with this machine's folders shortened (`<out>/…`, `~/…`), so that printed values carry no absolute
    path of the machine that ran the notebook."""
    out = output_dir()
    folders = [(str(out.resolve()), "<out>")] if out is not None else []
    folders += [(str(Path.cwd()), "."), (str(Path.home()), "~")]
    for folder, short in folders:
        if folder not in ("/", ""):
            text = text.replace(folder, short)
    return text


def format_value(key: str, value: Any) -> str:
    """How `record` prints a value for a reader: 3–4 significant figures, the unit its key names, short paths."""
    last = key.rsplit(".", 1)[-1].lower()
    unit = "bytes" if last.endswith("bytes") else next((u for p, u in _UNITS if p.search(last)), "")
    return _shown(to_jsonable(value), unit)


def record(key: str, value: Any, show: bool = False) -> Any:
    """Keep `key = value` for the run's results and, when run headless, save it to
    `<out>/<notebook stem>.results.json`; print it for the reader only with `show`."""
    if not isinstance(key, str) or not key.strip():
        raise ValueError("record() needs a non-empty string key such as 'etl.rows'.")
    _results[key] = to_jsonable(value)
    if show:
        print(f"{key} = {format_value(key, _results[key])}")
    out = output_dir()
    if out is not None:
        write_json_atomic(out / f"{notebook_stem()}.results.json", _results)
    return value


def recorded() -> dict[str, Any]:
    """A copy of everything recorded so far in this process."""
    return dict(_results)
