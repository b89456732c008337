"""Headless runner: execute notebooks with papermill, one subprocess each, and collect their results.

A run is a transaction. It writes into its own new folder, `<out>.runs/<start time>` (for `reports/latest`:
`reports/latest.runs/…`), and is moved to `<out>` only once it has finished, complete or with its failures
reported; the run it replaces moves to `previous` (`<out>.previous` for other names), and older ones back into
`<out>.runs`, where the newest few are kept. A run stopped by SIGINT, SIGTERM or SIGHUP (a closed terminal) ends
every process it started (papermill, the kernel, a JVM, Spark workers), stays in `<out>.runs` marked
"interrupted", and never replaces or deletes a finished run. A runner killed outright (SIGKILL, the OOM killer)
takes papermill with it (a parent-death signal), and the next run on that `--out` ends whatever else that run
left and marks its folder "abandoned"; so does a run that cannot write (a full disk). Concurrent runs on one
`--out` each keep their own folder; the last to finish becomes `<out>` and the other `previous`. A closed output
(`| head`) silences the runner, never its run. The folders themselves are `helpers.collection.run_folders`.
"""

from __future__ import annotations

import difflib
import errno
import fnmatch
import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import nbformat
from tqdm.auto import tqdm

from helpers.collection.notebooks import collection_notebooks
from helpers.collection.outputs import tidy_file, write_notebook
from helpers.collection.processes import (
    RUN_TOKEN_ENV,
    carrying,
    end_processes,
    guarded_output,
    parent_death_signal,
    terminate,
)
from helpers.collection.run_folders import RunFolder, check_out, mark_abandoned, stale_runs
from helpers.core.params import PROFILE_ENV, resolve_profile
from helpers.core.results import NOTEBOOK_ENV, OUT_DIR_ENV, STORE_DIR_ENV, absolute_folder_settings

DEFAULT_TIMEOUT_S = 1800
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")  # terminal colours in logs and tracebacks
# Notebook processes not yet cleaned up, by token: an interrupt during clean-up is finished by `_end_leftovers`.
_started: dict[str, tuple[subprocess.Popen, Path]] = {}
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
_EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Interrupt|Exit)(: .*)?$")
# Figures render inline, so that the executed notebook stores them as images (a non-interactive backend such as
# Agg, inherited from the caller, would make every plt.show() draw nothing).
INLINE_BACKEND = "module://matplotlib_inline.backend_inline"


@dataclass
class NotebookRun:
    """How one notebook's execution went."""

    stem: str
    status: str  # "ok", "failed", "timeout", "interrupted" or "not run"
    seconds: float
    error: str = ""


class Interrupted(Exception):
    """The runner received SIGINT, SIGTERM or SIGHUP."""

    def __init__(self, signum: int) -> None:
        self.signum = signum
        super().__init__(signal.Signals(signum).name)


def discover(notebooks_dir: Path, only: str | None = None) -> list[Path]:
    """The notebooks to run, sorted; `only` is a glob (or comma-separated globs) on the file name or stem."""
    found = collection_notebooks(notebooks_dir)
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


def check_parameters(notebooks: list[Path], parameters: dict[str, Any]) -> None:
    """Refuse, in one sentence, a parameter that a selected notebook does not declare (read with papermill)."""
    import papermill

    if "profile" in parameters:
        raise ValueError("Pass the profile with --profile, not as -p profile=….")
    for notebook in notebooks:
        declared = list(papermill.inspect_notebook(str(notebook)))
        unknown = sorted(set(parameters) - set(declared))
        if unknown:
            close = [match for name in unknown for match in difflib.get_close_matches(name, declared, n=1)]
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ValueError(
                f"Notebook {notebook.stem} has no parameter {', '.join(map(repr, unknown))}{hint}; "
                f"it declares {', '.join(declared)}."
            )


