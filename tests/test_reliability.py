"""Hostile-but-fair trials (issue 14): interrupts by signal, concurrent runs, corrupted caches and stores, bad runner
arguments. Each must end in one clear sentence, a correct rebuild, or a preserved earlier run — and leave no
process behind. Notebooks here are tiny ones written into tmp_path, so the whole file runs in about a minute."""

from __future__ import annotations

import json
import signal
import sqlite3
import time
from pathlib import Path

import nbformat
import pandas as pd
import psutil
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from helpers.collection.cli import main, parse_parameter
from helpers.collection.report import write_report
from helpers.collection.run_folders import RunFolder, previous_folder, runs_folder
from helpers.collection.runner import run_collection
from helpers.core import results
from helpers.core.cache import MANIFEST_SUFFIX, manifest_path, seal, verified
from helpers.datasets.airline import airline_parquet, make_airline

from .fixtures import HANGS, mark, start_runner  # noqa: F401

PARTIAL_THEN_FAILS = """
from helpers.core.claims import Claim, at_least
from helpers.core.results import record
record("demo.n", n)
Claim("demo.partial", "a test", "n is at least 2", 2, "x", at_least(2)).assess(n)
def load():
    try:
        import a_module_that_is_nowhere  # noqa: F401
    except ImportError:
        raise ValueError("the real reason: n must be even")
load()
"""


def write_notebook(path: Path, body: str) -> None:
    params = new_code_cell('profile = "auto"\nn = 3\nmarker = ""', metadata={"tags": ["parameters"]})
    nb = new_notebook(cells=[params, new_code_cell(body)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)


@pytest.fixture
def collection(tmp_path: Path) -> Path:
    folder = tmp_path / "notebooks"
    folder.mkdir()
    write_notebook(folder / "01_good.ipynb", 'from helpers.core.results import record\nrecord("demo.n", n)')
    write_notebook(folder / "02_fails.ipynb", PARTIAL_THEN_FAILS)
    write_notebook(folder / "03_hangs.ipynb", HANGS)
    return folder


def _finished_run(out: Path, text: str) -> None:
    """A finished run published as `out`, made without executing anything."""
    folder = RunFolder.open(out)
    (folder.path / "report.md").write_text(text)
    results.write_json_atomic(folder.path / "run.json", {"state": "complete"})
    folder.publish()
    folder.close()


# --- runs are transactions ---------------------------------------------------------------------------------------


@pytest.mark.usefixtures("mark")
def test_failed_notebook_quotes_its_exception_and_marks_its_claims(collection, tmp_path):
    out = tmp_path / "reports" / "latest"
    assert run_collection("smoke", "02*", out, collection, 300, parameters={"n": 7}) == 1
    assert (out / "02_fails.ipynb").exists(), "a run with failures reported still becomes latest"
    run = json.loads((out / "run.json").read_text())
    assert run["state"] == "failures"
    assert run["notebooks"][0]["error"] == "ValueError: the real reason: n must be even"
    assert json.loads((out / "02_fails.results.json").read_text())["demo.n"] == 7, "-p reached the notebook"
    claim = json.loads((out / "claims.json").read_text())[0]
    assert claim["verdict"] == "reproduced" and claim["notebook_status"] == "failed"
    report = (out / "report.md").read_text()
    assert "(notebook failed: may be partial)" in report and "ValueError: the real reason" in report
    assert not list(out.rglob("*.tmp")) and not list(runs_folder(out).iterdir())


def test_claims_of_a_timed_out_notebook_are_marked(tmp_path):
    entry = {
        "id": "x",
        "notebook": "03_slow",
        "source": "s",
        "statement": "a claim",
        "published": 2,
        "measured": 3.0,
        "unit": "x",
        "verdict": "reproduced",
        "reason": "r",
        "rule": {},
    }
    (tmp_path / "03_slow.claims.json").write_text(json.dumps([entry]))
    write_report(
        tmp_path, "smoke", [{"stem": "03_slow", "status": "timeout", "seconds": 9.0, "error": "killed"}]
    )
    assert json.loads((tmp_path / "claims.json").read_text())[0]["notebook_status"] == "timeout"
    assert "**reproduced** (notebook timed out: may be partial)" in (tmp_path / "report.md").read_text()


@pytest.mark.usefixtures("mark")
@pytest.mark.parametrize(
    "signum", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP]
)  # SIGHUP: a closed terminal
def test_interrupt_ends_every_process_and_keeps_the_finished_run(collection, tmp_path, signum):
    out = tmp_path / "reports" / "latest"
    _finished_run(out, "the earlier complete report")
    marker = tmp_path / "started.txt"
    runner = start_runner(
        "--only", "03*", "--out", str(out), "--notebooks", str(collection), "-p", f"marker={marker}"
    )
    deadline = time.monotonic() + 180
    while not marker.exists() and runner.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert marker.exists(), runner.communicate()
    pids = [int(pid) for pid in marker.read_text().split()]  # kernel, its child, an escaped grandchild
    runner.send_signal(signum)
    _, err = runner.communicate(timeout=60)
    assert runner.returncode == 128 + signum
    assert f"Interrupted by {signum.name}" in err and "marked interrupted" in err
    assert (out / "report.md").read_text() == "the earlier complete report"
    (interrupted,) = runs_folder(out).iterdir()
    assert json.loads((interrupted / "run.json").read_text())["state"] == "interrupted"
    assert "**Interrupted**" in (interrupted / "report.md").read_text()
    for pid in pids:
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


