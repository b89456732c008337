"""papermill as users call it: `papermill NB OUT -p name value`, `papermill --help-notebook NB`, bad values."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import pytest

from .conftest import NOTEBOOKS_DIR

NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("[0-9]*.ipynb"))
IDS = [p.stem for p in NOTEBOOKS]
PAPERMILL = str(Path(sys.executable).with_name("papermill"))
TIMEOUT_S = 600
ENV = {k: v for k, v in os.environ.items() if not k.startswith("FSL_")}


def _papermill(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    command = [PAPERMILL, *args]
    return subprocess.run(command, capture_output=True, text=True, env=ENV, cwd=cwd, timeout=TIMEOUT_S)


def _parameters(notebook: Path) -> dict[str, str]:
    """Each parameter of the notebook's parameters cell with the source text of its default."""
    nb = nbformat.read(notebook, as_version=4)
    source = next(c.source for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    assigns = [node for node in ast.parse(source).body if isinstance(node, ast.Assign | ast.AnnAssign)]
    targets = [node.targets[0] if isinstance(node, ast.Assign) else node.target for node in assigns]
    return {t.id: ast.get_source_segment(source, n.value) for t, n in zip(targets, assigns, strict=True)}


def _squeeze(text: str) -> str:
    return "".join(text.split())


@pytest.fixture(scope="module")
def help_texts() -> dict[Path, subprocess.CompletedProcess]:
    """`papermill --help-notebook` of every notebook, run a few at a time."""
    with ThreadPoolExecutor(max_workers=4) as pool:
        return dict(
            zip(
                NOTEBOOKS, pool.map(lambda nb: _papermill("--help-notebook", str(nb)), NOTEBOOKS), strict=True
            )
        )


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=IDS)
def test_help_notebook_lists_every_parameter_with_its_default(notebook, help_texts):
    done = help_texts[notebook]
    assert done.returncode == 0, done.stderr
    lines = {_squeeze(line) for line in done.stdout.splitlines()}
    expected = _parameters(notebook)
    assert list(expected)[0] == "profile", 'the parameters cell must start with `profile = "auto"`'
    assert expected["profile"] == '"auto"'
    for name, default in expected.items():
        wanted = _squeeze(f"{name}:") + "*" + _squeeze(f"(default {default})")
        head, tail = wanted.split("*")
        assert any(line.startswith(head) and tail in line for line in lines), (
            f"`papermill --help-notebook {notebook.name}` does not list {name} with default {default}. papermill "
            f"reads each parameter from one line `name = default  # help`: keep it on one line of at most 110 "
            f"characters (ruff format wraps longer ones) with no '=' in the comment.\n{done.stdout}"
        )


def test_command_line_run_with_overrides(tmp_path):
    notebook = NOTEBOOKS_DIR / "00_environment_check.ipynb"
    output = tmp_path / "out.ipynb"
    done = _papermill(
        str(notebook),
        str(output),
        "-p",
        "profile",
        "smoke",
        "-p",
        "matmul_size",
        "64",
        "--cwd",
        str(NOTEBOOKS_DIR),
    )
    assert done.returncode == 0, done.stderr[-3000:]
    nb = nbformat.read(output, as_version=4)
    assert nb.metadata.papermill.parameters == {"profile": "smoke", "matmul_size": 64}
    injected = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert (
        len(injected) == 1
        and 'profile = "smoke"' in injected[0].source
        and "matmul_size = 64" in injected[0].source
    )
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count for c in code), "papermill left cells unexecuted"
    outputs = [o for c in code for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    printed = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "params.profile = smoke" in printed and "params.matmul_size = 64" in printed


BAD_PARAMETERS = (
    (("profile", "nope"), "ValueError: Unknown profile 'nope': use one of 'smoke', 'cpu', 'gpu', 'auto'."),
    (("seeed", "1"), "ValueError: Unknown parameter(s) seeed: this notebook takes profile, "),
)


@pytest.fixture(scope="module")
def bad_runs(tmp_path_factory) -> dict[Path, tuple[subprocess.CompletedProcess, Path]]:
    """Every notebook run from the command line with a bad parameter, a few at a time: every other notebook gets
    an unknown profile, the rest a parameter it does not declare (a misspelt `-p NAME`)."""
    out_dir = tmp_path_factory.mktemp("papermill-bad")

    def run(notebook: Path) -> tuple[subprocess.CompletedProcess, Path]:
        output = out_dir / notebook.name
        bad = BAD_PARAMETERS[NOTEBOOKS.index(notebook) % 2][0]
        return _papermill(str(notebook), str(output), "-p", *bad, cwd=NOTEBOOKS_DIR), output

    with ThreadPoolExecutor(max_workers=3) as pool:
        return dict(zip(NOTEBOOKS, pool.map(run, NOTEBOOKS), strict=True))


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=IDS)
def test_bad_value_stops_the_run_early_with_a_clear_message(notebook, bad_runs):
    done, output = bad_runs[notebook]
    message = BAD_PARAMETERS[NOTEBOOKS.index(notebook) % 2][1]
    assert done.returncode != 0
    assert message in done.stderr, f"papermill did not show the notebook's error:\n{done.stderr[-3000:]}"
    cells = nbformat.read(output, as_version=4).cells
    injected = next(i for i, c in enumerate(cells) if "injected-parameters" in c.metadata.get("tags", []))
    code_after = [c for c in cells[injected + 1 :] if c.cell_type == "code"]
    failed = [i for i, c in enumerate(code_after) if any(o.output_type == "error" for o in c.outputs)]
    assert failed == [0], (
        "validation must fail in the first code cell after the parameters cell, before long work"
    )
    assert not any(c.execution_count for c in code_after[1:]), (
        "cells after the failed validation were executed"
    )
