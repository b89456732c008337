"""helpers.hpo.tracking with helpers.hpo.strategies sweeps: nested runs in a real SQLite store, failures, interrupts, reruns."""

from __future__ import annotations

import os
from dataclasses import dataclass

import pytest

from helpers.hpo.objective import TrialResult
from helpers.hpo.space import SearchSpace
from helpers.hpo.strategies import TpeSettings, run_hyperopt, run_optuna, run_sequential
from helpers.hpo.tracking import (
    PARENT_TAG,
    ROLE_TAG,
    SESSION_TAG,
    Tracker,
    resolve_tracking_uri,
    sqlite_file,
    ui_command,
)

SPACE = SearchSpace.talk(25)


@dataclass(frozen=True)
class FakeObjective:
    """Accuracy from the parameters, no training; fails when max_depth is in `fail_depths`."""

    fail_depths: tuple[int, ...] = ()
    interrupt: bool = False

    def __call__(self, params, strategy):
        if self.interrupt:
            raise KeyboardInterrupt
        if params["max_depth"] in self.fail_depths:
            return TrialResult(strategy, params, None, 1.0e9, 1.0e9 + 0.5, "ValueError: boom")
        return TrialResult(strategy, params, 0.5 + params["max_depth"] / 100, 1.0e9, 1.0e9 + 0.25)


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return f"sqlite:///{tmp_path_factory.mktemp('mlflow') / 'mlflow.db'}"


def _tracker(uri: str) -> Tracker:
    return Tracker(uri, "unit", "cpu", "test cpu")


def test_tracking_uri_precedence(tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    default = resolve_tracking_uri(None, tmp_path)
    assert default == f"sqlite:///{tmp_path.resolve() / 'mlflow.db'}"
    assert sqlite_file(default) == tmp_path.resolve() / "mlflow.db"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://tracking:5000")
    assert resolve_tracking_uri(None, tmp_path) == "http://tracking:5000"
    assert resolve_tracking_uri("sqlite:////x/y.db", tmp_path) == "sqlite:////x/y.db"
    assert sqlite_file("http://tracking:5000") is None
    monkeypatch.chdir(tmp_path)
    assert (
        ui_command(f"sqlite:///{tmp_path}/a b/m.db") == "mlflow ui --backend-store-uri 'sqlite:///a b/m.db'"
    )
    assert ui_command("http://tracking:5000") == "mlflow ui --backend-store-uri http://tracking:5000"
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    home_store = f"sqlite:///{tmp_path}/home/.local/m.db"
    assert ui_command(home_store) == 'mlflow ui --backend-store-uri "sqlite:///$HOME/.local/m.db"'


def test_sequential_sweep_logs_nested_runs_and_survives_a_failure(store):
    tracker = _tracker(store)
    candidates = SPACE.grid(4)
    sweep = run_sequential("grid", candidates, FakeObjective(fail_depths=(5,)), tracker)
    assert sweep.evaluations == 4 and sweep.failed == 2  # the 2x2x1 grid has depth 5 twice
    runs = tracker.runs(session_only=True)
    parent = runs[runs[f"tags.{ROLE_TAG}"] == "sweep"]
    trials = runs[runs[f"tags.{ROLE_TAG}"] == "trial"]
    assert len(parent) == 1 and len(trials) == 4
    assert set(trials[f"tags.{PARENT_TAG}"]) == {parent["run_id"].iloc[0]}
    assert sorted(trials["status"]) == ["FAILED", "FAILED", "FINISHED", "FINISHED"]
    assert trials["params.max_depth"].notna().all() and trials["params.n_estimators"].notna().all()
    finished = trials[trials["status"] == "FINISHED"]
    assert finished["metrics.accuracy"].notna().all() and trials["metrics.duration_s"].notna().all()
    assert (trials[trials["status"] == "FAILED"]["tags.fsl.error"] == "ValueError: boom").all()
    assert parent["metrics.evaluations"].iloc[0] == 4 and parent["metrics.failed"].iloc[0] == 2
    assert parent["status"].iloc[0] == "FINISHED"
    assert (runs["tags.fsl.backend"] == "cpu").all() and (runs["tags.fsl.hardware"] == "test cpu").all()


def test_interrupted_trial_and_sweep_end_failed(store):
    tracker = _tracker(store)
    with pytest.raises(KeyboardInterrupt):
        run_sequential("random", SPACE.random(3, 0), FakeObjective(interrupt=True), tracker)
    runs = tracker.runs(session_only=True)
    assert len(runs) == 2 and set(runs["status"]) == {"FAILED"}


def test_optuna_and_sequential_hyperopt_run_their_budget_despite_failures(store):
    tracker = _tracker(store)
    objective = FakeObjective(fail_depths=tuple(range(5, 9)))
    optuna_sweep = run_optuna(SPACE, 6, objective, tracker, TpeSettings(seed=0, startup=2))
    hyperopt_sweep = run_hyperopt(SPACE, 6, objective, tracker, TpeSettings(seed=0, startup=2))
    for sweep in (optuna_sweep, hyperopt_sweep):
        assert sweep.evaluations == 6
        assert all(SPACE.contains(t.params) for t in sweep.trials)
        assert sweep.failed == sum(t.params["max_depth"] < 9 for t in sweep.trials)
    assert hyperopt_sweep.spark_trials == 0
    runs = tracker.runs(session_only=True)
    assert len(runs) == 2 + 12
    assert (runs["status"] == "FAILED").sum() == optuna_sweep.failed + hyperopt_sweep.failed
    recorded = runs[runs["tags.fsl.strategy"] == "hyperopt"]
    assert (recorded[recorded[f"tags.{ROLE_TAG}"] == "trial"]["start_time"].dt.year == 2001).all()


def test_a_new_session_reuses_the_experiment_and_appends(store):
    first, second = _tracker(store), _tracker(store)
    assert first.experiment_id == second.experiment_id and first.session != second.session
    before = len(first.runs())
    run_sequential("grid", SPACE.grid(2), FakeObjective(), second)
    assert len(second.runs()) == before + 3
    assert len(second.runs(session_only=True)) == 3
    assert set(second.runs(session_only=True)[f"tags.{SESSION_TAG}"]) == {second.session}


def test_tracker_leaves_the_environment_alone(store, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    tracker = _tracker(store)
    tracker.runs()
    assert "MLFLOW_TRACKING_URI" not in os.environ  # child processes must not inherit this store


def test_deleted_experiment_gives_a_clear_error(tmp_path):
    tracker = Tracker(f"sqlite:///{tmp_path / 'm.db'}", "gone", "cpu", "test cpu")
    tracker.client.delete_experiment(tracker.experiment_id)
    with pytest.raises(ValueError, match="is deleted"):
        Tracker(tracker.uri, "gone", "cpu", "test cpu")
