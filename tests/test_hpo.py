"""helpers.hpo.space, objective, strategies, summary and study: the search space, grid and random candidates, the objective, sweeps and their summaries."""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

import numpy as np
import pytest

from helpers.datasets.airline import airline_parquet
from helpers.hpo.claims import GRID_CLAIM, grid_claim_for
from helpers.hpo.objective import FailureInjector, Objective, Sweep, TrialResult, load_split
from helpers.hpo.space import Dimension, SearchSpace
from helpers.hpo.strategies import hyperopt_results
from helpers.hpo.study import Regime, compare_strategies, grid_reach, study_estimate, study_ratio, study_table
from helpers.hpo.summary import speed_ratio, summary_table, tolerance_target

SPACE = SearchSpace.talk(25)


def test_talk_space_scales_only_the_forest_size():
    depth, features, trees = SearchSpace.talk(500).dimensions
    assert (depth.low, depth.high, features.low, features.high) == (5, 15, 0.1, 1.0)
    assert trees.values == [100, 200, 300, 400, 500]
    assert SPACE.dimensions[2].values == [5, 10, 15, 20, 25] and SPACE.dimensions[:2] == (depth, features)


@pytest.mark.parametrize("max_trees", [0, 3, 27])
def test_talk_space_rejects_sizes_that_are_not_multiples_of_five(max_trees):
    with pytest.raises(ValueError, match="multiple of 5"):
        SearchSpace.talk(max_trees)


def test_space_rejects_inverted_ranges_uneven_steps_and_unknown_kinds():
    with pytest.raises(ValueError, match="low < high"):
        Dimension("max_depth", 15, 5, "int")
    with pytest.raises(ValueError, match="step dividing"):
        Dimension("n_estimators", 100, 450, "step", 100)
    with pytest.raises(ValueError, match="kind"):
        Dimension("x", 0, 1, "normal")
    with pytest.raises(ValueError, match="2 to 5"):
        SearchSpace.ladder(25, 6)


def test_ladder_adds_one_hyperparameter_at_a_time_and_fixes_the_forest_size_below_three():
    names = [SearchSpace.ladder(25, n).names for n in range(2, 6)]
    assert names[-1] == ["max_depth", "max_features", "n_estimators", "min_samples_leaf", "max_samples"]
    assert all(longer[:-1] == shorter for shorter, longer in zip(names, names[1:], strict=False))
    two = SearchSpace.ladder(25, 2)
    assert all(p["n_estimators"] == 15 for p in two.random(5, 0)) and two.contains(two.grid(4)[0])
    assert SearchSpace.ladder(25, 4).dimensions[3].levels(3) == [1, 8, 64]  # log-spaced leaf sizes


@pytest.mark.parametrize("n_params", [2, 3, 4, 5])
def test_every_searcher_samples_inside_each_ladder_space(n_params):
    import optuna
    from hyperopt.pyll import stochastic

    space = SearchSpace.ladder(25, n_params)
    rng = np.random.default_rng(0)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    for _ in range(30):
        assert space.contains(space.normalise(stochastic.sample(space.hyperopt(), rng=rng)))
        assert space.contains(space.normalise(space.suggest(study.ask())))
    assert all(space.contains(p) for p in space.random(30, 1) + space.grid_of((3,) * n_params))
    assert len(space.grid_of((3,) * n_params)) == 3**n_params


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
    assert not SearchSpace.ladder(25, 2).contains(inside), "a fixed value must match"
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
        "misc": {
            "vals": {"max_depth": [6.0], "max_features": [0.2], "n_estimators": [15.0]},
            "error": ("<class 'Exception'>", "worker lost"),
        },
        "book_time": None,
        "refresh_time": None,
    }
    results = hyperopt_results(_FakeTrials([{"result": {"trial": done.to_dict()}}, crashed]), SPACE)
    assert results[0] == done
    assert not results[1].ok and "worker lost" in results[1].error
    assert results[1].params == {"max_depth": 6, "max_features": 0.2, "n_estimators": 15}


def test_grid_reach_in_a_random_order_counts_evaluations_and_fit_seconds():
    sweep = _sweep("grid", [0.70, 0.71, 0.76, 0.72])
    evals, seconds = grid_reach(sweep, 0.755, seed=0)
    order = list(np.random.default_rng(0).permutation(4))
    assert evals == order.index(2) + 1 and seconds == pytest.approx(float(evals))
    assert grid_reach(sweep, 0.80, seed=0) == (None, None)


