"""A run's own folder: created and locked behind --out, then moved into place when the run has finished; the
folders of runs whose runner died (still "running", their lock free) found and marked abandoned."""

from __future__ import annotations

import datetime as dt
import fcntl
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from helpers.core.cache import locked
from helpers.core.results import create_dir, read_json, write_json_atomic

KEEP_RUNS = 5  # run folders kept per --out, besides the ones `latest` and `previous` point at


def previous_folder(out: Path) -> Path:
    """Where the finished run before the one in `out` is kept."""
    return out.with_name("previous" if out.name == "latest" else f"{out.name}.previous")


def runs_folder(out: Path) -> Path:
    """The folder that holds every run behind `out`, one subfolder each."""
    return out.with_name(f"{out.name}.runs")


def _out_problem(path: Path, flag: str) -> str | None:
    """Why the runner may not move a finished run to `path` (one sentence), or None."""
    if path.is_symlink() or not path.exists():
        return None
    if not path.is_dir():
        return f"{flag} {path} is a file; pass a folder path such as reports/latest."
    if any(path.iterdir()) and not (path / "run.json").exists():
        return (
            f"{flag} {path} is a folder that holds no run (no run.json); pass a new path, or move that folder "
            "away first."
        )
    return None


def check_out(out: Path) -> None:
    """Refuse, in one sentence, an --out the runner cannot use, before any notebook starts."""
    for path, flag in ((out, "--out"), (previous_folder(out), "The previous-run folder of --out,")):
        problem = _out_problem(path, flag)
        if problem:
            raise ValueError(problem)
    parent = out.parent.absolute()
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise ValueError(f"--out {out} lies under {parent}, which is a file; pass --out under a folder.")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ValueError(
            f"--out {out} cannot be created because {parent} is not writable; pass --out under "
            "a folder you can write."
        )


def _stamp(moment: dt.datetime) -> str:
    return f"{moment:%Y%m%d-%H%M%S-%f}"


def _free_name(runs: Path, stem: str) -> Path:
    """`runs/<stem>`, or `runs/<stem>-N` with the first N that is not taken."""
    path, attempt = runs / stem, 1
    while path.exists():
        path, attempt = runs / f"{stem}-{attempt}", attempt + 1
    return path


def _retire(folder: Path, runs: Path) -> None:
    """Move a finished run that leaves `previous` into the runs folder, named by when it finished."""
    if folder.is_dir() and not folder.is_symlink() and not any(folder.iterdir()):
        folder.rmdir()
        return
    marker = folder / "run.json" if (folder / "run.json").exists() else folder
    finished = dt.datetime.fromtimestamp(marker.lstat().st_mtime, dt.UTC)
    folder.rename(_free_name(runs, _stamp(finished)))


@dataclass
class RunFolder:
    """One run's own folder under `runs_folder(out)`, locked while the run is in progress."""

    out: Path
    path: Path
    fd: int

    @classmethod
    def open(cls, out: Path) -> RunFolder:
        """Create and lock a new run folder behind `out` (call check_out first)."""
        runs = runs_folder(out)
        create_dir(runs, "pass --out under a folder you can write")
        with locked(runs):
            others = [p for p in runs.iterdir() if p.is_dir() and _busy(p)]
            now = dt.datetime.now(dt.UTC)
            path = _free_name(runs, _stamp(now))
            path.mkdir()
            fd = os.open(path, os.O_RDONLY)
            fcntl.flock(fd, fcntl.LOCK_EX)
        if others:
            print(
                f"Another run ({others[0].name}) is also writing behind {out}; both are kept, and the one that "
                f"finishes last becomes {out}."
            )
        write_json_atomic(
            path / "run.json", {"state": "running", "started": now.isoformat(), "pid": os.getpid()}
        )
        return cls(out, path, fd)

    def publish(self) -> None:
        """Make this finished run `out`: the run it replaces becomes `previous`, the one before that returns to
        the runs folder, and all but the newest KEEP_RUNS there are pruned (never one still in progress)."""
        runs, previous = runs_folder(self.out), previous_folder(self.out)
        with locked(runs):
            if previous.exists() or previous.is_symlink():
                _retire(previous, runs)
            if self.out.exists() or self.out.is_symlink():
                self.out.rename(previous)
            self.path.rename(self.out)
            self.path = self.out
            folders = sorted((p for p in runs.iterdir() if p.is_dir()), reverse=True)
            for old in folders[KEEP_RUNS:]:
                if not _busy(old):
                    shutil.rmtree(old, ignore_errors=True)

    def close(self) -> None:
        """Release the run's lock."""
        os.close(self.fd)


def _busy(folder: Path) -> bool:
    """True while another process's run holds the lock on `folder`."""
    with locked(folder, wait=False) as free:
        return not free


def _run_json(folder: Path) -> dict:
    """A run folder's run.json, or {} when it has none or it cannot be read."""
    try:
        data = read_json(folder / "run.json")
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def stale_runs(out: Path) -> list[tuple[Path, int | None]]:
    """The run folders behind `out` whose run.json still says running while no process holds their lock (the
    runner died without finishing: SIGKILL, the OOM killer), each with the pid of that runner."""
    runs = runs_folder(out)
    if not runs.is_dir():
        return []
    with locked(runs):
        folders = [p for p in sorted(runs.iterdir()) if p.is_dir() and not p.is_symlink()]
        return [
            (p, data.get("pid"))
            for p in folders
            if (data := _run_json(p)).get("state") == "running" and not _busy(p)
        ]


def mark_abandoned(folder: Path, why: str) -> bool:
    """Record in the folder's run.json that its run ended without finishing, and `why`; False when even that
    cannot be written (a full disk)."""
    try:
        write_json_atomic(folder / "run.json", {**_run_json(folder), "state": "abandoned", "note": why})
    except OSError:
        return False
    return True