def check_timeout(timeout_s: float) -> None:
    """Refuse a per-notebook timeout that is not a positive number of seconds."""
    if not (math.isfinite(timeout_s) and timeout_s > 0):
        raise ValueError(
            f"--timeout {timeout_s:g} is not a positive number of seconds; pass e.g. --timeout 1800."
        )


def clean_metadata(path: Path, target: Path | None = None) -> None:
    """Drop papermill and execution metadata from a notebook so that committed diffs show only content; the
    result replaces `target` (default: `path`) atomically, so an interrupt never leaves half a notebook."""
    nb = nbformat.read(path, as_version=4)
    nb.metadata.pop("papermill", None)
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("execution", None)
    write_notebook(nb, target or path)


def end_stale_runs(out_dir: Path) -> None:
    """Finish what a runner that died outright left behind `out_dir`: end the processes its notebooks started
    (found by their FSL_OUT_DIR), remove their temporary files, mark its folder abandoned, and say so."""
    for folder, pid in stale_runs(out_dir):
        terminate(carrying(OUT_DIR_ENV, str(folder.resolve())))
        _remove_temporaries(folder)
        why = f"its runner (pid {pid}) ended before the run finished, killed or with its terminal closed"
        mark_abandoned(folder, why)
        tqdm.write(
            f"The run in {folder} was left unfinished: {why}; what it left running is ended and it is marked abandoned."
        )


def _one_line(text: str) -> str:
    return " ".join(ANSI_ESCAPE.sub("", text).split())[:500]


def failure_message(executed: Path, log: Path) -> str:
    """The exception that stopped a notebook as `Name: message`, from the executed notebook, else from its log."""
    try:
        for cell in json.loads(executed.read_text())["cells"]:
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    return _one_line(f"{output['ename']}: {output['evalue']}")
    except (OSError, ValueError, KeyError, TypeError):
        pass
    lines = [ANSI_ESCAPE.sub("", line).strip() for line in log.read_text(errors="replace").splitlines()]
    exceptions = [line for line in lines if _EXCEPTION_LINE.match(line)]
    return _one_line((exceptions or [line for line in lines if line] or ["no output"])[-1])


def _remove_temporaries(out_dir: Path) -> None:
    """Remove temporary files a killed notebook left in its output folder (its processes are all gone)."""
    for tmp in out_dir.rglob("*.tmp"):
        if tmp.is_file():
            tmp.unlink(missing_ok=True)


def _end(token: str) -> None:
    """End one notebook's processes, remove its temporary files and forget it."""
    process, out_dir = _started[token]
    end_processes(process, token)
    _remove_temporaries(out_dir)
    _started.pop(token, None)


def _end_leftovers() -> None:
    """Finish the clean-up of every notebook whose clean-up an interrupt cut short."""
    for token in list(_started):
        _end(token)


def notebook_environment(notebook: Path, out_dir: Path, profile: str, token: str) -> dict[str, str]:
    """What a headless notebook's kernel is told: its stem, output folder and profile, the run token that marks
    every process it starts, and inline figures."""
    return {
        OUT_DIR_ENV: str(out_dir.resolve()),
        NOTEBOOK_ENV: notebook.stem,
        PROFILE_ENV: profile,
        RUN_TOKEN_ENV: token,
        "MPLBACKEND": INLINE_BACKEND,
    }