def test_regime_effort_charges_unreached_seeds_their_whole_sweep():
    grid = _sweep("grid", [0.70, 0.76, 0.71, 0.72])
    regime = Regime(2, SearchSpace.ladder(25, 2), grid, 0.755, [0, 1])
    regime.sweeps = {
        "random": [_sweep("random", [0.76]), _sweep("random", [0.7, 0.7, 0.7, 0.7])],
        "hyperopt": [_sweep("hyperopt", [0.7, 0.76]), _sweep("hyperopt", [0.76])],
        "optuna": [_sweep("optuna", [0.76]), _sweep("optuna", [0.76])],
    }
    assert regime.effort("random") == [(1, 1.0, True), (4, 4.0, False)]
    assert regime.median_effort("random") == (2.5, 2.5, 1)
    ratio, note = study_ratio(regime, "random", on="evaluations")
    assert ratio == pytest.approx(regime.median_effort("grid")[0] / 2.5) and "upper bound" in note
    grid_evals = [grid_reach(grid, 0.755, s)[0] for s in (0, 1)]
    assert study_ratio(regime, on="evaluations") == (pytest.approx(np.median(grid_evals) / 1.5), "")
    table = study_table([regime])
    assert table.loc[(2, "random"), "seeds not reaching"] == 1 and table.loc[(2, "grid"), "grid points"] == 4


def test_study_estimate_pairs_seeds_and_has_no_interval_with_one():
    grid = _sweep("grid", [0.70, 0.76, 0.71, 0.72])
    regime = Regime(2, SearchSpace.ladder(25, 2), grid, 0.755, [0, 1])
    regime.sweeps = {"hyperopt": [_sweep("hyperopt", [0.7, 0.76]), _sweep("hyperopt", [0.76])]}
    grid_s = [grid_reach(grid, 0.755, s)[1] for s in (0, 1)]
    estimate = study_estimate(regime)
    assert estimate.value == pytest.approx(math.sqrt(grid_s[0] / 2.0 * grid_s[1] / 1.0))  # geometric mean
    assert estimate.low < estimate.value < estimate.high and estimate.n == 2
    one = Regime(2, SearchSpace.ladder(25, 2), grid, 0.755, [0], {"hyperopt": [_sweep("hyperopt", [0.76])]})
    assert study_estimate(one).value == pytest.approx(grid_s[0]) and study_estimate(one).high == math.inf


def test_compare_strategies_on_a_tiny_space_stops_at_the_target(tiny_data):
    objective = Objective(tiny_data, n_jobs=1)
    (regime,) = compare_strategies(objective, 10, [2], levels=2, seeds=[0, 1], startup=1)
    assert regime.budget == 4 and regime.target == pytest.approx(regime.grid.best.accuracy - 0.005)
    for name in ("random", "hyperopt", "optuna"):
        assert len(regime.sweeps[name]) == 2
        for sweep in regime.sweeps[name]:
            assert 1 <= sweep.evaluations <= 4 and all(regime.space.contains(t.params) for t in sweep.trials)
            reached = [t.accuracy >= regime.target for t in sweep.trials]
            assert not any(reached[:-1]), "a searcher stops at the first trial that reaches the target"


def test_grid_claim_has_one_variant_per_space_size():
    claim = grid_claim_for(4)
    assert claim.id == "hpo_hyperopt_vs_grid.4params" and "4 hyperparameters" in claim.statement
    assert claim.rule == GRID_CLAIM.rule


def test_load_split_reads_csv_and_parquet_alike(tmp_path):
    from helpers.datasets.airline import make_airline

    frame = make_airline(400, seed=1, on_gpu=False)
    frame.to_parquet(tmp_path / "f.parquet", index=False)
    frame.to_csv(tmp_path / "f.csv", index=False)
    from_parquet = load_split(str(tmp_path / "f.parquet"), "cpu", 0.25, 0)
    from_csv = load_split(str(tmp_path / "f.csv"), "cpu", 0.25, 0)
    for a, b in zip(from_parquet, from_csv, strict=True):
        assert a.equals(b)