@pytest.mark.usefixtures("mark")
def test_concurrent_runs_on_one_out_both_survive(collection, tmp_path):
    out = tmp_path / "latest"
    runners = [
        start_runner("--only", "01*", "--out", str(out), "--notebooks", str(collection)) for _ in range(2)
    ]
    for runner in runners:
        runner.communicate(timeout=300)
        assert runner.returncode == 0
    assert not list(runs_folder(out).iterdir())
    for folder in (out, previous_folder(out)):
        assert json.loads((folder / "run.json").read_text())["state"] == "complete"
        assert sorted(p.name for p in folder.glob("*.results.json")) == ["01_good.results.json"]


def test_finished_runs_rotate_and_old_ones_are_pruned(tmp_path):
    out = tmp_path / "latest"
    out.mkdir()
    (out / "run.json").write_text("{}")
    (out / "report.md").write_text("from an earlier runner")
    _finished_run(out, "new")
    assert (previous_folder(out) / "report.md").read_text() == "from an earlier runner"
    for index in range(8):
        _finished_run(out, f"run {index}")
    assert (out / "report.md").read_text() == "run 7" and (
        previous_folder(out) / "report.md"
    ).read_text() == "run 6"
    kept = sorted((p / "report.md").read_text() for p in runs_folder(out).iterdir())
    assert kept == [f"run {i}" for i in range(1, 6)]


# --- runner arguments -------------------------------------------------------------------------------------------


def _refused(capsys, *args: str) -> str:
    assert main(["run", "--profile", "smoke", *args]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err and "Traceback" not in err
    return err


def test_bad_runner_arguments_get_one_sentence(collection, tmp_path, capsys):
    nb = ["--notebooks", str(collection), "--only", "01*"]
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    assert "is a file" in _refused(capsys, "--out", str(a_file), *nb)
    stranger = tmp_path / "holiday-photos"
    stranger.mkdir()
    (stranger / "photo.jpg").write_text("x")
    assert "holds no run" in _refused(capsys, "--out", str(stranger), *nb)
    assert "folder you can write" in _refused(capsys, "--out", "/proc/fsl-nowhere/latest", *nb)
    assert "which is a file" in _refused(capsys, "--out", str(a_file / "latest"), *nb)
    for timeout in ("-5", "0", "nan"):
        assert "not a positive number of seconds" in _refused(capsys, "--timeout", timeout, *nb)
    err = _refused(capsys, "-p", "m=1", "-p", "nn=2", "--out", str(tmp_path / "o"), *nb)
    assert (
        "has no parameter 'm', 'nn'" in err
        and "(did you mean 'n'?)" in err
        and "declares profile, n, marker" in err
    )
    assert "not NAME=VALUE" in _refused(capsys, "-p", "n", *nb)
    assert "--profile" in _refused(capsys, "-p", "profile=cpu", *nb)
    assert "--in-place" in _refused(capsys, "-p", "n=1", "--in-place", *nb)
    assert (stranger / "photo.jpg").exists() and not (tmp_path / "o.runs").exists()


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("n=2000", 2000),
        ("n=010", 10),  # papermill's -p gives 10 (YAML 1.1 would read octal 8)
        ("x=2.5", 2.5),
        ("x=1e-3", 0.001),
        ("s=abc", "abc"),
        ("t=1:30", "1:30"),  # YAML 1.1 would read a sexagesimal 90
        ("l=[0, 1]", [0, 1]),
        ("m={a: 1}", {"a": 1}),
        ("l=[0, 1", "[0, 1"),
        ("b=True", True),
        ("b=true", "true"),
        ("z=None", None),
        ("d=2026-01-01", "2026-01-01"),
        ("q=a=b", "a=b"),
    ],
)
def test_parameter_values_are_read_like_papermill(text, value):
    assert parse_parameter(text)[1] == value


