"""Fixtures shared by a few test modules (tests/conftest.py holds the session-wide ones).

A module takes one by importing it: `from .fixtures import one_thread  # noqa: F401` (an autouse fixture then
applies to every test of that module, and only there).
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
import torch

MARK_ENV = "FSL_TEST_MARK"  # inherited by every process a trial starts, to find any that outlive it
ROOT = Path(__file__).resolve().parents[1]
# A notebook body that starts a child and a child in its own session (like a JVM), writes their pids to `marker`
# and hangs: what a runner must end however it stops.
HANGS = """
import os, pathlib, subprocess, sys, time
sleeper = [sys.executable, "-c", "import time; time.sleep(600)"]
child = subprocess.Popen(sleeper)
escaped = subprocess.Popen(sleeper, start_new_session=True)  # like a JVM: outside the kernel's process group
pathlib.Path(marker).write_text(f"{os.getpid()} {child.pid} {escaped.pid}")
time.sleep(600)
"""


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    """One PyTorch thread: these tiny models run faster, and far faster on a machine shared with other jobs."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def mark(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A token in the environment of everything this trial starts; asserts afterwards that nothing kept it."""
    token = uuid.uuid4().hex
    monkeypatch.setenv(MARK_ENV, token)
    yield token
    assert not marked(token), f"orphan processes remain: {[p.cmdline() for p in marked(token)]}"


def marked(token: str) -> list[psutil.Process]:
    """The live processes whose environment carries the trial's token."""
    found = []
    for process in psutil.process_iter():
        try:
            if process.status() != psutil.STATUS_ZOMBIE and process.environ().get(MARK_ENV) == token:
                found.append(process)
        except (psutil.Error, OSError):
            continue
    return found


def start_runner(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> subprocess.Popen:
    """`python -m helpers run --profile smoke ARGS` started as a user starts it, its output piped back as text."""
    return subprocess.Popen(
        [sys.executable, "-m", "helpers", "run", "--profile", "smoke", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
    )
