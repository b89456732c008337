"""helpers.rapids.ml: data split, estimator specs, timing and scoring, parity tolerances, the cuml.accel script."""

from __future__ import annotations

import numpy as np
import pytest

from helpers.core.backend import get_backend
from helpers.datasets.airline import make_airline
from helpers.rapids import claims as rapids_claims
from helpers.rapids import ml as rapids_ml
from helpers.rapids.ml import (
    SPECS,
    available_specs,
    benchmark_estimator,
    load_ml_data,
    make_estimator,
    scores_agree,
)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    path = tmp_path_factory.mktemp("ml") / "flights.parquet"
    make_airline(3000, seed=2, on_gpu=False).to_parquet(path, index=False)
    return load_ml_data(path, n_rows=2000, test_rows=500, slow_rows=800, query_rows=200, seed=0)


def test_split_shapes_and_standardisation(data):
    assert data.x_train.shape == (2000, 13) and data.x_test.shape == (500, 13)
    assert data.x_train.dtype == np.float32 and data.y_train.dtype == np.int32
    assert data.slow_rows == 800 and data.query_rows == 200
    assert np.allclose(data.xs_train.mean(axis=0), 0, atol=1e-3) and np.allclose(
        data.xs_train.std(axis=0), 1, atol=1e-2
    )


def test_split_is_reproducible_and_clipped_to_the_file(tmp_path):
    path = tmp_path / "small.csv"
    make_airline(100, on_gpu=False).to_csv(path, index=False)
    a = load_ml_data(path, 1000, 50, 10, 5, seed=3)
    b = load_ml_data(path, 1000, 50, 10, 5, seed=3)
    assert np.array_equal(a.x_train, b.x_train) and len(a.x_train) + len(a.x_test) == 100
    assert len(a.x_test) == 20, "the test split never takes more than a fifth of a small file"


def test_specs_cover_the_talk_model_and_skip_what_a_stack_lacks():
    cpu = get_backend("cpu")
    specs, skipped = available_specs([cpu])
    names = [s.name for s in specs]
    assert names[:5] == ["random_forest", "logistic_regression", "kmeans", "knn", "pca"]
    assert ("umap" in skipped) == (cpu.UMAP is None)
    rf = make_estimator(cpu, SPECS["random_forest"], seed=7)
    assert rf.random_state == 7 and rf.n_jobs == -1 and rf.n_estimators == 50
    knn = make_estimator(cpu, SPECS["knn"], seed=7)
    assert knn.n_jobs == -1 and knn.algorithm == "auto"  # scikit-learn's default: a tree for few features


@pytest.mark.parametrize("name", ["random_forest", "logistic_regression", "kmeans", "knn", "pca"])
def test_benchmark_estimator_times_and_scores(data, name):
    result = benchmark_estimator(get_backend("cpu"), SPECS[name], data, seed=0, warmup=0, repeats=1)
    assert result["fit"].median > 0 and (result["predict"] is not None) == (SPECS[name].metric == "accuracy")
    assert result["train_rows"] == (800 if SPECS[name].subsample else 2000)
    if SPECS[name].metric == "accuracy":
        assert 0.5 < result["score"] <= 1.0
    else:
        assert result["score"] > 0


def test_scores_agree_uses_the_stated_tolerance():
    assert scores_agree(SPECS["random_forest"], 0.75, 0.735)
    assert not scores_agree(SPECS["random_forest"], 0.75, 0.72)
    assert scores_agree(SPECS["kmeans"], 10.0, 10.4) and not scores_agree(SPECS["kmeans"], 10.0, 10.6)
    assert scores_agree(SPECS["pca"], 0.5, None) is None


def test_geometric_mean():
    assert rapids_ml.geometric_mean([2.0, 8.0]) == pytest.approx(4.0)
    assert rapids_ml.geometric_mean([]) is None


def test_accel_script_runs_unchanged_scikit_learn_in_a_fresh_process(data, tmp_path):
    report = rapids_ml.run_accel(data, tmp_path, ["pca", "logistic_regression"], 0, None, 0, 1)
    assert report["activity"]["active"] is False and set(report["estimators"]) == {
        "pca",
        "logistic_regression",
    }
    direct = benchmark_estimator(get_backend("cpu"), SPECS["pca"], data, seed=0, warmup=0, repeats=1)
    assert report["estimators"]["pca"]["score"] == pytest.approx(direct["score"], rel=1e-5)
    with pytest.raises(ValueError, match="no_such_module"):
        rapids_ml.run_accel(data, tmp_path, ["pca"], 0, "no_such_module", 0, 1)


def test_claims_follow_their_published_figures():
    assert rapids_claims.RF_HOUR_TO_MINUTES.rule.verdict(12.0) == "reproduced"
    assert rapids_claims.RF_HOUR_TO_MINUTES.rule.verdict(5.0) == "partly reproduced"
    assert rapids_claims.CUML_DOCS_10_TO_50.rule.verdict(1.5) == "not reproduced"
    assert rapids_claims.CUML_ACCEL_MEDIAN.published == 5.8


def test_knn_fit_timing_covers_the_query_and_settings_are_stated(data):
    cpu = get_backend("cpu")
    knn = benchmark_estimator(cpu, SPECS["knn"], data, seed=0, warmup=0, repeats=1)
    assert knn["timed"] == "fit + query of 200 rows"
    assert (
        "n_neighbors=5" in knn["settings"]
        and "algorithm=auto" in knn["settings"]
        and "n_jobs=-1" in knn["settings"]
    )
    pca = benchmark_estimator(cpu, SPECS["pca"], data, seed=0, warmup=0, repeats=1)
    assert pca["timed"] == "fit" and "random_state=0" not in pca["settings"]


def test_umap_is_left_unseeded_for_each_librarys_fast_path():
    from dataclasses import replace

    class Recorder:
        def __init__(self, **params):
            self.params = params

    for name in ("cpu", "gpu"):  # the parameters make_estimator hands either stack's UMAP class
        backend = replace(get_backend("cpu"), name=name, UMAP=Recorder)
        params = make_estimator(backend, SPECS["umap"], seed=3).params
        assert "random_state" not in params and params["n_components"] == 2
        assert params.get("n_jobs") == (-1 if name == "cpu" else None)
