"""One execution of each notebook for the whole test suite: nbval runs it (`pytest --nbval-lax notebooks/`), this
module gives that kernel its environment and records how the run went, and the result tests read what it wrote.

nbval executes a notebook cell by cell in a kernel it starts itself, so the environment the runner would give a
headless notebook (its stem, its output folder, the smoke profile) is set in this process before the kernel
starts, and every process the kernel leaves behind (a JVM, Spark or Dask workers) is ended after its last cell.
Each execution gets a new MLflow store of its own beside its results, never the user's.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path

import psutil

from helpers.collection.processes import end_carrying
from helpers.collection.runner import notebook_environment
from helpers.core.params import PROFILE_ENV
from helpers.core.results import STORE_DIR_ENV, read_json, write_json_atomic

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS_DIR = ROOT / "notebooks"
SANITIZER = ROOT / "tests" / "nbval-sanitize.cfg"
# Where nbval's executions write results, figures and their status; `make test` points the result tests here.
RESULTS_ENV = "FSL_NBVAL_RESULTS"
DEFAULT_RESULTS_DIR = ROOT / "reports" / "nbval"
DEFAULT_PROFILE = "smoke"


def results_dir() -> Path:
    """The folder nbval's executions write into: $FSL_NBVAL_RESULTS, else reports/nbval."""
    return Path(os.environ.get(RESULTS_ENV) or DEFAULT_RESULTS_DIR).resolve()


def inputs_digest(notebook: Path) -> str:
    """A digest of the notebook and the helpers package, so that results are never read for code edited since."""
    digest = hashlib.sha256(notebook.read_bytes())
    for module in sorted((ROOT / "helpers").rglob("*.py")):
        digest.update(module.read_bytes())
    return digest.hexdigest()


@dataclass
class NotebookStatus:
    """How nbval's execution of one notebook went: ok when every cell ran (and every checked cell matched)."""

    stem: str
    status: str  # "running", "ok" or "failed"
    profile: str
    digest: str
    started: float
    seconds: float = 0.0
    failures: list[str] = field(default_factory=list)

    @staticmethod
    def path(folder: Path, stem: str) -> Path:
        """Where the status of notebook `stem` is kept in `folder`."""
        return folder / f"{stem}.nbval.json"

    def write(self, folder: Path) -> None:
        """Store this status beside the notebook's results (atomically)."""
        write_json_atomic(self.path(folder, self.stem), asdict(self))

    @classmethod
    def read(cls, folder: Path, stem: str) -> NotebookStatus | None:
        """The stored status of notebook `stem`, or None when nbval has not run it into `folder`."""
        path = cls.path(folder, stem)
        return cls(**read_json(path)) if path.exists() else None


class NotebookSession:
    """The environment and bookkeeping of one notebook's nbval execution, from its first cell to its last."""

    def __init__(self, notebook: Path) -> None:
        self.notebook = notebook
        self.folder = results_dir()
        self.token = uuid.uuid4().hex
        profile = os.environ.get(PROFILE_ENV) or DEFAULT_PROFILE
        self.status = NotebookStatus(notebook.stem, "running", profile, inputs_digest(notebook), time.time())

    def start(self) -> None:
        """Set the environment the kernel inherits (set before nbval starts it) and mark the run as running."""
        self.folder.mkdir(parents=True, exist_ok=True)
        for stale in self.folder.glob(f"{self.notebook.stem}.*"):
            if stale.is_dir():
                shutil.rmtree(stale)
            else:
                stale.unlink()
        os.environ.update(notebook_environment(self.notebook, self.folder, self.status.profile, self.token))
        os.environ[STORE_DIR_ENV] = str(self.folder / f"{self.notebook.stem}.stores")
        self.status.write(self.folder)

    def failed(self, cell: str, message: str) -> None:
        """Note a cell that errored or whose output differs from the committed one."""
        self.status.failures.append(f"{cell}: {message}")

    def finish(self) -> None:
        """After the last cell: end whatever the kernel left running and store the final status."""
        end_carrying(self.token, psutil.Process().pid)
        self.status.status = "failed" if self.status.failures else "ok"
        self.status.seconds = round(time.time() - self.status.started, 1)
        self.status.write(self.folder)
