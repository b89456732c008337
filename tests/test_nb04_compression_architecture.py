"""04_compression_architecture: every variant measured, separable is smaller, verdicts follow the numbers."""

from __future__ import annotations

import pytest

from helpers.compression.claims import ARCHITECTURE_SPEED_COMPUTE_BOUND

from .compression_expected import (
    check_accuracy_claim,
    check_cnn_deployment_study,
    check_efficiency_claims,
    efficiency_claims,
)
from .conftest import VARIANT_KEYS

VARIANTS = ("cnn_standard", "cnn_separable", "cnn_separable_w050")
KEYS = VARIANT_KEYS


@pytest.fixture(scope="module")
def results(smoke_run):
    return smoke_run("04_compression_architecture").results


def test_every_variant_has_every_measurement(results):
    for v in VARIANTS:
        for key in KEYS:
            assert results.get(f"model.{v}.{key}") is not None, f"model.{v}.{key} missing"
        assert 0 <= results[f"model.{v}.accuracy_mean"] <= 1
        assert results[f"model.{v}.seeds"] == results["params.seeds"]
        assert len(results[f"model.{v}.per_seed_accuracy"]) == len(results["params.seeds"])


def test_separable_has_fewer_params_macs_and_bytes(results):
    std, sep, thin = (results[f"model.{v}.params"] for v in VARIANTS)
    assert sep < std / 4 and thin < sep
    assert results["model.cnn_separable.macs"] < results["model.cnn_standard.macs"] / 4
    assert results["model.cnn_separable_w050.macs"] < results["model.cnn_separable.macs"]
    assert results["model.cnn_separable.size_bytes"] < results["model.cnn_standard.size_bytes"] / 3


def test_block_formula_matches_counted_weights(results):
    assert results["architecture.block_ratio_measured"] == pytest.approx(
        results["architecture.block_ratio_formula"]
    )
    assert all(0.11 < r < 0.2 for r in results["architecture.block_ratio_measured"])


def test_claims_follow_the_recorded_numbers(smoke_run, results):
    run = smoke_run("04_compression_architecture")
    efficiency = efficiency_claims(run.claims, "architecture")
    check_efficiency_claims(efficiency, results, "cnn_standard", "cnn_separable")
    assert (
        efficiency["size"]["verdict"] == "reproduced"
    )  # ≥ 2× smaller by construction of the separable blocks


def test_accuracy_verdict_of_several_seeds(smoke_run, results):
    assert len(results["params.seeds"]) >= 2, "the smoke profile runs two seeds, so the verdict is computed"
    entry = smoke_run("04_compression_architecture").claim("compression.architecture.accuracy_decrease")
    check_accuracy_claim(
        entry,
        results["model.cnn_standard.per_seed_accuracy"],
        results["model.cnn_separable.per_seed_accuracy"],
    )


def test_deployment_study_times_every_path_and_judges_the_widest_cnn(smoke_run):
    run = smoke_run("04_compression_architecture")
    check_cnn_deployment_study(
        run.claims, run.results, "architecture", ("standard", "separable"), ARCHITECTURE_SPEED_COMPUTE_BOUND
    )