# --- caches -----------------------------------------------------------------------------------------------------


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv(results.CACHE_DIR_ENV, str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_truncated_parquet_cache_is_rebuilt(cache, capsys):
    path = airline_parquet(4000, seed=0)
    path.write_bytes(path.read_bytes()[:3000])
    assert airline_parquet(4000, seed=0) == path
    assert f"Cache {path} differs in size from its manifest" in capsys.readouterr().out
    pd.testing.assert_frame_equal(pd.read_parquet(path), make_airline(4000, seed=0, on_gpu=False))


def test_valid_but_wrong_parquet_cache_is_rebuilt(cache, capsys):
    small = airline_parquet(600, seed=0)
    path = airline_parquet(4000, seed=0)
    manifest = json.loads(manifest_path(path).read_text())
    path.write_bytes(small.read_bytes())  # a valid file of 600 rows, with a manifest forged to match it
    manifest["files"] = json.loads(manifest_path(small).read_text())["files"]
    manifest["files"] = {path.name: manifest["files"][small.name]}
    manifest["seal"] = seal(manifest["holds"], manifest["files"])  # forged with care: only the data can tell
    manifest_path(path).write_text(json.dumps(manifest))
    capsys.readouterr()
    airline_parquet(4000, seed=0)
    assert "holds rows=600 where 4000 was asked; rebuilding it." in capsys.readouterr().out
    assert len(pd.read_parquet(path)) == 4000


def test_cache_without_manifest_is_rebuilt_and_stale_temporaries_swept(cache, capsys):
    cache.mkdir()
    path = cache / "airline_synthetic_500_seed0_numpy.parquet"
    make_airline(600, seed=0, on_gpu=False).to_parquet(path)  # an older version's cache: no manifest
    stale = cache / f".{path.name}.building-999999999"
    stale.write_text("left by a killed build")
    airline_parquet(500, seed=0)
    assert "has no manifest" in capsys.readouterr().out
    assert len(pd.read_parquet(path)) == 500 and not stale.exists()
    assert path.stat().st_mode & 0o777 == results.file_mode()


def test_etl_csv_cut_short_is_rebuilt(cache, capsys):
    from helpers.rapids.etl import prepare_inputs

    inputs = prepare_inputs(airline_parquet(3000, seed=1), rows=2000)
    lines = inputs.csv.read_text().splitlines(keepends=True)
    inputs.csv.write_text("".join(lines[: len(lines) // 2]))
    capsys.readouterr()
    again = prepare_inputs(airline_parquet(3000, seed=1), rows=2000)
    assert f"Cache {inputs.csv.parent} differs in size" in capsys.readouterr().out
    assert len(pd.read_csv(again.csv)) == 2000


def test_truncated_corpus_cache_is_rebuilt_naming_the_file(cache, capsys):
    from helpers.datasets.prose import cached_documents

    documents = cached_documents("pydoc_topics")
    (path,) = [p for p in (cache / "prose_corpus").glob("*.json") if not p.name.endswith(MANIFEST_SUFFIX)]
    path.write_text(path.read_text()[:500])
    assert cached_documents("pydoc_topics") == documents
    assert f"Cache {path} differs in size" in capsys.readouterr().out


def test_truncated_tokenizer_cache_is_rebuilt(cache, capsys):
    from helpers.albert.tokenizer import cached_tokenizer, load_tokenizer

    texts = [f"sentence number {i} talks about order and parameters" for i in range(200)]
    first = cached_tokenizer(texts, 60)
    (folder,) = [p for p in (cache / "sop_tokenizer").iterdir() if p.is_dir()]
    tokenizer_json = folder / "tokenizer.json"
    tokenizer_json.write_text(tokenizer_json.read_text()[:200])
    with pytest.raises(ValueError, match=f"{tokenizer_json} cannot be loaded"):
        load_tokenizer(folder)
    again = cached_tokenizer(texts, 60)
    assert f"Cache {folder} differs in size" in capsys.readouterr().out
    assert (
        len(again) == len(first) and again("order and parameters")["input_ids"]
    )  # training is not bit-exact
    cached_tokenizer(texts, 60)
    assert "Cache" not in capsys.readouterr().out, "the rebuilt cache verifies"


def test_a_failed_build_publishes_nothing(cache):
    def build(tmp: Path) -> None:
        tmp.write_text("half")
        raise RuntimeError("killed mid-build")

    with pytest.raises(RuntimeError):
        verified(cache / "x.bin", {"rows": 1}, build)
    assert list(cache.iterdir()) == []


def test_unwritable_cache_folder_names_the_variable(tmp_path, monkeypatch):
    (tmp_path / "a-file").write_text("x")
    monkeypatch.setenv(results.CACHE_DIR_ENV, str(tmp_path / "a-file" / "cache"))
    with pytest.raises(ValueError, match="set FSL_CACHE_DIR to a folder you can write"):
        results.cache_dir()


def test_results_files_are_group_readable_and_temporaries_removed(tmp_path):
    results.write_json_atomic(tmp_path / "a.json", {"a": 1})
    assert (tmp_path / "a.json").stat().st_mode & 0o777 == results.file_mode()
    with pytest.raises(TypeError):
        results.write_json_atomic(tmp_path / "b.json", {"b": object()})
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"]


# --- stores -----------------------------------------------------------------------------------------------------


def test_mlflow_store_lives_outside_run_folders(tmp_path, monkeypatch):
    from helpers.hpo.tracking import resolve_tracking_uri

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setenv(results.OUT_DIR_ENV, str(tmp_path / "reports" / "latest.runs" / "1"))
    monkeypatch.setenv(results.STORE_DIR_ENV, str(tmp_path / "store"))
    assert resolve_tracking_uri(None) == f"sqlite:///{tmp_path / 'store' / 'mlflow' / 'mlflow.db'}"


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_corrupt_mlflow_store_is_named_and_left_alone(tmp_path, damage):
    from helpers.hpo.tracking import Tracker

    database = tmp_path / "mlflow.db"
    if damage == "garbage":
        database.write_bytes(b"not a database " * 100)
    else:
        with sqlite3.connect(database) as connection:
            connection.execute("create table t(x)")
            connection.executemany("insert into t values (?)", [("x" * 50,)] * 5000)
        database.write_bytes(database.read_bytes()[: database.stat().st_size // 2])
    before = database.read_bytes()
    with pytest.raises(ValueError, match=rf"The MLflow store {database} is damaged .*mv .*\.broken"):
        Tracker(f"sqlite:///{database}", "exp", "cpu", "test")
    assert database.read_bytes() == before


# --- Spark ------------------------------------------------------------------------------------------------------


def test_broken_java_home_falls_back_to_sequential_trials(tmp_path, monkeypatch):
    from helpers.hpo import spark

    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "no-jdk"))
    assert "JAVA_HOME" in spark.unavailable_reason(
        "local[*]"
    ) and "one after another" in spark.unavailable_reason("local[*]")
    java = tmp_path / "jdk" / "bin" / "java"
    java.parent.mkdir(parents=True)
    java.write_text("#!/bin/sh\nexit 1\n")
    java.chmod(0o755)
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "jdk"))
    assert "-version` fails, so Hyperopt runs its trials one after another" in spark.unavailable_reason(
        "local[*]"
    )
