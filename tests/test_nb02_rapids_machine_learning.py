"""02_rapids_machine_learning: every estimator timed and scored on CPU, honest GPU verdicts, learnable data."""

from __future__ import annotations

import pytest

from helpers.core.claims import NOT_MEASURABLE
from helpers.core.environment import rapids_status

STEM = "02_rapids_machine_learning"
GPU = rapids_status()["available"]
ESTIMATORS = ("random_forest", "logistic_regression", "kmeans", "knn", "pca")
CLAIMS = ("cuml-rf-hour-to-5-minutes", "cuml-docs-10-50x", "cuml-accel-median-5.8x")


def test_every_estimator_records_the_required_keys(smoke_run):
    results = smoke_run(STEM).results
    for name in ESTIMATORS:
        for field in ("sklearn_fit_s", "cuml_fit_s", "sklearn_score", "cuml_score"):
            assert f"ml.{name}.{field}" in results, f"ml.{name}.{field}"
        assert results[f"ml.{name}.sklearn_fit_s"] > 0
        assert (results[f"ml.{name}.cuml_fit_s"] is None) == (not GPU)
        assert (results[f"ml.{name}.cuml_score"] is None) == (not GPU)


def test_row_counts_follow_the_profile(smoke_run):
    results = smoke_run(STEM).results
    assert results["ml.rows.train"] == 20_000 and results["ml.rows.test"] == 5_000
    for name in ("random_forest", "knn"):
        assert results[f"ml.{name}.train_rows"] == results["ml.rows.slow_train"] == 5_000
    for name in ("logistic_regression", "kmeans", "pca"):
        assert results[f"ml.{name}.train_rows"] == 20_000


def test_models_learn_more_than_the_majority_class(smoke_run):
    results = smoke_run(STEM).results
    majority = max(results["ml.late_rate"], 1 - results["ml.late_rate"])
    for name in ("random_forest", "logistic_regression", "knn"):
        assert results[f"ml.{name}.sklearn_score"] > majority + 0.02, name


def test_unsupervised_scores_are_consistent(smoke_run):
    results = smoke_run(STEM).results
    assert 5 / 13 <= results["ml.pca.sklearn_score"] <= 1.0, "5 of 13 standardised components explain ≥ 5/13"
    assert 0 < results["ml.kmeans.sklearn_score"] < 13.0, "8 clusters leave less than the total variance (13)"


def test_umap_is_skipped_with_a_reason_when_a_stack_lacks_it(smoke_run):
    results = smoke_run(STEM).results
    try:
        import umap  # noqa: F401
    except ImportError:
        assert "umap-learn" in results["ml.umap.skipped"]
    else:
        assert "ml.umap.sklearn_fit_s" in results


@pytest.mark.skipif(GPU, reason="checks the CPU-only behaviour")
def test_without_gpu_parity_is_null_and_claims_not_measurable(smoke_run):
    smoke = smoke_run(STEM)
    assert smoke.results["ml.parity"] is None and smoke.results["ml.accel_fit_speedups"] is None
    for name in ESTIMATORS:
        assert smoke.results[f"ml.{name}.parity"] is None
    for claim_id in CLAIMS:
        claim = smoke.claim(claim_id)
        assert claim["verdict"] == NOT_MEASURABLE and rapids_status()["reason"] in claim["reason"]


@pytest.mark.gpu
@pytest.mark.skipif(not GPU, reason="needs cuML on a CUDA GPU")
def test_with_gpu_cuml_is_timed_and_scored(smoke_run):
    smoke = smoke_run(STEM)
    results = smoke.results
    for name in ESTIMATORS:
        assert results[f"ml.{name}.cuml_fit_s"] > 0
        assert results[f"ml.{name}.parity"] in (True, False)
    rf = results["ml.random_forest.sklearn_fit_s"] / results["ml.random_forest.cuml_fit_s"]
    assert smoke.claim("cuml-rf-hour-to-5-minutes")["measured"] == pytest.approx(rf)


def test_estimator_coverage_claims_are_measured_from_the_pinned_release(smoke_run):
    smoke = smoke_run(STEM)
    coverage = smoke.results["coverage.sklearn"]
    assert coverage["this notebook"]["total"] == 5 and coverage["all_estimators()"]["total"] > 100
    for claim_id, key in (
        ("cuml-same-functions-here", "this notebook"),
        ("cuml-same-functions", "all_estimators()"),
    ):
        share = coverage[key]["covered"] / coverage[key]["total"]
        expected = (
            "reproduced" if share >= 0.95 else "partly reproduced" if share >= 0.75 else "not reproduced"
        )
        claim = smoke.claim(claim_id)
        assert claim["measured"] == pytest.approx(share) and claim["verdict"] == expected
    assert 0 < smoke.results["coverage.accel_intercepts"] < coverage["all_estimators()"]["total"]