def execute_notebook(
    notebook: Path,
    out_dir: Path,
    profile: str,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    parameters: dict[str, Any] | None = None,
    inject_profile: bool = True,
    stores: Path | None = None,
) -> NotebookRun:
    """Execute one notebook with papermill into `out_dir`; the profile goes in as a parameter or via FSL_PROFILE;
    `stores` replaces the folder of the notebook's stores (FSL_STORE_DIR, e.g. MLflow's), say a fresh one.

    Whatever happens (success, failure, timeout, an interrupt), every process it started has ended on return."""
    out_dir.mkdir(parents=True, exist_ok=True)
    params = dict(parameters or {})
    if inject_profile:
        params.setdefault("profile", profile)
    executed = out_dir / notebook.name
    command = [
        sys.executable,
        "-m",
        "papermill",
        str(notebook),
        str(executed),
        "--cwd",
        str(notebook.parent),
        "--no-progress-bar",
        "--log-output",
    ]
    for key, value in params.items():
        command += ["-y", json.dumps({key: value})]
    token = uuid.uuid4().hex
    env = {
        **os.environ,
        **absolute_folder_settings(),
        **notebook_environment(notebook, out_dir, profile, token),
        **({STORE_DIR_ENV: str(stores.absolute())} if stores is not None else {}),
    }
    log = out_dir / f"{notebook.stem}.log"
    start = time.perf_counter()
    code: int | None = None
    with log.open("w") as sink:
        process = subprocess.Popen(
            command,
            stdout=sink,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
            preexec_fn=parent_death_signal(),  # one prctl call: safe between fork and exec
        )
        _started[token] = (process, out_dir)
        try:
            code = process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            pass
        finally:
            _end(token)
    seconds = time.perf_counter() - start
    unreadable = ""
    if executed.exists():
        try:
            tidy_file(executed)
        except ValueError as error:  # cut short, e.g. by a full disk
            unreadable = (
                f"its executed notebook {executed.name} is unreadable ({_one_line(str(error))[:120]})"
            )
    if code is None:
        return NotebookRun(notebook.stem, "timeout", seconds, f"killed after {timeout_s:g} s")
    if code < 0:
        ended = f"papermill ended by signal {-code} ({signal.Signals(-code).name})"
        return NotebookRun(notebook.stem, "failed", seconds, ended)
    if code != 0:
        return NotebookRun(notebook.stem, "failed", seconds, failure_message(executed, log))
    if unreadable:
        return NotebookRun(notebook.stem, "failed", seconds, unreadable)
    return NotebookRun(notebook.stem, "ok", seconds)


class _SignalGuard:
    """While armed, the first SIGINT, SIGTERM or SIGHUP raises Interrupted; any other is ignored (so clean-up and
    the report are never cut short). Only the main thread can receive signals; elsewhere this does nothing."""

    def __init__(self) -> None:
        self.armed = True
        self.previous: dict[int, Any] = {}

    def _handle(self, signum: int, _frame: Any) -> None:
        if self.armed:
            self.armed = False
            raise Interrupted(signum)

    def __enter__(self) -> _SignalGuard:
        if threading.current_thread() is threading.main_thread():
            self.previous = {s: signal.signal(s, self._handle) for s in STOP_SIGNALS}
        return self

    def __exit__(self, *_exc: object) -> None:
        for signum, old in self.previous.items():
            signal.signal(signum, old)


def _execute_all(
    notebooks: list[Path],
    folder: Path,
    profile: str,
    timeout_s: float,
    parameters: dict[str, Any],
    in_place: bool,
) -> tuple[list[NotebookRun], Interrupted | None]:
    """Execute the notebooks one after another into `folder`; on an interrupt, the rest are marked not run."""
    runs: list[NotebookRun] = []
    try:
        bar = tqdm(notebooks, desc=f"profile {profile}", unit="notebook")
        for notebook in bar:
            bar.set_postfix_str(notebook.stem)
            started = time.perf_counter()
            try:
                # a committed run starts from empty stores, so its outputs show no history of this machine
                run = execute_notebook(
                    notebook,
                    folder,
                    profile,
                    timeout_s,
                    parameters,
                    inject_profile=not in_place,
                    stores=folder / "stores" if in_place else None,
                )
            except Interrupted:
                runs.append(NotebookRun(notebook.stem, "interrupted", time.perf_counter() - started))
                raise
            runs.append(run)
            tqdm.write(f"{run.stem}: {run.status} in {run.seconds:.0f} s {run.error}".rstrip())
            if in_place and run.status == "ok":
                clean_metadata(folder / notebook.name, notebook)
    except Interrupted as interrupted:
        _end_leftovers()  # the interrupt may have cut a notebook's clean-up short
        done = {r.stem for r in runs}
        return [
            *runs,
            *(NotebookRun(n.stem, "not run", 0.0) for n in notebooks if n.stem not in done),
        ], interrupted
    return runs, None


