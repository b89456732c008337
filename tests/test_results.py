"""helpers.core.results: the record() contract."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from helpers.core import results


@pytest.fixture
def headless(tmp_path, monkeypatch):
    monkeypatch.setenv(results.OUT_DIR_ENV, str(tmp_path))
    monkeypatch.setenv(results.NOTEBOOK_ENV, "99_demo")
    monkeypatch.setattr(results, "_results", {})
    return tmp_path


def test_record_writes_flat_json_and_returns_value(headless, capsys):
    assert results.record("etl.rows", np.int64(5)) == 5
    results.record("etl.speedup", float("nan"))
    results.record("nested", {"a": (1, 2)})
    data = json.loads((headless / "99_demo.results.json").read_text())
    assert data == {"etl.rows": 5, "etl.speedup": None, "nested": {"a": [1, 2]}}
    assert capsys.readouterr().out == "", "record() stores without printing by default"
    results.record("etl.rows", 6, show=True)
    assert capsys.readouterr().out == "etl.rows = 6\n"


def test_record_overwrites_a_key(headless):
    results.record("k", 1)
    results.record("k", 2)
    assert json.loads((headless / "99_demo.results.json").read_text()) == {"k": 2}


def test_interactive_record_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.delenv(results.OUT_DIR_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    results.record("x", 1.5)
    assert list(tmp_path.iterdir()) == []
    assert results.recorded()["x"] == 1.5


@pytest.mark.parametrize("key", ["", "   ", 3])
def test_bad_key_is_rejected(key):
    with pytest.raises(ValueError, match="non-empty string key"):
        results.record(key, 1)


def test_unrecordable_value_says_what_to_record():
    with pytest.raises(TypeError, match="record numbers, strings"):
        results.to_jsonable(object())


def test_jsonable_converts_infinities_and_numpy():
    assert results.to_jsonable([np.float32(1.5), math.inf, np.bool_(True)]) == [1.5, None, True]


def test_atomic_write_leaves_no_temporary_files(tmp_path):
    target = tmp_path / "a.json"
    results.write_json_atomic(target, {"a": 1})
    results.write_json_atomic(target, {"a": 2})
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"]


def test_artifact_and_cache_dirs(tmp_path, monkeypatch):
    monkeypatch.setenv(results.OUT_DIR_ENV, str(tmp_path / "out"))
    monkeypatch.setenv(results.CACHE_DIR_ENV, str(tmp_path / "cache"))
    assert results.artifact_dir("mlflow") == tmp_path / "out" / "mlflow"
    assert results.cache_dir().is_dir()
