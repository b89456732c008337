"""05_compression_pruning: structured pruning shrinks compute, unstructured zeros do not shrink the file."""

from __future__ import annotations

import pytest

from helpers.compression.claims import PRUNING_SPEED_COMPUTE_BOUND

from .compression_expected import (
    check_accuracy_claim,
    check_cnn_deployment_study,
    check_efficiency_claims,
    efficiency_claims,
    overfit_accuracies,
)

STEM = "05_compression_pruning"
FIELDS = ("params", "size_bytes", "macs", "latency_ms_b1", "accuracy_mean", "accuracy_std", "seeds")


@pytest.fixture(scope="module")
def smoke(smoke_run):
    return smoke_run(STEM)


def variants(results: dict) -> list[str]:
    return sorted({k.split(".")[1] for k in results if k.startswith("model.") and k.endswith(".params")})


def test_every_variant_has_the_shared_row(smoke):
    names = variants(smoke.results)
    assert "cnn" in names
    assert any(n.startswith("cnn_unstructured_") for n in names)
    assert sum(n.startswith("cnn_structured_") for n in names) >= 3  # magnitude, taylor, iterative
    for name in names:
        for field in FIELDS:
            assert f"model.{name}.{field}" in smoke.results, f"{name} misses {field}"
        assert 0 <= smoke.results[f"model.{name}.accuracy_mean"] <= 1
        assert smoke.results[f"model.{name}.seeds"] == smoke.results["seeds"] == [0, 1]


def test_structured_pruning_lowers_macs_and_params(smoke):
    r = smoke.results
    for name in (n for n in variants(r) if n.startswith("cnn_structured_")):
        assert r[f"model.{name}.macs"] < r["model.cnn.macs"]
        assert r[f"model.{name}.params"] < r["model.cnn.params"]
    half = r["model.cnn_structured_magnitude_50.params"] / r["model.cnn.params"]
    assert 0.15 < half < 0.45, "removing half the channels should leave about a quarter of the weights"


def test_unstructured_pruning_keeps_dense_size_and_macs(smoke):
    r = smoke.results
    for name in (n for n in variants(r) if n.startswith("cnn_unstructured_")):
        target = int(name.rsplit("_", 1)[1]) / 100
        assert r[f"model.{name}.size_bytes"] == r["model.cnn.size_bytes"]
        assert r[f"model.{name}.macs"] == r["model.cnn.macs"]
        assert r[f"pruning.{name}.weight_sparsity"] == pytest.approx(target, abs=0.02)
        assert r[f"model.{name}.nonzero_params"] < r["model.cnn.nonzero_params"]
    assert r["pruning.unstructured.size_ratio_min"] == r["pruning.unstructured.size_ratio_max"] == 1.0


def test_pruned_model_reloads_safely(smoke):
    r = smoke.results
    assert r["pruning.reload.tp_weights_only_error"] == "UnpicklingError"
    assert r["pruning.reload.safe_max_abs_diff"] <= 1e-6
    assert r["pruning.reload.tp_max_abs_diff"] <= 1e-6
    assert r["pruning.reload.params_match"] is True
    assert r["pruning.reload.predictions_match"] is True
    assert r["pruning.reload.safe_bytes"] < r["model.cnn.size_bytes"]


def test_claims_follow_from_the_recorded_numbers(smoke):
    r = smoke.results
    check_efficiency_claims(
        efficiency_claims(smoke.claims, "pruning"), r, "cnn", "cnn_structured_magnitude_50"
    )
    assert r["pruning.claim_variant.size_ratio"] == pytest.approx(
        r["model.cnn.size_bytes"] / r["model.cnn_structured_magnitude_50.size_bytes"]
    )
    assert len(r["seeds"]) >= 2, "the smoke profile runs two seeds, so the accuracy verdict is computed"
    check_accuracy_claim(
        smoke.claim("compression.pruning.accuracy_increase"),
        r["model.cnn_structured_magnitude_50.per_seed_accuracy"],
        r["model.cnn.per_seed_accuracy"],
    )


def test_overfit_regime_is_recorded_and_judged(smoke):
    r = smoke.results
    by_setting = {row["setting"]: row for row in r["pruning.overfit.pruned_finetuned"]}
    assert set(by_setting) == set(r["params.overfit_sparsities"])
    assert all(row["seeds"] == r["params.overfit_seeds"] for row in by_setting.values())
    assert r["params.overfit_seeds"] >= 2
    check_accuracy_claim(
        smoke.claim("compression.pruning.accuracy_increase.overfit"),
        overfit_accuracies(r["pruning.overfit.rows"], "pruned_finetuned", 0.5),
        overfit_accuracies(r["pruning.overfit.rows"], "dense_finetuned"),
    )
    assert 0 <= r["pruning.overfit.test_accuracy_dense"] <= r["pruning.overfit.train_accuracy_dense"] <= 1


def test_deployment_study_times_every_path_and_judges_the_widest_cnn(smoke_run):
    run = smoke_run("05_compression_pruning")
    check_cnn_deployment_study(
        run.claims, run.results, "pruning", ("dense", "pruned"), PRUNING_SPEED_COMPUTE_BOUND
    )
