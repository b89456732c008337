"""06_compression_quantization: int8 Linear weights ≤ 0.3× fp32, PT2E near the 1/4 limit, verdicts consistent."""

from __future__ import annotations

import pytest

from helpers.compression.claims import COMPUTE_BOUND_WIDTH, QUANTIZATION_SPEED_COMPUTE_BOUND

from .compression_expected import (
    check_accuracy_claim,
    check_compute_bound_claims,
    check_efficiency_claims,
    efficiency_claims,
    overfit_accuracies,
)

STEM = "06_compression_quantization"
FIELDS = ("params", "size_bytes", "macs", "latency_ms_b1", "accuracy_mean", "accuracy_std", "seeds")
DYNAMIC = [f"{m}_int8_dynamic_{k}" for m in ("mlp", "transformer") for k in ("torchao", "eager")]


@pytest.fixture(scope="module")
def smoke(smoke_run):
    return smoke_run(STEM)


def test_every_variant_has_the_shared_row(smoke):
    r = smoke.results
    for name in ("mlp", "transformer", "cnn", "cnn_int8_static_pt2e", *DYNAMIC):
        for field in FIELDS:
            assert f"model.{name}.{field}" in r, f"{name} misses {field}"
        assert 0 <= r[f"model.{name}.accuracy_mean"] <= 1
        assert r[f"model.{name}.seeds"] == [0, 1]


def test_dynamic_int8_linear_weights_are_at_most_0_3_of_fp32(smoke):
    r = smoke.results
    for name in DYNAMIC:
        assert r[f"quantization.{name}.linear_weight_ratio"] <= 0.3
        base = name.split("_")[0]
        assert r[f"quantization.{name}.int8_linear_layers"] == r[f"quantization.{base}.linear_layers"]
        assert r[f"model.{name}.size_bytes"] < 0.5 * r[f"model.{base}.size_bytes"]
        assert r[f"model.{name}.params"] == pytest.approx(r[f"model.{base}.params"], rel=0.01)


def test_static_pt2e_is_near_the_physical_limit(smoke):
    r = smoke.results
    ratio = r["quantization.cnn_int8_static_pt2e.size_ratio"]
    assert 0.25 <= ratio <= 0.35, "int8 weights are 1/4 of fp32; scales and biases add a little"
    assert ratio == pytest.approx(r["model.cnn_int8_static_pt2e.size_bytes"] / r["model.cnn.size_bytes"])
    assert r["model.cnn_int8_static_pt2e.macs"] == r["model.cnn.macs"]
    assert r["model.cnn_int8_static_pt2e.gpu_latency_ms_b1"] is None
    for size in r["params.calibration_sizes"]:
        assert 0 <= r[f"quantization.pt2e.calibration_{size}.accuracy_mean"] <= 1
    assert r["quantization.pt2e.lowered_vs_reference_max_abs_diff"] < 1.0
    for key in ("eval_on_prepared_graph", "save_lowered_graph", "lowered_graph_new_batch_size"):
        assert f"quantization.pt2e.limitation.{key}" in r


def test_claims_follow_from_the_recorded_numbers(smoke):
    r = smoke.results
    efficiency = efficiency_claims(smoke.claims, "quantization")
    check_efficiency_claims(efficiency, r, "mlp", "mlp_int8_dynamic_torchao")
    assert efficiency["size"]["measured"] >= 3.0, "int8 weights make the MLP file about 4× smaller"
    assert len(r["seeds"]) >= 2, "the smoke profile runs two seeds, so the accuracy verdict is computed"
    check_accuracy_claim(
        smoke.claim("compression.quantization.accuracy_increase"),
        r["model.mlp_int8_dynamic_torchao.per_seed_accuracy"],
        r["model.mlp.per_seed_accuracy"],
    )


def test_overfit_regime_is_recorded_and_judged(smoke):
    r = smoke.results
    rows = r["quantization.overfit.rows"]
    assert {row["setting"] for row in rows if row["variant"] == "fake_quant"} == set(r["params.overfit_bits"])
    check_accuracy_claim(
        smoke.claim("compression.quantization.accuracy_increase.overfit"),
        overfit_accuracies(rows, "fake_quant", 8),
        overfit_accuracies(rows, "dense"),
    )
    assert (
        0 <= r["quantization.overfit.test_accuracy_dense"] <= r["quantization.overfit.train_accuracy_dense"]
    )


def test_int8_study_times_every_path_and_judges_the_widest_block(smoke):
    r = smoke.results
    rows = r["quantization.paths.timings"]
    paths, widths, batches = r["params.int8_paths"], r["params.int8_widths"], (1, 64)
    assert {(row["path"], row["width"], row["batch"]) for row in rows} == {
        (path, w, b) for path in paths for w in widths for b in batches
    }
    for row in rows:
        assert row["relative_error"] < 0.05, f"int8 computes the same function: {row}"
        assert len(row["round_speedups"]) == r["params.int8_rounds"]
    floors = r["quantization.paths.identity_calls"]
    assert {(f["path"], f["batch"]) for f in floors} == {(p, b) for p in paths for b in batches}
    check_compute_bound_claims(
        smoke.claims, rows, QUANTIZATION_SPEED_COMPUTE_BOUND, COMPUTE_BOUND_WIDTH, paths, "int8_paths"
    )
