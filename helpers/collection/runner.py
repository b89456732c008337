"""Headless runner: execute notebooks with papermill, one subprocess each, and collect their results."""

from __future__ import annotations

import fnmatch
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import nbformat
from tqdm.auto import tqdm

from helpers.collection.outputs import tidy_file
from helpers.core.params import PROFILE_ENV, resolve_profile
from helpers.core.results import NOTEBOOK_ENV, OUT_DIR_ENV

DEFAULT_TIMEOUT_S = 1800
# Figures render inline, so that the executed notebook stores them as images (a non-interactive backend such as
# Agg, inherited from the caller, would make every plt.show() draw nothing).
INLINE_BACKEND = "module://matplotlib_inline.backend_inline"


@dataclass
class NotebookRun:
    """How one notebook's execution went."""

    stem: str
    status: str  # "ok", "failed" or "timeout"
    seconds: float
    error: str = ""


def discover(notebooks_dir: Path, only: str | None = None) -> list[Path]:
    """The notebooks to run, sorted; `only` is a glob (or comma-separated globs) on the file name or stem."""
    if not notebooks_dir.is_dir():
        raise ValueError(
            f"No notebooks folder at {notebooks_dir}; run from the project root or pass --notebooks."
        )
    found = sorted(notebooks_dir.glob("[0-9]*.ipynb"))
    if only:
        globs = [g.strip() for g in only.split(",") if g.strip()]
        found = [
            p for p in found if any(fnmatch.fnmatch(p.name, g) or fnmatch.fnmatch(p.stem, g) for g in globs)
        ]
        if not found:
            raise ValueError(
                f"--only {only!r} matches no notebook in {notebooks_dir}; try a glob such as '0[4-7]*'."
            )
    return found


def clean_metadata(path: Path) -> None:
    """Drop papermill and execution metadata from a notebook so that committed diffs show only content."""
    nb = nbformat.read(path, as_version=4)
    nb.metadata.pop("papermill", None)
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("execution", None)
    nbformat.write(nb, path)


def _kill_group(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _last_error(log: Path) -> str:
    lines = [line for line in log.read_text(errors="replace").splitlines() if line.strip()]
    errors = [line for line in lines if "Error" in line or "Exception" in line]
    return (errors or lines or ["no output"])[-1][:500]


def execute_notebook(
    notebook: Path,
    out_dir: Path,
    profile: str,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    parameters: dict[str, Any] | None = None,
    inject_profile: bool = True,
) -> NotebookRun:
    """Execute one notebook with papermill into `out_dir`; the profile goes in as a parameter or via FSL_PROFILE."""
    out_dir.mkdir(parents=True, exist_ok=True)
    params = dict(parameters or {})
    if inject_profile:
        params.setdefault("profile", profile)
    command = [sys.executable, "-m", "papermill", str(notebook), str(out_dir / notebook.name),
               "--cwd", str(notebook.parent), "--no-progress-bar", "--log-output"]  # fmt: skip
    for key, value in params.items():
        command += ["-y", json.dumps({key: value})]
    env = {
        **os.environ,
        OUT_DIR_ENV: str(out_dir.resolve()),
        NOTEBOOK_ENV: notebook.stem,
        PROFILE_ENV: profile,
        "MPLBACKEND": INLINE_BACKEND,
    }
    log = out_dir / f"{notebook.stem}.log"
    start = time.perf_counter()
    with log.open("w") as sink:
        process = subprocess.Popen(
            command, stdout=sink, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
        try:
            code = process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            _kill_group(process)
            process.wait()
            return NotebookRun(
                notebook.stem, "timeout", time.perf_counter() - start, f"killed after {timeout_s:.0f} s"
            )
        finally:
            _kill_group(process)
    seconds = time.perf_counter() - start
    if (out_dir / notebook.name).exists():
        tidy_file(out_dir / notebook.name)
    if code != 0:
        return NotebookRun(notebook.stem, "failed", seconds, _last_error(log))
    return NotebookRun(notebook.stem, "ok", seconds)


def _keep_previous(out_dir: Path) -> None:
    if out_dir.exists() and any(out_dir.iterdir()):
        previous = out_dir.with_name("previous" if out_dir.name == "latest" else f"{out_dir.name}.previous")
        shutil.rmtree(previous, ignore_errors=True)
        out_dir.rename(previous)


def run_collection(
    profile: str = "auto",
    only: str | None = None,
    out_dir: Path = Path("reports/latest"),
    notebooks_dir: Path = Path("notebooks"),
    timeout_s: float = DEFAULT_TIMEOUT_S,
    in_place: bool = False,
) -> int:
    """Run the notebooks, write results, claims.json and the report, and return the process exit code."""
    from helpers.collection.report import write_report

    resolved = resolve_profile(profile)
    notebooks = discover(notebooks_dir, only)
    _keep_previous(out_dir)
    out_dir.mkdir(parents=True)
    runs: list[NotebookRun] = []
    bar = tqdm(notebooks, desc=f"profile {resolved}", unit="notebook")
    for notebook in bar:
        bar.set_postfix_str(notebook.stem)
        run = execute_notebook(notebook, out_dir, resolved, timeout_s, inject_profile=not in_place)
        runs.append(run)
        tqdm.write(f"{run.stem}: {run.status} in {run.seconds:.0f} s {run.error}".rstrip())
        if in_place and run.status == "ok":
            shutil.copyfile(out_dir / notebook.name, notebook)
            clean_metadata(notebook)
    write_report(out_dir, resolved, [asdict(r) for r in runs])
    failed = [r.stem for r in runs if r.status != "ok"]
    print(f"Report: {out_dir / 'report.md'}" + (f" — failed: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0