def absolute_paths(parameters: dict[str, Any]) -> dict[str, Any]:
    """The parameters with each relative `*_path` made absolute from the current folder: notebooks run in their
    own folder, and a path the user typed means the folder where the user stands."""
    return {
        name: str(Path(value).expanduser().absolute())
        if name.endswith("_path") and isinstance(value, str)
        else value
        for name, value in parameters.items()
    }


def _cause(error: OSError) -> str:
    """What an OSError says, with the file it concerns and, for a full disk, what to do."""
    where = f" writing {error.filename}" if error.filename else ""
    fix = " (free some space, then rerun)" if error.errno in (errno.ENOSPC, errno.EDQUOT) else ""
    return f"{error.strerror or error}{where}{fix}"


def run_collection(
    profile: str = "auto",
    only: str | None = None,
    out_dir: Path = Path("reports/latest"),
    notebooks_dir: Path = Path("notebooks"),
    timeout_s: float = DEFAULT_TIMEOUT_S,
    in_place: bool = False,
    parameters: dict[str, Any] | None = None,
) -> int:
    """Run the notebooks, write results, claims.json and the report, and return the process exit code
    (0 all ok, 1 some failed, 128 + the signal's number when interrupted); a run that cannot be written (a full
    disk) is marked abandoned, or removed when not even that can be written, and ends in one sentence."""
    parameters = absolute_paths(dict(parameters or {}))
    check_timeout(timeout_s)
    resolved = resolve_profile(profile)
    notebooks = discover(notebooks_dir, only)
    if parameters and in_place:
        raise ValueError(
            "-p cannot be combined with --in-place: committed notebooks run with their defaults."
        )
    check_parameters(notebooks, parameters)
    check_out(out_dir)
    with guarded_output():
        return _run(notebooks, out_dir, resolved, timeout_s, parameters, in_place)


def _run(
    notebooks: list[Path],
    out_dir: Path,
    profile: str,
    timeout_s: float,
    parameters: dict[str, Any],
    in_place: bool,
) -> int:
    """The run itself, once its arguments are checked (see `run_collection`)."""
    from helpers.collection.report import write_report

    end_stale_runs(out_dir)
    folder = RunFolder.open(out_dir)
    try:
        with _SignalGuard() as guard:
            runs, interrupted = _execute_all(notebooks, folder.path, profile, timeout_s, parameters, in_place)
            guard.armed = False
            ok = all(r.status == "ok" for r in runs)
            state = "interrupted" if interrupted else "complete" if ok else "failures"
            note = f"by {interrupted}" if interrupted else ""
            write_report(folder.path, profile, [asdict(r) for r in runs], state=state, note=note)
            if interrupted is None:
                folder.publish()
    except OSError as error:
        _end_leftovers()
        kept = mark_abandoned(folder.path, _cause(error))
        if not kept:
            shutil.rmtree(folder.path, ignore_errors=True)
        raise ValueError(
            f"The run stopped: {_cause(error)}; {folder.path} "
            f"{'is marked abandoned' if kept else 'could not even be marked, so it is removed'}, and {out_dir} still "
            "shows the last finished run."
        ) from None
    finally:
        folder.close()
    if interrupted is not None:
        tqdm.write(
            f"Interrupted by {interrupted}: this run is kept in {folder.path} and marked interrupted; {out_dir} "
            "still shows the last finished run.",
            file=sys.stderr,
        )
        return 128 + interrupted.signum
    failed = [r.stem for r in runs if r.status != "ok"]
    tqdm.write(f"Report: {out_dir / 'report.md'}" + (f" — failed: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0
