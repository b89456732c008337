"""Ending what a notebook started: its processes, a parent-death signal, output outliving its reader."""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TextIO

import psutil

RUN_TOKEN_ENV = "FSL_RUN_TOKEN"  # inherited by every process a notebook starts, so that none escapes clean-up
GRACE_S = 5.0  # seconds a process gets to exit after SIGTERM before SIGKILL
PR_SET_PDEATHSIG = 1  # prctl(2): the signal a child gets when the thread that started it ends


def carrying(name: str, value: str) -> list[psutil.Process]:
    """Processes whose environment sets `name` to `value` (a notebook's token, a run's folder), wherever they were
    re-parented."""
    found = []
    for process in psutil.process_iter():
        try:
            if process.environ().get(name) == value:
                found.append(process)
        except (psutil.Error, OSError):
            continue
    return found


def terminate(processes: list[psutil.Process]) -> None:
    """SIGTERM each process, then SIGKILL the ones still alive after a grace."""
    for process in processes:
        try:
            process.terminate()
        except psutil.NoSuchProcess:
            pass
    _, alive = psutil.wait_procs(processes, timeout=GRACE_S)
    for process in alive:
        try:
            process.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(alive, timeout=GRACE_S)


def end_processes(process: subprocess.Popen, token: str) -> None:
    """End papermill and everything it started (kernel, JVM, Spark workers): SIGTERM, then SIGKILL after a grace."""
    others: dict[int, psutil.Process] = {}
    if process.poll() is None:
        try:
            others.update({p.pid: p for p in psutil.Process(process.pid).children(recursive=True)})
        except psutil.NoSuchProcess:
            pass
    others.update({p.pid: p for p in carrying(RUN_TOKEN_ENV, token)})
    others.pop(process.pid, None)  # papermill itself is reaped through Popen, which keeps its exit code
    if process.poll() is None:
        process.terminate()
    terminate(list(others.values()))
    try:
        process.wait(timeout=GRACE_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def end_carrying(token: str, spared: int) -> None:
    """End every process that carries `token` in its environment except `spared` (the caller that set it)."""
    terminate([p for p in carrying(RUN_TOKEN_ENV, token) if p.pid != spared])


def parent_death_signal() -> Callable[[], None] | None:
    """A preexec_fn asking Linux to SIGKILL the child when the runner dies first (prctl PR_SET_PDEATHSIG), so that a
    runner killed outright takes papermill with it (whose kernel then exits on its own); None without prctl."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    runner = os.getpid()

    def arm() -> None:
        prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL))
        if os.getppid() != runner:  # the runner died before the signal was armed
            os._exit(1)

    return arm


class _Guarded:
    """One of the runner's output streams, outliving its reader: once a pipe closed by `head` or a closed terminal
    refuses a write, its descriptor points at /dev/null (so neither later writes nor the exit flush fail) and one
    sentence says so on the other stream; no write ever stops a run."""

    def __init__(self, stream: TextIO, which: str) -> None:
        self.stream, self.which = stream, which

    def write(self, text: str) -> int:
        """Write and flush `text`, or go quiet as above."""
        try:
            written = self.stream.write(text)
            self.stream.flush()
            return written
        except OSError as error:
            self._closed(error)
            return len(text)

    def flush(self) -> None:
        """Flush, or go quiet as above."""
        try:
            self.stream.flush()
        except OSError as error:
            self._closed(error)

    def _closed(self, error: OSError) -> None:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, self.stream.fileno())
        os.close(devnull)
        other = sys.stderr if self is sys.stdout else sys.stdout
        other.write(
            f"The runner's {self.which} output was closed ({error.strerror}); the run goes on and writes its "
            "report as usual.\n"
        )

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


@contextmanager
def guarded_output() -> Iterator[None]:
    """While a run goes on, its standard and error output are `_Guarded` (progress bar and messages alike)."""
    out, err = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = _Guarded(out, "standard"), _Guarded(err, "error")  # type: ignore[assignment]
    try:
        yield
    finally:
        sys.stdout, sys.stderr = out, err
