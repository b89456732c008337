"""Hostile trials, round two (issue 27): the commands that write committed files, a runner that dies hard, values
read as the user typed them, and failures that quote their cause. Each trial ends in ok or one clear sentence,
loses nothing and leaves nothing running. Notebooks here are tiny ones written into tmp_path; runs that need no
execution are written by `write_report` directly; every address is this machine's loopback."""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pandas as pd
import psutil
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from helpers.collection.cli import main
from helpers.collection.comparison_pages import README_END, README_START
from helpers.collection.notebooks import collection_notebooks
from helpers.collection.report import INDEX_END, INDEX_START, write_report
from helpers.collection.report import README_END as CLAIMS_END
from helpers.collection.report import README_START as CLAIMS_START
from helpers.collection.run_folders import RunFolder, runs_folder
from helpers.collection.runner import ANSI_ESCAPE, run_collection
from helpers.core import results
from helpers.core.cache import manifest_path
from helpers.core.claims import Claim, at_least
from helpers.core.params import declared_kind, resolve
from helpers.datasets.airline import airline_parquet, make_airline

from .fixtures import HANGS, ROOT, mark, start_runner  # noqa: F401


def write_notebook(path: Path, body: str, parameters: str = 'marker = ""') -> None:
    """A tiny collection notebook: a title, a parameters cell, one code cell, and the README index's metadata."""
    params = new_code_cell(f'profile = "auto"\n{parameters}', metadata={"tags": ["parameters"]})
    nb = new_notebook(cells=[new_markdown_cell("# demo"), params, new_code_cell(body)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["fsl"] = {"question": "Does it run?", "gpu": "none"}
    nbformat.write(nb, path)


def wait_for(path: Path, process: subprocess.Popen, timeout_s: float = 180) -> None:
    """Wait until a notebook wrote `path` (or its runner ended, or the time ran out)."""
    deadline = time.monotonic() + timeout_s
    while not path.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert path.exists(), process.communicate(timeout=60)


def gone(pid: int) -> bool:
    """True when `pid` has ended (a zombie awaiting its parent counts as ended)."""
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def one_sentence(err: str) -> str:
    """The error line a command printed, checked to be one sentence without a traceback."""
    text = err.strip()
    assert text.startswith("error: ") and "\n" not in text and "Traceback" not in text, text
    assert text.endswith("."), text
    return text


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under `folder` with its bytes (hidden ones included)."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


# --- commands that write committed files ------------------------------------------------------------------------


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project root of two notebooks with a README carrying every generated block; the current folder."""
    (tmp_path / "notebooks").mkdir()
    for stem in ("01_first", "02_second"):
        write_notebook(tmp_path / "notebooks" / f"{stem}.ipynb", "1")
    (tmp_path / "README.md").write_text(
        "\n\n".join(
            ["# demo", INDEX_START, INDEX_END, CLAIMS_START, CLAIMS_END, README_START, README_END, "end\n"]
        )
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(results.OUT_DIR_ENV, raising=False)
    return tmp_path


def finished_run(
    folder: Path, profile: str, statuses: dict[str, str], state: str | None = None, note: str = ""
) -> Path:
    """A run folder as the runner leaves it (one claim per notebook), written without executing anything."""
    folder.mkdir(parents=True)
    claim = Claim("demo.claim", "a test", "three is at least two", 2, "x", at_least(2)).assess(3.0)
    for stem in statuses:
        (folder / f"{stem}.claims.json").write_text(json.dumps([{**claim, "notebook": stem}]))
    runs = [
        {"stem": s, "status": st, "seconds": 1.0, "error": "" if st == "ok" else "boom"}
        for s, st in statuses.items()
    ]
    write_report(folder, profile, runs, state=state, note=note)
    return folder


BOTH_OK = {"01_first": "ok", "02_second": "ok"}


def test_publish_refuses_partial_or_reportless_runs_and_never_loses_the_reference(project, capsys):
    cpu = finished_run(project / "runs" / "cpu", "cpu", BOTH_OK)
    assert main(["publish", str(cpu)]) == 0
    (reference,) = (project / "docs" / "results").iterdir()
    machine = json.loads((cpu / "run.json").read_text())["machine"]
    assert reference.name == f"{machine}-cpu", "the default folder names machine and profile"
    before = snapshot(project / "docs")
    capsys.readouterr()

    smoke_two_of_one = finished_run(project / "runs" / "smoke", "smoke", {"01_first": "ok"})
    assert main(["publish", str(smoke_two_of_one)]) == 2
    assert "it ran 1 of the 2 notebooks" in one_sentence(capsys.readouterr().err)
    reportless = project / "runs" / "reportless"
    shutil.copytree(cpu, reportless)
    (reportless / "report.md").unlink()
    assert main(["publish", str(reportless)]) == 2
    assert "it has no report.md" in one_sentence(capsys.readouterr().err)
    failing_mid_copy = project / "runs" / "failing"
    shutil.copytree(cpu, failing_mid_copy)
    (failing_mid_copy / "zz.png").mkdir()  # a figure that cannot be copied, after everything else was written
    assert main(["publish", str(failing_mid_copy)]) == 2
    assert "Is a directory" in one_sentence(capsys.readouterr().err)
    assert snapshot(project / "docs") == before, "the reference is intact and nothing is left aside"

    assert main(["publish", str(cpu)]) == 0, "this machine may update its own reference"
    assert snapshot(project / "docs") == before
    smoke = finished_run(project / "runs" / "smoke-all", "smoke", BOTH_OK)
    assert main(["publish", str(smoke)]) == 0
    assert sorted(p.name for p in (project / "docs" / "results").iterdir()) == [
        f"{machine}-cpu",
        f"{machine}-smoke",
    ]
    capsys.readouterr()
    made_by_hand = project / "docs" / "results" / "box-cpu"
    made_by_hand.mkdir()
    (made_by_hand / "run.json").write_text(json.dumps({"machine": "other-box", "profile": "cpu"}))
    assert main(["publish", str(cpu), "--name", "box"]) == 2
    err = one_sentence(capsys.readouterr().err)
    assert "holds the reference run of machine other-box, profile cpu" in err and "--name" in err
    assert json.loads((made_by_hand / "run.json").read_text())["machine"] == "other-box"


def test_readme_and_compare_readme_refuse_unfinished_runs(project, capsys):
    timed_out = finished_run(project / "runs" / "timeout", "cpu", {"01_first": "ok", "02_second": "timeout"})
    readme = (project / "README.md").read_bytes()
    assert main(["readme", "--run", str(timed_out)]) == 2
    assert "its notebooks 02_second timeout did not finish ok" in one_sentence(capsys.readouterr().err)
    assert main(["compare", str(timed_out), "--readme", "README.md"]) == 2
    assert "`python -m helpers compare --readme` writes committed files only" in one_sentence(
        capsys.readouterr().err
    )
    assert (project / "README.md").read_bytes() == readme
    complete = finished_run(project / "runs" / "complete", "cpu", BOTH_OK)
    assert main(["readme", "--run", str(complete)]) == 0
    assert main(["compare", str(complete), "--readme", "README.md"]) == 0
    text = (project / "README.md").read_text()
    assert "| [02_second](notebooks/02_second.ipynb) | Does it run? |" in text
    assert "three is at least two" in (project / "docs" / "claims.md").read_text()
    assert "three is at least two" in (project / "docs" / "comparison.md").read_text()
    written = [*project.iterdir(), *(project / "docs").iterdir()]
    assert not [p for p in written if p.name.endswith(".tmp")], (
        "the README and its pages are replaced atomically"
    )


def test_commands_outside_the_project_root_say_so(project, tmp_path, monkeypatch, capsys):
    run = finished_run(project / "runs" / "cpu", "cpu", BOTH_OK)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert main(["compare", "--references", str(run)]) == 2
    assert "No docs/results folder in" in one_sentence(capsys.readouterr().err)
    assert main(["compare", "--readme", "README.md"]) == 2
    assert "No docs/results folder in" in one_sentence(capsys.readouterr().err)
    assert main(["readme", "--run", str(run)]) == 2
    assert "No README.md in" in one_sentence(capsys.readouterr().err)
    assert list(elsewhere.iterdir()) == []


def test_compare_marks_an_interrupted_run(project, capsys):
    complete = finished_run(project / "runs" / "complete", "cpu", BOTH_OK)
    statuses = {"01_first": "interrupted", "02_second": "not run"}
    stopped = finished_run(project / "runs" / "stopped", "cpu", statuses, "interrupted", "by SIGTERM")
    assert main(["compare", str(complete), str(stopped), "--out", str(project / "cmp")]) == 0
    out = capsys.readouterr().out
    assert "warning: Run " in out and "was interrupted by SIGTERM" in out and "02_second not run" in out
    assert "was interrupted by SIGTERM" in (project / "cmp" / "comparison.md").read_text()


def test_compare_names_damaged_run_files_and_refuses_a_file_as_out(project, capsys):
    run = finished_run(project / "runs" / "cpu", "cpu", BOTH_OK)
    truncated = project / "runs" / "truncated"
    shutil.copytree(run, truncated)
    claims = truncated / "claims.json"
    claims.write_text(claims.read_text()[:40])
    assert main(["compare", str(truncated)]) == 2
    assert f"{claims} is not valid JSON" in one_sentence(capsys.readouterr().err)
    bare = project / "runs" / "bare"
    shutil.copytree(run, bare)
    data = json.loads((bare / "run.json").read_text())
    del data["environment"]
    (bare / "run.json").write_text(json.dumps(data))
    assert main(["compare", str(bare)]) == 2
    assert f"{bare / 'run.json'} lacks environment" in one_sentence(capsys.readouterr().err)
    a_file = project / "comparison.txt"
    a_file.write_text("mine")
    assert main(["compare", str(run), "--out", str(a_file)]) == 2
    assert "pass --out a folder" in one_sentence(capsys.readouterr().err)
    assert a_file.read_text() == "mine"


# --- a runner that dies hard ---------------------------------------------------------------------------------------


@pytest.fixture
def collection(tmp_path: Path) -> Path:
    folder = tmp_path / "notebooks"
    folder.mkdir()
    write_notebook(folder / "01_good.ipynb", "print('fine')")
    write_notebook(folder / "02_hangs.ipynb", HANGS)
    return folder


def runner_in_the_hanging_notebook(
    collection: Path, out: Path, marker: Path
) -> tuple[subprocess.Popen, psutil.Process]:
    """The runner started on 02_hangs into `out`, once its kernel wrote `marker`: the runner and its papermill."""
    run = start_runner(
        "--only", "02*", "--out", str(out), "--notebooks", str(collection), "-p", f"marker={marker}"
    )
    wait_for(marker, run)
    (papermill,) = psutil.Process(run.pid).children()
    return run, papermill


@pytest.mark.usefixtures("mark")
def test_sigkill_of_the_runner_takes_papermill_and_the_next_start_cleans_up(collection, tmp_path, capsys):
    out, marker = tmp_path / "latest", tmp_path / "started.txt"
    killed, papermill = runner_in_the_hanging_notebook(collection, out, marker)
    killed.send_signal(signal.SIGKILL)  # what the OOM killer does: no handler runs
    killed.communicate(timeout=60)
    deadline = time.monotonic() + 30
    while not gone(papermill.pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert gone(papermill.pid), "papermill outlived its runner (no parent-death signal)"
    (stale,) = runs_folder(out).iterdir()
    assert json.loads((stale / "run.json").read_text())["state"] == "running"

    assert run_collection("smoke", "01*", out, collection, timeout_s=300) == 0
    said = capsys.readouterr().out
    assert f"The run in {stale} was left unfinished: its runner (pid {killed.pid}) ended" in said
    run = json.loads((stale / "run.json").read_text())
    assert run["state"] == "abandoned" and f"pid {killed.pid}" in run["note"]
    assert all(gone(int(pid)) for pid in marker.read_text().split()), (
        "the kernel and what it started are ended"
    )
    assert json.loads((out / "run.json").read_text())["state"] == "complete"


@pytest.mark.usefixtures("mark")
def test_a_killed_papermill_is_reported_by_its_signal(collection, tmp_path):
    out, marker = tmp_path / "latest", tmp_path / "started.txt"
    run, papermill = runner_in_the_hanging_notebook(collection, out, marker)
    papermill.send_signal(signal.SIGKILL)
    run.communicate(timeout=120)
    assert run.returncode == 1
    (notebook,) = json.loads((out / "run.json").read_text())["notebooks"]
    assert (notebook["status"], notebook["error"]) == ("failed", "papermill ended by signal 9 (SIGKILL)")
    assert all(gone(int(pid)) for pid in marker.read_text().split())


FILLS_THE_DISK = """
import os
try:
    with open(os.path.join(os.environ["FSL_OUT_DIR"], "filler.bin"), "wb") as filler:
        while True:
            filler.write(bytes(1 << 16))
            filler.flush()
except OSError as error:
    print("the disk is full:", error.strerror)
"""


@pytest.mark.usefixtures("mark")
def test_a_full_disk_ends_the_run_in_one_sentence_and_leaves_nothing_running(tmp_path):
    if shutil.which("unshare") is None or subprocess.run(["unshare", "-rm", "true"]).returncode != 0:
        pytest.skip("needs `unshare -rm` to mount a small tmpfs as the full disk")
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    write_notebook(notebooks / "01_fills.ipynb", FILLS_THE_DISK)
    earlier = tmp_path / "earlier"
    folder = RunFolder.open(earlier / "latest")
    (folder.path / "report.md").write_text("the earlier complete report")
    results.write_json_atomic(folder.path / "run.json", {"state": "complete"})
    folder.publish()
    folder.close()
    disk, after = tmp_path / "disk", tmp_path / "after"
    disk.mkdir()
    after.mkdir()
    script = (
        'mount -t tmpfs -o size=2m tmpfs "$1" && cp -r "$2/." "$1/" && '
        '"$3" -m helpers run --profile smoke --out "$1/latest" --notebooks "$4" >"$5/out" 2>"$5/err"; '
        'echo $? >"$5/rc"; cp -r "$1/." "$5/disk/"'
    )
    subprocess.run(
        ["unshare", "-rm", "sh", "-c", script, "sh", disk, earlier, sys.executable, notebooks, after],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=300,
        check=True,
    )
    assert (after / "rc").read_text().strip() == "2"
    err = one_sentence((after / "err").read_text().splitlines()[-1])
    assert "The run stopped: No space left on device" in err and "(free some space, then rerun)" in err
    assert (after / "disk" / "latest" / "report.md").read_text() == "the earlier complete report"
    for run_json in (after / "disk" / "latest.runs").glob("*/run.json"):
        assert json.loads(run_json.read_text())["state"] == "abandoned"


@pytest.mark.usefixtures("mark")
def test_closed_output_relative_paths_and_settings_resolve_where_the_user_stands(tmp_path):
    work = tmp_path / "work"
    (work / "notebooks").mkdir(parents=True)
    body = (
        "import os\n"
        "from helpers import record, resolve\n"
        "from helpers.core.results import cache_dir, store_dir\n"
        'p = resolve({"data_path": str}, globals())\n'
        'record("where.data", p.data_path)\n'
        'record("where.cache", str(cache_dir()))\n'
        'record("where.store", str(store_dir("mlflow")))\n'
        'record("where.cwd", os.getcwd())\n'
    )
    write_notebook(work / "notebooks" / "01_paths.ipynb", body, "data_path = None  # a file")
    (work / "data.csv").write_text("a\n1\n")
    settings = {results.CACHE_DIR_ENV: "mycache", results.STORE_DIR_ENV: "mystore"}
    run = start_runner("-p", "data_path=data.csv", "--out", "out", cwd=work, env=settings)
    run.stdout.close()  # `… | head` that has read its lines
    err = run.stderr.read()
    assert run.wait(timeout=300) == 0, err
    assert "standard output was closed (Broken pipe); the run goes on" in err and "Traceback" not in err
    where = json.loads((work / "out" / "01_paths.results.json").read_text())
    assert where["where.cwd"] == str(work / "notebooks"), "the notebook ran in its own folder"
    assert where["where.data"] == str(work / "data.csv")
    assert where["where.cache"] == str(work / "mycache") and where["where.store"] == str(
        work / "mystore" / "mlflow"
    )
    assert json.loads((work / "out" / "run.json").read_text())["state"] == "complete"


# --- values read as the user typed them ----------------------------------------------------------------------


def profile_table(notebook: Path) -> dict:
    """A notebook's PROFILES table, evaluated from its source with only the names it uses."""
    for cell in nbformat.read(notebook, as_version=4).cells:
        if cell.cell_type != "code" or "PROFILES = {" not in cell.source:
            continue
        tree = ast.parse(cell.source)
        table = next(
            n
            for n in tree.body
            if isinstance(n, ast.Assign) and getattr(n.targets[0], "id", "") == "PROFILES"
        )
        used = {n.id for n in ast.walk(table.value) if isinstance(n, ast.Name)}
        needed = [
            node
            for node in tree.body
            if (isinstance(node, ast.ImportFrom) and {a.asname or a.name for a in node.names} & used)
            or (isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) in used)
        ]
        namespace: dict = {}
        exec(compile(ast.Module([*needed, table], []), str(notebook), "exec"), namespace)
        return namespace["PROFILES"]
    raise AssertionError(f"{notebook} has no PROFILES table")


NOTEBOOKS = collection_notebooks(ROOT / "notebooks")


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_every_parameter_declares_a_type(notebook):
    for name, entry in profile_table(notebook).items():
        assert declared_kind(name, entry) in ("bool", "int", "float", "str", "list"), (
            f"{notebook.stem}: {name}"
        )


@pytest.mark.parametrize(
    ("stem", "given", "message"),
    [
        (
            "09_albert_parameter_efficiency",
            {"memory_budget_gib": "lots"},
            "memory_budget_gib='lots' must be a number",
        ),
        ("01_rapids_dataframes", {"data_path": 2008}, "data_path=2008 must be a string, not int"),
        ("03_hyperparameter_search", {"tracking_uri": 5}, "tracking_uri=5 must be a string"),
        (
            "10_albert_sentence_order",
            {"corpus_folder_path": True},
            "corpus_folder_path=True must be a string",
        ),
    ],
)
def test_parameters_that_default_to_none_are_type_checked(stem, given, message, monkeypatch):
    monkeypatch.delenv(results.OUT_DIR_ENV, raising=False)
    table = profile_table(ROOT / "notebooks" / f"{stem}.ipynb")
    with pytest.raises(ValueError, match=re.escape(message)) as error:
        resolve(table, {"profile": "smoke", **given})
    assert "\n" not in str(error.value) and str(error.value).endswith(".")


def test_a_table_entry_without_a_type_is_refused():
    with pytest.raises(ValueError, match=r'declares no type .* e\.g\. "hub_id": str'):
        resolve({"hub_id": None}, {"profile": "smoke"})


def test_a_bad_value_under_papermill_shows_one_sentence_not_a_traceback(tmp_path):
    notebook, output = tmp_path / "01_demo.ipynb", tmp_path / "out.ipynb"
    body = 'from helpers import resolve\np = resolve({"budget": (4, 16, 32)}, globals())'
    write_notebook(notebook, body, "budget = None  # evaluations")
    papermill = str(Path(sys.executable).with_name("papermill"))
    args = [papermill, str(notebook), str(output), "-p", "profile", "smoke", "-p", "budget", "4.0"]
    done = subprocess.run(args, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    sentence = "ValueError: Parameter budget=4.0 must be a whole number (e.g. 4); pass -p budget 4."
    assert done.returncode != 0
    printed = ANSI_ESCAPE.sub("", done.stderr)
    assert printed.rstrip().endswith(f'Exception encountered at "In [3]":\n{sentence}'), printed[-2000:]
    assert "params.py" not in printed, "the notebook's own traceback is left out"
    errors = [
        o for c in nbformat.read(output, as_version=4).cells for o in c.get("outputs", []) if "ename" in o
    ]
    assert [(e.ename, e.traceback) for e in errors] == [("ValueError", [sentence])]


# --- caches and stores --------------------------------------------------------------------------------------------


def test_a_cache_relabelled_with_another_seed_is_rebuilt(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(results.CACHE_DIR_ENV, str(tmp_path / "cache"))
    seed0 = airline_parquet(500, seed=0)
    relabelled = seed0.with_name(seed0.name.replace("seed0", "seed1"))
    shutil.copyfile(seed0, relabelled)
    manifest = json.loads(manifest_path(seed0).read_text())
    manifest["holds"]["seed"] = 1  # the manifest claims seed 1 for the copy; the data is seed 0's
    manifest["files"] = {relabelled.name: manifest["files"][seed0.name]}
    manifest_path(relabelled).write_text(json.dumps(manifest))
    capsys.readouterr()
    assert airline_parquet(500, seed=1) == relabelled
    assert "has a manifest whose seal does not match what it claims" in capsys.readouterr().out
    pd.testing.assert_frame_equal(pd.read_parquet(relabelled), make_airline(500, seed=1, on_gpu=False))


RACE = """
import sys, time
import mlflow  # imported before the start line, so that both processes reach the store at once
from helpers.hpo.tracking import Tracker
time.sleep(max(0.0, float(sys.argv[2]) - time.time()))
Tracker(sys.argv[1], "hpo-airline-random-forest", "cpu", "test")
"""


def test_two_first_runs_on_one_new_store_both_open_it(tmp_path):
    uri = f"sqlite:///{tmp_path / 'store' / 'mlflow.db'}"
    start = str(time.time() + 4)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    pair = [
        subprocess.Popen([sys.executable, "-c", RACE, uri, start], stderr=subprocess.PIPE, text=True, env=env)
        for _ in range(2)
    ]
    for process in pair:
        _, err = process.communicate(timeout=120)
        assert process.returncode == 0, err[-3000:]
    from mlflow import MlflowClient

    names = [e.name for e in MlflowClient(uri).search_experiments()]
    assert names.count("hpo-airline-random-forest") == 1


def closed_port() -> int:
    """A loopback port that nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_closed_tracking_server_fails_fast_in_one_sentence(monkeypatch):
    from helpers.hpo.tracking import Tracker, resolve_tracking_uri

    port = closed_port()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"http://127.0.0.1:{port}")
    started = time.monotonic()
    with pytest.raises(
        ValueError, match=rf"server at http://127\.0\.0\.1:{port} cannot be reached \(Connection"
    ):
        Tracker(resolve_tracking_uri(None), "exp", "cpu", "test")
    assert time.monotonic() - started < 10


def test_an_unreachable_spark_master_falls_back_to_sequential_trials():
    from helpers.hpo.spark import unavailable_reason

    master = f"spark://127.0.0.1:{closed_port()}"
    started = time.monotonic()
    reason = unavailable_reason(master)
    assert reason is not None and reason.startswith(f"The Spark master {master} cannot be reached")
    assert "Hyperopt runs its trials one after another" in reason and time.monotonic() - started < 10
