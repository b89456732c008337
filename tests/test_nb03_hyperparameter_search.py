"""03_hyperparameter_search: equal budgets, the growing-space comparison, the MLflow store and registry, Spark trials,
CSV input, and a rerun that appends."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from helpers.collection.runner import execute_notebook
from helpers.datasets.airline import make_airline
from helpers.hpo.space import SearchSpace
from helpers.hpo.spark import java_executable
from helpers.hpo.strategies import STRATEGIES
from helpers.hpo.study import SEARCHERS
from helpers.hpo.tracking import ROLE_TAG, Tracker

from .conftest import SMOKE_TIMEOUT_S
from .notebook_runs import NOTEBOOKS_DIR

STEM = "03_hyperparameter_search"


@pytest.fixture(scope="module")
def smoke(smoke_run):
    return smoke_run(STEM)


def _session_runs(results):
    tracker = Tracker(
        results["hpo.tracking_uri"], results["params.experiment"], "cpu", "", results["hpo.session"]
    )
    return tracker.runs(session_only=True)


def _sweeps(results) -> list[str]:
    """The tracked sweeps: the four strategies, plus Hyperopt on Spark where Java is present."""
    return [*STRATEGIES, "hyperopt-spark"] if results["hpo.spark_trials"] else list(STRATEGIES)


def _trials(results) -> int:
    spark = results["params.spark_budget"] if results["hpo.spark_trials"] else 0
    return len(STRATEGIES) * results["params.budget"] + spark


def _expected_runs(results) -> int:
    return len(_sweeps(results)) + _trials(results) + 1  # parents, trials, the best model


def test_every_strategy_ran_its_budget_inside_the_space(smoke):
    r = smoke.results
    space = SearchSpace.talk(r["params.max_trees"])
    for name in STRATEGIES:
        assert r[f"hpo.{name}.evaluations"] == r["params.budget"]
        assert r[f"hpo.{name}.failed"] == 0
        assert 0.5 < r[f"hpo.{name}.best_accuracy"] <= 1
        assert r[f"hpo.{name}.wall_s"] > 0
        assert space.contains(r[f"hpo.{name}.best_params"])
    bests = [r[f"hpo.{name}.best_accuracy"] for name in STRATEGIES]
    assert r["hpo.best_model_accuracy"] == pytest.approx(max(bests))  # seeded forest refits to the same score
    assert r["hpo.target_accuracy"] == pytest.approx(max(bests) - 0.005)


def test_store_holds_every_run_with_params_metrics_and_a_registered_model(smoke):
    r = smoke.results
    assert r["hpo.tracking_uri"].startswith("sqlite:///") and r["hpo.tracking_uri"].endswith("mlflow.db")
    assert r["hpo.mlflow_session_runs"] == r["hpo.mlflow_runs"] == _expected_runs(r)
    assert r["hpo.mlflow_failed_runs"] == 0
    runs = _session_runs(r)
    assert len(runs) == _expected_runs(r) and set(runs["status"]) == {"FINISHED"}
    trials = runs[runs[f"tags.{ROLE_TAG}"] == "trial"]
    assert len(trials) == _trials(r)
    for column in (
        "params.max_depth",
        "params.max_features",
        "params.n_estimators",
        "metrics.accuracy",
        "metrics.duration_s",
        "tags.fsl.backend",
        "tags.fsl.hardware",
        "tags.mlflow.parentRunId",
    ):
        assert trials[column].notna().all(), column
    parents = runs[runs[f"tags.{ROLE_TAG}"] == "sweep"]
    assert sorted(parents["tags.fsl.strategy"]) == sorted(_sweeps(r))
    assert set(trials["tags.mlflow.parentRunId"]) == set(parents["run_id"])

    from mlflow import MlflowClient

    version = MlflowClient(r["hpo.tracking_uri"]).get_model_version(
        r["hpo.registered_model"], str(r["hpo.registered_version"])
    )
    best_run = runs[runs[f"tags.{ROLE_TAG}"] == "best_model"]
    assert version.status == "READY" and version.run_id == best_run["run_id"].iloc[0]


def test_spark_trials_ran_where_java_is_present(smoke):
    r = smoke.results
    expected = r["params.spark_budget"] if java_executable() else 0
    assert r["hpo.spark_trials"] == expected


def test_claims_follow_the_measurements(smoke):
    r = smoke.results
    gpu = smoke.claim("hpo_gpu_sweep_35x")
    assert (gpu["verdict"] == "not measurable here") == (r["hpo.gpu_cpu_speedup"] is None)
    assert smoke.claim("hpo_hyperopt_vs_grid")["measured"] > 0
    for n in r["params.study_sizes"]:  # one claim row per space size, each with a measured ratio
        assert smoke.claim(f"hpo_hyperopt_vs_grid.{n}params")["measured"] > 0


def test_growing_space_grid_cost_multiplies_and_every_searcher_is_counted(smoke):
    r = smoke.results
    for n in r["params.study_sizes"]:
        prefix = f"hpo.study.{n}params"
        grid_points = r[f"{prefix}.grid_points"]
        assert grid_points == r["params.study_levels"] ** n
        assert 1 <= r[f"{prefix}.grid.evaluations_to_target"] <= grid_points
        assert r[f"{prefix}.grid.seeds_not_reaching"] == 0  # the target comes from the grid's own best
        for name in SEARCHERS:
            assert 1 <= r[f"{prefix}.{name}.evaluations_to_target"] <= grid_points
            assert 0 <= r[f"{prefix}.{name}.seeds_not_reaching"] <= r["params.study_seeds"]
            assert r[f"{prefix}.{name}.seconds_to_target"] > 0


def test_rerun_from_a_csv_into_the_same_store_appends_and_marks_injected_failures(smoke, tmp_path):
    """A second run, reading a CSV `data_path` with injected failures, appends to the first run's store."""
    first = smoke.results
    before = _session_runs(first).set_index("run_id")
    # a copy of the first run's store, so that the shared one nbval made stays as it was for every other reader
    store = tmp_path / "store"
    shutil.copytree(Path(first["hpo.tracking_uri"].removeprefix("sqlite:///")).parent, store)
    csv = tmp_path / "flights.csv"
    make_airline(1500, seed=4, on_gpu=False).to_csv(csv, index=False)
    run = execute_notebook(
        NOTEBOOKS_DIR / f"{STEM}.ipynb",
        tmp_path,
        "smoke",
        SMOKE_TIMEOUT_S,
        {
            "data_path": str(csv),
            "tracking_uri": f"sqlite:///{store / 'mlflow.db'}",
            "fail_trials": 1,
            "study_sizes": [2],  # the growing-space study is not what this run checks: its smallest form
            "study_seeds": 1,
        },
    )
    assert run.status == "ok", (tmp_path / f"{STEM}.log").read_text()[-3000:]
    second = json.loads((tmp_path / f"{STEM}.results.json").read_text())
    assert second["params.data_path"] == str(csv)
    assert second["hpo.session"] != first["hpo.session"]
    assert second["hpo.mlflow_session_runs"] == _expected_runs(second)
    assert second["hpo.mlflow_runs"] == first["hpo.mlflow_runs"] + second["hpo.mlflow_session_runs"]
    assert second["hpo.registered_version"] == first["hpo.registered_version"] + 1
    for name in STRATEGIES:  # one injected failure each, and the sweep still ran its whole budget
        assert second[f"hpo.{name}.evaluations"] == second["params.budget"]
        assert second[f"hpo.{name}.failed"] == 1
    assert second["hpo.spark.failed"] == (1 if second["hpo.spark_trials"] else None)
    assert second["hpo.mlflow_failed_runs"] == len(_sweeps(second))
    failed = _session_runs(second).query("status == 'FAILED'")
    assert failed["tags.fsl.error"].str.startswith("InjectedFailure").all()
    after = _session_runs(first).set_index("run_id")
    columns = ["status", "metrics.accuracy", "params.max_depth", "end_time"]
    assert after.sort_index()[columns].equals(before.sort_index()[columns])
