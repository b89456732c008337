"""nbval as this collection runs it (`pytest --nbval-lax`, the root conftest.py, tests/nbval-sanitize.cfg), on small
notebooks made here: a checked cell whose committed output was edited fails, what the sanitizer masks does not,
an error fails its notebook, and each run leaves its results, its status and no process behind."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

import nbformat
import psutil
import pytest
from nbformat.v4 import new_code_cell, new_notebook, new_output

from .notebook_runs import RESULTS_ENV, NotebookStatus
from .test_notebooks import CHECK_MARKER

ROOT = Path(__file__).resolve().parents[1]


def _cell(source: str, printed: str | None, checked: bool = True) -> nbformat.NotebookNode:
    """A code cell as if executed, storing `printed` as its committed output."""
    cell = new_code_cell((f"{CHECK_MARKER}\n" if checked else "") + source, execution_count=1)
    cell.outputs = [new_output("stream", name="stdout", text=printed)] if printed is not None else []
    return cell


NOTEBOOKS = {
    "90_matches": [
        _cell(
            "from helpers.core.results import record\n_ = record('demo.answer', 6 * 7, show=True)",
            "demo.answer = 42\n",
        ),
        _cell("print('fitted in 0.53 s at 0x7f3a2b1c9d40')", "fitted in 12.5 s at 0x55d0c0ffee00\n"),
        _cell("print('not compared: ' + str(id(object())))", "not compared: 1\n", checked=False),
        _cell(
            "import subprocess, pathlib\n"
            "sleeper = subprocess.Popen(['sleep', '300'])\n"
            "pathlib.Path('sleeper.pid').write_text(str(sleeper.pid))",
            None,
            checked=False,
        ),
    ],
    "91_edited": [_cell("print(sum(range(10)))", "46\n")],
    "92_raises": [_cell("raise ValueError('a clear sentence')", None, checked=False)],
}


@pytest.fixture(scope="module")
def nbval_run():
    """The three notebooks, run in one `pytest --nbval-lax` from the project root: (case outcomes, results dir)."""
    (ROOT / "reports").mkdir(exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="nbval-demo-", dir=ROOT / "reports"))
    for stem, cells in NOTEBOOKS.items():
        nb = new_notebook(
            cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3"}}
        )
        nbformat.write(nb, folder / f"{stem}.ipynb")
    results = folder / "results"
    report = folder / "report.xml"
    env = {**os.environ, RESULTS_ENV: str(results)}
    env.pop("PYTEST_XDIST_WORKER", None)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--nbval-lax",
            str(folder),
            "-p",
            "no:xdist",
            "-p",
            "no:cacheprovider",
        ]
        + ["-q", f"--junitxml={report}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    outcomes = {}
    for case in ET.parse(report).iter("testcase"):
        failure = case.find("failure")
        outcomes[(case.get("classname"), case.get("name"))] = (
            "passed" if failure is None else failure.get("message", "") + (failure.text or "")
        )
    yield done, outcomes, results, folder
    shutil.rmtree(folder, ignore_errors=True)


def _outcome(outcomes: dict, stem: str, cell: int) -> str:
    matches = [v for (name, case), v in outcomes.items() if stem in name and case == f"Cell {cell}"]
    assert matches, f"nbval reported no Cell {cell} of {stem}: {sorted(outcomes)}"
    return matches[0]


def test_matching_and_sanitized_outputs_pass(nbval_run):
    _, outcomes, _, _ = nbval_run
    assert [_outcome(outcomes, "90_matches", i) for i in range(4)] == ["passed"] * 4


def test_an_edited_committed_output_fails_with_nbvals_report(nbval_run):
    done, outcomes, _, _ = nbval_run
    assert "Cell outputs differ" in _outcome(outcomes, "91_edited", 0)
    assert done.returncode == 1


def test_an_error_fails_its_notebook_and_its_status(nbval_run):
    _, outcomes, results, _ = nbval_run
    assert "a clear sentence" in _outcome(outcomes, "92_raises", 0)
    status = NotebookStatus.read(results, "92_raises")
    assert status is not None and status.status == "failed" and status.failures


def test_a_run_leaves_its_results_status_and_no_process(nbval_run):
    _, _, results, folder = nbval_run
    assert (results / "90_matches.results.json").read_text().count('"demo.answer": 42') == 1
    status = NotebookStatus.read(results, "90_matches")
    assert status is not None and status.status == "ok" and status.profile == "smoke"
    assert NotebookStatus.read(results, "91_edited").status == "failed"
    sleeper = int((folder / "sleeper.pid").read_text())
    assert not psutil.pid_exists(sleeper) or psutil.Process(sleeper).status() == psutil.STATUS_ZOMBIE
