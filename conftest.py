"""nbval over the collection: `pytest --nbval-lax notebooks/` executes each notebook once (smoke profile unless
FSL_PROFILE says otherwise) in this environment's kernel, compares the cells marked `# NBVAL_CHECK_OUTPUT` with
their committed outputs (tests/nbval-sanitize.cfg masks what legitimately varies), and leaves each notebook's
results, claims, figures and status in reports/nbval/ for the result tests in tests/."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from helpers.collection.runner import ANSI_ESCAPE
from tests.notebook_runs import SANITIZER, NotebookSession

_CELL_LINE = re.compile(r"^Cell \d+: ")
_sessions: dict[str, NotebookSession] = {}  # by notebook stem


def _notebook_of(item: pytest.Item) -> Path | None:
    """The notebook an nbval cell item belongs to; None for any other test."""
    path = Path(str(item.path))
    return path if path.suffix == ".ipynb" and hasattr(item, "cell_num") else None


def pytest_configure(config: pytest.Config) -> None:
    """nbval defaults for this collection: the kernel of this environment and the collection's sanitizer."""
    if getattr(config.option, "nbval_lax", False) or getattr(config.option, "nbval", False):
        if not config.option.nbval_kernel_name:
            config.option.nbval_current_env = True
        if config.option.nbval_sanitize_with is None:
            config.option.nbval_sanitize_with = str(SANITIZER)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Before a notebook's first cell (and so before nbval starts its kernel): the notebook's environment."""
    notebook = _notebook_of(item)
    if notebook is not None and notebook.stem not in _sessions:
        _sessions[notebook.stem] = NotebookSession(notebook)
        _sessions[notebook.stem].start()


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Note each cell that failed in its notebook's status, in one line: nbval's reason and the error's last line."""
    stem = Path(report.nodeid.split("::", 1)[0]).stem
    if report.failed and stem in _sessions:
        lines = [
            line.strip() for line in ANSI_ESCAPE.sub("", str(report.longrepr)).splitlines() if line.strip()
        ]
        reason = next((line.split(": ", 1)[1] for line in lines if _CELL_LINE.match(line)), report.when)
        _sessions[stem].failed(
            report.nodeid.rsplit("::", 1)[-1], f"{reason} ({lines[-1]})" if lines else reason
        )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    """After a notebook's last cell, once nbval has stopped its kernel: end leftovers, store the status."""
    result = yield
    notebook = _notebook_of(item)
    if notebook is not None and (nextitem is None or _notebook_of(nextitem) != notebook):
        _sessions[notebook.stem].finish()
    return result
