"""papermill as users call it: `papermill NB OUT -p name value`, `papermill --help-notebook NB`, bad values.

One run starts the `papermill` script itself; the others call its command line in this process.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from click.testing import CliRunner, Result
from papermill.cli import papermill as papermill_command
from papermill.exceptions import PapermillExecutionError

from .notebook_runs import NOTEBOOKS_DIR

NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("[0-9]*.ipynb"))
IDS = [p.stem for p in NOTEBOOKS]
PAPERMILL = str(Path(sys.executable).with_name("papermill"))
TIMEOUT_S = 600
ENV = {k: v for k, v in os.environ.items() if not k.startswith("FSL_")}


def _papermill(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    command = [PAPERMILL, *args]
    return subprocess.run(
        command, capture_output=True, text=True, env={**ENV, **(env or {})}, cwd=cwd, timeout=TIMEOUT_S
    )


def _papermill_here(*args: str) -> Result:
    """papermill's command line run in this process (the same code as the `papermill` script, without its
    start-up), with the collection's FSL_* settings removed from the environment as for a user."""
    unset = dict.fromkeys((k for k in os.environ if k.startswith("FSL_")), None)
    return CliRunner().invoke(papermill_command, list(args), env=unset)


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
def help_texts() -> dict[Path, Result]:
    """`papermill --help-notebook` of every notebook, through papermill's own command line in this process."""
    return {notebook: _papermill_here("--help-notebook", str(notebook)) for notebook in NOTEBOOKS}


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=IDS)
def test_help_notebook_lists_every_parameter_with_its_default(notebook, help_texts):
    done = help_texts[notebook]
    assert done.exit_code == 0, done.output
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
        env={"FSL_OUT_DIR": str(tmp_path / "results"), "FSL_NOTEBOOK": "00_environment_check"},
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
    recorded = json.loads((tmp_path / "results" / "00_environment_check.results.json").read_text())
    assert recorded["params.profile"] == "smoke" and recorded["params.matmul_size"] == 64


UNKNOWN_PROFILE = (
    ("-p", "profile", "nope"),
    "Unknown profile 'nope': use one of 'smoke', 'cpu', 'gpu', 'auto'.",
)
MISSPELT = (("-p", "seeed", "1"), "Unknown parameter(s) seeed: this notebook takes profile, ")
# One bad run per notebook (two for 07): a value its own checks reject where it has any, else an unknown
# profile or a misspelt `-p NAME` (every other notebook), with the start of the message the user must see.
BAD_RUNS = [
    ("00_environment_check", *UNKNOWN_PROFILE),
    ("01_rapids_dataframes", ("-y", "scaling_rows: [200000]"), "must not exceed etl_rows=100000"),
    ("02_rapids_machine_learning", *UNKNOWN_PROFILE),
    ("03_hyperparameter_search", *MISSPELT),
    ("04_compression_architecture", *UNKNOWN_PROFILE),
    ("05_compression_pruning", *MISSPELT),
    ("06_compression_quantization", *UNKNOWN_PROFILE),
    ("07_compression_distillation", ("-y", "alphas: [1.5]"), "alphas=[1.5] must lie in (0, 1]"),
    ("07_compression_distillation", ("-p", "student_width", "2.0"), "student_width=2.0 must be < 1"),
    ("08_compression_tradeoffs", *MISSPELT),
    ("09_albert_parameter_efficiency", ("-p", "seq_len", "4096"), "seq_len=4096 exceeds the 16 positions"),
    ("10_albert_sentence_order", *MISSPELT),
]
BAD_IDS = [f"{stem}-{args[1].split(':')[0]}" for stem, args, _ in BAD_RUNS]


@pytest.fixture(scope="module")
def bad_runs(tmp_path_factory) -> list[tuple[Result, Path]]:
    """Each case of BAD_RUNS run through papermill's command line in this process (the smoke profile where the
    case does not name one), with its output notebook."""
    out_dir = tmp_path_factory.mktemp("papermill-bad")
    runs = []
    for i, (stem, args, _) in enumerate(BAD_RUNS):
        output = out_dir / f"{i}-{stem}.ipynb"
        profile = () if "profile" in args else ("-p", "profile", "smoke")
        paths = (str(NOTEBOOKS_DIR / f"{stem}.ipynb"), str(output), "--cwd", str(NOTEBOOKS_DIR))
        runs.append((_papermill_here(*paths, *args, *profile), output))
    return runs


def test_the_bad_runs_cover_every_notebook():
    assert sorted({stem for stem, _, _ in BAD_RUNS}) == IDS


@pytest.mark.parametrize("case", range(len(BAD_RUNS)), ids=BAD_IDS)
def test_bad_value_stops_the_run_early_with_a_clear_message(case, bad_runs):
    done, output = bad_runs[case]
    message = BAD_RUNS[case][2]
    assert done.exit_code != 0
    error = done.exception
    assert isinstance(error, PapermillExecutionError), done.output[-3000:]
    assert error.ename == "ValueError" and message in error.evalue, (
        f"papermill did not report the notebook's error:\n{error}"
    )
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
