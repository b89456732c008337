"""helpers.hpo.search: the search space, grid and random candidates, the objective, sweeps and their summaries."""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
import pytest

from helpers.datasets.airline import airline_parquet
from helpers.hpo.search import (
    FailureInjector,
    Objective,
    SearchSpace,
    Sweep,
    TrialResult,
    hyperopt_results,
    speed_ratio,
    summary_table,
    tolerance_target,
)

SPACE = SearchSpace.talk(25)


def test_talk_space_scales_only_the_forest_size():
    assert SearchSpace.talk(500) == SearchSpace()
    assert SPACE.tree_levels == [5, 10, 15, 20, 25]
    assert SPACE.max_depth == (5, 15) and SPACE.max_features == (0.1, 1.0)


@pytest.mark.parametrize("max_trees", [0, 3, 27])
def test_talk_space_rejects_sizes_that_are_not_multiples_of_five(max_trees):
    with pytest.raises(ValueError, match="multiple of 5"):
        SearchSpace.talk(max_trees)


def test_space_rejects_inverted_ranges_and_uneven_steps():
    with pytest.raises(ValueError, match="low < high"):
        SearchSpace(max_depth=(15, 5))
    with pytest.raises(ValueError, match="step dividing"):
        SearchSpace(n_estimators=(100, 450, 100))


@pytest.mark.parametrize("budget", range(1, 41))
def test_grid_has_exactly_the_budget_of_distinct_points_inside_the_space(budget):
    shape = SPACE.grid_shape(budget)
    assert int(np.prod(shape)) == budget
    points = SPACE.grid(budget)
    assert len(points) == budget
    assert len({tuple(sorted(p.items())) for p in points}) == budget
    assert all(SPACE.contains(p) for p in points)


def test_grid_shape_is_balanced_and_prefers_depth():
    assert SPACE.grid_shape(8) == (2, 2, 2)
    assert SPACE.grid_shape(16) == (4, 2, 2)
    assert SPACE.grid_shape(27) == (3, 3, 3)
    assert SPACE.grid_shape(4) == (2, 2, 1)
    with pytest.raises(ValueError, match="at least 1"):
        SPACE.grid_shape(0)


def test_single_level_sits_mid_range():
    (point,) = SPACE.grid(1)
    assert point == {"max_depth": 10, "max_features": 0.55, "n_estimators": 15}


def test_random_candidates_are_seeded_and_inside_the_space():
    first, again, other = SPACE.random(12, 3), SPACE.random(12, 3), SPACE.random(12, 4)
    assert first == again and first != other
    assert len(first) == 12 and all(SPACE.contains(p) for p in first)


def test_hyperopt_space_samples_normalise_into_the_space():
    from hyperopt.pyll import stochastic

    rng = np.random.default_rng(0)
    for _ in range(50):
        assert SPACE.contains(SPACE.normalise(stochastic.sample(SPACE.hyperopt(), rng=rng)))


def test_contains_rejects_points_outside():
    inside = {"max_depth": 5, "max_features": 0.1, "n_estimators": 25}
    assert SPACE.contains(inside)
    assert not SPACE.contains({**inside, "max_depth": 16})
    assert not SPACE.contains({**inside, "max_features": 1.01})
    assert not SPACE.contains({**inside, "n_estimators": 12})


def test_failure_injector_fails_exactly_count_trials_per_strategy_across_threads(tmp_path):
    injector = FailureInjector(str(tmp_path), 2)
    outcomes: list[bool] = []
    threads = [
        threading.Thread(target=lambda: outcomes.append(injector.should_fail("grid"))) for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(outcomes) == 2
    assert (
        injector.should_fail("random")
        and injector.should_fail("random")
        and not injector.should_fail("random")
    )


@pytest.fixture(scope="module")
def tiny_data():
    return str(airline_parquet(600, 0))


def test_objective_scores_holdout_accuracy_and_fails_softly(tiny_data, tmp_path):
    objective = Objective(tiny_data, n_jobs=1, failures=FailureInjector(str(tmp_path), 1))
    params = {"max_depth": 5, "max_features": 0.5, "n_estimators": 5}
    failed = objective(params, "grid")
    assert not failed.ok and failed.error.startswith("InjectedFailure")
    result = objective(params, "grid")
    assert result.ok and 0.5 < result.accuracy <= 1 and result.end >= result.start
    assert objective(params, "grid").accuracy == result.accuracy  # seeded forest: same score
    broken = objective({**params, "max_depth": -1}, "grid")
    assert not broken.ok and "max_depth" in broken.error


def _sweep(name: str, accuracies: list[float | None], seconds: float = 1.0) -> Sweep:
    sweep = Sweep(name, len(accuracies), start=100.0)
    for i, accuracy in enumerate(accuracies):
        sweep.trials.append(
            TrialResult(name, {"i": i}, accuracy, 100.0 + i * seconds, 100.0 + (i + 1) * seconds)
        )
    sweep.end = 100.0 + len(accuracies) * seconds
    return sweep


def test_sweep_curve_best_and_reach():
    sweep = _sweep("grid", [0.70, None, 0.75, 0.74])
    assert sweep.evaluations == 4 and sweep.failed == 1 and sweep.best.accuracy == 0.75
    curve = sweep.curve()
    assert list(curve["evaluation"]) == [1, 2, 3, 4]
    assert list(curve["best_so_far"]) == [0.70, 0.70, 0.75, 0.75]
    assert sweep.reach(0.745) == (3, 3.0)
    assert sweep.reach(0.80) == (None, None)


def test_summary_table_and_speed_ratio():
    sweeps = {
        "grid": _sweep("grid", [0.70, 0.71, 0.76, 0.72]),
        "hyperopt": _sweep("hyperopt", [0.76, 0.7, 0.7, 0.7]),
    }
    target = tolerance_target(sweeps, 0.005)
    assert target == pytest.approx(0.755)
    table = summary_table(sweeps)
    assert list(table["evaluations to target"]) == [3, 1]
    assert speed_ratio(sweeps["grid"], sweeps["hyperopt"], target) == (3.0, "")
    slow = _sweep("grid", [0.70, 0.71, 0.70, 0.70])
    ratio, note = speed_ratio(slow, sweeps["hyperopt"], target)
    assert ratio == 4.0 and "lower bound" in note
    assert speed_ratio(slow, slow, target) == (None, "neither sweep reached the target")


def test_tolerance_target_needs_one_success():
    with pytest.raises(ValueError, match="Every trial"):
        tolerance_target({"grid": _sweep("grid", [None, None])}, 0.005)


@dataclass
class _FakeTrials:
    trials: list[dict]


def test_hyperopt_results_turn_crashed_trials_into_failed_ones():
    done = TrialResult("hyperopt", {"max_depth": 5, "max_features": 0.5, "n_estimators": 10}, 0.7, 1.0, 2.0)
    crashed = {
        "result": {"status": "new"},
        "misc": {"vals": {"max_depth": [6.0], "max_features": [0.2], "n_estimators": [15.0]},
                 "error": ("<class 'Exception'>", "worker lost")},
        "book_time": None, "refresh_time": None,
    }  # fmt: skip
    results = hyperopt_results(_FakeTrials([{"result": {"trial": done.to_dict()}}, crashed]), SPACE)
    assert results[0] == done
    assert not results[1].ok and "worker lost" in results[1].error
    assert results[1].params == {"max_depth": 6, "max_features": 0.2, "n_estimators": 15}
