"""helpers.collection.runner and the CLI: real papermill runs of tiny notebooks, report contents, fail-fast input checks."""

from __future__ import annotations

import json
import subprocess
import sys

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from helpers.collection.cli import main
from helpers.collection.report import update_readme_notebooks_and_claims, write_report
from helpers.collection.runner import clean_metadata, discover, run_collection
from helpers.core.claims import Claim, at_least

GOOD = """
from helpers import Claim, at_least, record, resolve
p = resolve({"n": (3, 30, 300)}, globals())
record("demo.n", p.n)
Claim("demo.ratio", "a test", "ratio is at least 2", 2, "x", at_least(2)).assess(p.n / 1.0)
"""


def write_notebook(path, body: str) -> None:
    params = new_code_cell('profile = "auto"', metadata={"tags": ["parameters"]})
    nb = new_notebook(cells=[new_markdown_cell("# demo"), params, new_code_cell(body)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)


@pytest.fixture
def collection(tmp_path):
    folder = tmp_path / "notebooks"
    folder.mkdir()
    write_notebook(folder / "01_good.ipynb", GOOD)
    write_notebook(folder / "02_broken.ipynb", "raise RuntimeError('boom')")
    return folder


def test_discover_filters_by_glob(collection):
    write_notebook(collection / "01_good-Copy1.ipynb", GOOD)  # what JupyterLab's "Duplicate" leaves beside it
    assert [p.stem for p in discover(collection)] == ["01_good", "02_broken"]
    assert [p.stem for p in discover(collection, "01*")] == ["01_good"]
    assert [p.stem for p in discover(collection, "02*, 01_good")] == ["01_good", "02_broken"]
    with pytest.raises(ValueError, match="matches no notebook"):
        discover(collection, "9*")
    with pytest.raises(ValueError, match="No notebooks folder"):
        discover(collection / "missing")


def test_run_keeps_going_past_failures_and_writes_the_report(collection, tmp_path):
    out = tmp_path / "reports" / "latest"
    code = run_collection("smoke", None, out, collection, timeout_s=300)
    assert code == 1
    results = json.loads((out / "01_good.results.json").read_text())
    assert results == {"params.n": 3, "params.profile": "smoke", "demo.n": 3}
    claims = json.loads((out / "claims.json").read_text())
    assert [c["verdict"] for c in claims] == ["reproduced"]
    report = (out / "report.md").read_text()
    assert "ratio is at least 2" in report and "**reproduced**" in report
    assert "**failed**" in report and "RuntimeError" in report
    assert "<table>" in (out / "report.html").read_text()
    run = json.loads((out / "run.json").read_text())
    assert [n["status"] for n in run["notebooks"]] == ["ok", "failed"]
    assert run["environment"]["cpu"]["logical_cores"] >= 1

    assert run_collection("smoke", "01*", out, collection, timeout_s=300) == 0
    assert (out.parent / "previous" / "02_broken.log").exists(), "the previous run is kept"


def test_a_committed_run_starts_from_empty_stores(collection, tmp_path, monkeypatch):
    monkeypatch.setenv("FSL_STORE_DIR", str(tmp_path / "my-stores"))
    body = 'import os\nfrom helpers import record\nrecord("demo.stores", os.environ["FSL_STORE_DIR"])'
    write_notebook(collection / "04_stores.ipynb", body)
    out = tmp_path / "committed"
    assert run_collection("smoke", "04*", out, collection, timeout_s=300, in_place=True) == 0
    stores = json.loads((out / "04_stores.results.json").read_text())["demo.stores"]
    assert stores.endswith("/stores") and "my-stores" not in stores


def test_timeout_kills_the_notebook(collection, tmp_path):
    write_notebook(collection / "03_slow.ipynb", "import time\ntime.sleep(120)")
    out = tmp_path / "out"
    assert run_collection("smoke", "03*", out, collection, timeout_s=8) == 1
    assert json.loads((out / "run.json").read_text())["notebooks"][0]["status"] == "timeout"


def test_bad_input_fails_fast_and_touches_nothing(collection, tmp_path, capsys):
    out = tmp_path / "latest"
    out.mkdir()
    (out / "keep.txt").write_text("earlier results")
    assert main(["run", "--profile", "nope", "--out", str(out), "--notebooks", str(collection)]) == 2
    assert "Unknown profile 'nope'" in capsys.readouterr().err
    assert (
        main(
            ["run", "--profile", "smoke", "--only", "zz*", "--out", str(out), "--notebooks", str(collection)]
        )
        == 2
    )
    assert "matches no notebook" in capsys.readouterr().err
    assert (out / "keep.txt").read_text() == "earlier results"


def test_cli_module_entry_point_reports_bad_profile():
    done = subprocess.run(
        [sys.executable, "-m", "helpers", "run", "--profile", "nope"], capture_output=True, text=True
    )
    assert done.returncode == 2
    assert done.stderr.strip() == "error: Unknown profile 'nope': use one of 'smoke', 'cpu', 'gpu', 'auto'."


def test_clean_metadata_drops_papermill_keys(tmp_path):
    path = tmp_path / "n.ipynb"
    write_notebook(path, "1")
    nb = nbformat.read(path, as_version=4)
    nb.metadata["papermill"] = {"duration": 1}
    nb.cells[1].metadata["papermill"] = {"status": "completed"}
    nb.cells[1].metadata["execution"] = {"iopub.status.busy": "x"}
    nbformat.write(nb, path)
    clean_metadata(path)
    cleaned = nbformat.read(path, as_version=4)
    assert "papermill" not in cleaned.metadata
    assert cleaned.cells[1].metadata == {"tags": ["parameters"]}


def test_clean_command_cleans_files_in_place(tmp_path):
    path = tmp_path / "n.ipynb"
    write_notebook(path, "1")
    nb = nbformat.read(path, as_version=4)
    nb.metadata["papermill"] = {"duration": 1}
    nbformat.write(nb, path)
    assert main(["clean", str(path)]) == 0
    assert "papermill" not in nbformat.read(path, as_version=4).metadata


def test_readme_claims_block_is_regenerated_from_a_run(tmp_path, monkeypatch):
    monkeypatch.delenv("FSL_OUT_DIR", raising=False)
    monkeypatch.setenv("FSL_NOTEBOOK", "01_good")
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    entry = Claim("x.ratio", "a talk", "ratio is at least 2", 2, "x", at_least(2)).assess(1.5)
    (run_dir / "01_good.claims.json").write_text(json.dumps([entry]))
    write_report(run_dir, "cpu", [{"stem": "01_good", "status": "ok", "seconds": 1.0, "error": ""}])
    readme = tmp_path / "README.md"
    readme.write_text(
        "intro\n<!-- notebooks:start -->\n<!-- notebooks:end -->\n<!-- claims:start -->\nold\n<!-- claims:end -->\noutro\n"
    )
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    write_notebook(notebooks / "01_good.ipynb", "1")
    nb = nbformat.read(notebooks / "01_good.ipynb", as_version=4)
    nb.metadata["fsl"] = {"question": "Is the ratio at least 2?", "gpu": "none"}
    nbformat.write(nb, notebooks / "01_good.ipynb")
    update_readme_notebooks_and_claims(readme, run_dir, notebooks)
    text = readme.read_text()
    assert "old" not in text and text.startswith("intro") and text.endswith("outro\n")
    assert "| [01_good](notebooks/01_good.ipynb) | Is the ratio at least 2? | 0.0 min | none |" in text
    assert "| **all** | **1** |" in text and "profile `cpu`" in text
    page = (tmp_path / "docs" / "claims.md").read_text()
    assert "ratio is at least 2" in page and "**not reproduced**" in page
    with pytest.raises(ValueError, match="is not one: it holds no run.json"):
        update_readme_notebooks_and_claims(readme, tmp_path / "missing", notebooks)
