"""How record() prints values for a reader (3–4 significant figures, units, short paths) while the JSON keeps all."""

from __future__ import annotations

import json

import pytest

from helpers.core import results


@pytest.mark.parametrize(
    ("key", "value", "shown"),
    [
        ("table5.mlm.mlm_acc_mean", 0.10917890708537341, "0.1092"),
        ("etl.pandas_s", 1.23456, "1.235 s"),
        ("onnx.latency_ms_b1", 0.012345, "0.01235 ms"),
        ("variant.size_bytes", 123456, "123.5 kB"),
        ("variant.size_bytes", 12, "12 bytes"),
        ("corpus.tokens", 1234567, "1,234,567"),
        ("etl.speedup", 3.14159, "3.142×"),
        ("table5.per_seed", [0.68123, 0.6581], "[0.6812, 0.6581]"),
        ("hardware.ram_gib", 15.6234, "15.62 GiB"),
        ("big", 123456789.5, "1.235e+08"),
        ("flags", {"ok": True, "name": "cnn"}, "{ok: True, name: cnn}"),
        ("missing", None, "None"),
    ],
)
def test_values_print_as_a_reader_wants_them(key, value, shown):
    assert results.format_value(key, value) == shown


def test_printed_paths_are_short_and_json_keeps_full_precision(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(results.OUT_DIR_ENV, str(tmp_path))
    monkeypatch.setenv(results.NOTEBOOK_ENV, "99_demo")
    monkeypatch.setattr(results, "_results", {})
    results.record("hpo.tracking_uri", f"sqlite:///{tmp_path}/mlflow/mlflow.db", show=True)
    results.record("x.accuracy", 0.10917890708537341, show=True)
    printed = capsys.readouterr().out
    assert "hpo.tracking_uri = sqlite:///<out>/mlflow/mlflow.db" in printed and str(tmp_path) not in printed
    assert "x.accuracy = 0.1092" in printed
    saved = json.loads((tmp_path / "99_demo.results.json").read_text())
    assert saved["x.accuracy"] == 0.10917890708537341
    assert saved["hpo.tracking_uri"] == f"sqlite:///{tmp_path}/mlflow/mlflow.db"
