"""The growing-space study: evaluations and seconds each strategy needs to reach the full grid's best."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from helpers.core.stats import Estimate, ratio_interval, single
from helpers.hpo.objective import Objective, Sweep
from helpers.hpo.space import SearchSpace
from helpers.hpo.strategies import TpeSettings, run_hyperopt, run_optuna, run_sequential
from helpers.hpo.summary import first_error

if TYPE_CHECKING:
    import pandas as pd


SEARCHERS = ("random", "hyperopt", "optuna")


def grid_reach(sweep: Sweep, target: float, seed: int) -> tuple[int | None, float | None]:
    """Evaluations and fit seconds until the grid, evaluated in a seeded random order, first reaches `target`.

    A grid's natural order is arbitrary with respect to where the good points lie; a random order averaged over
    seeds is its expected cost."""
    order = np.random.default_rng(seed).permutation(len(sweep.trials))
    seconds = 0.0
    for count, index in enumerate(order, start=1):
        trial = sweep.trials[index]
        seconds += trial.duration_s
        if trial.ok and trial.accuracy >= target:
            return count, seconds
    return None, None


@dataclass
class Regime:
    """One space of the study: the full grid's sweep, the target it sets, and each searcher's sweeps (one per seed)."""

    n_params: int
    space: SearchSpace
    grid: Sweep
    target: float
    seeds: list[int]
    sweeps: dict[str, list[Sweep]] = field(default_factory=dict)

    @property
    def budget(self) -> int:
        """Evaluations the full grid took (and the most any searcher may take)."""
        return self.grid.evaluations

    def effort(self, strategy: str) -> list[tuple[int, float, bool]]:
        """Per seed: evaluations and seconds to the target, and whether it was reached (unreached: the whole sweep)."""
        if strategy == "grid":
            reaches = [grid_reach(self.grid, self.target, seed) for seed in self.seeds]
            return [(e, s, True) for e, s in reaches]  # the grid always holds its own best
        out = []
        for sweep in self.sweeps[strategy]:
            evals, seconds = sweep.reach(self.target)
            out.append(
                (evals, seconds, True) if evals is not None else (sweep.evaluations, sweep.wall_s, False)
            )
        return out

    def median_effort(self, strategy: str) -> tuple[float, float, int]:
        """Median evaluations and seconds to the target over seeds, and how many seeds never reached it."""
        effort = self.effort(strategy)
        evals, seconds, reached = zip(*effort, strict=True)
        return float(np.median(evals)), float(np.median(seconds)), len(effort) - sum(reached)


def compare_strategies(
    objective: Objective,
    max_trees: int,
    sizes: Iterable[int],
    levels: int,
    seeds: Iterable[int],
    startup: int,
    tolerance: float = 0.005,
) -> list[Regime]:
    """For each space size: the full grid (`levels` per hyperparameter), its best minus `tolerance` as the target,
    then random, Hyperopt TPE and Optuna TPE per seed, in this process and untracked, stopping at the target or
    after as many evaluations as the grid took."""
    seeds = list(seeds)
    regimes = []
    for n_params in sizes:
        space = SearchSpace.ladder(max_trees, n_params)
        candidates = space.grid_of((levels,) * n_params)
        grid = run_sequential("grid", candidates, objective, None, progress=False)
        if grid.best is None:
            raise ValueError(
                f"Every grid trial failed in the {n_params}-hyperparameter space: {first_error({'grid': grid})}"
            )
        regime = Regime(n_params, space, grid, grid.best.accuracy - tolerance, seeds)
        budget, target = len(candidates), regime.target
        regime.sweeps = {
            "random": [
                run_sequential("random", space.random(budget, s), objective, None, target, progress=False)
                for s in seeds
            ],
            "hyperopt": [
                run_hyperopt(
                    space, budget, objective, None, TpeSettings(s, startup), stop_at=target, progress=False
                )
                for s in seeds
            ],
            "optuna": [
                run_optuna(
                    space, budget, objective, None, TpeSettings(s, startup), stop_at=target, progress=False
                )
                for s in seeds
            ],
        }
        regimes.append(regime)
    return regimes


def study_table(regimes: list[Regime]) -> pd.DataFrame:
    """Per space size and strategy: grid size, target, median (min–max) evaluations and seconds to the target."""
    import pandas as pd

    rows = []
    for regime in regimes:
        for strategy in ("grid", *SEARCHERS):
            effort = regime.effort(strategy)
            evals = [e for e, _, _ in effort]
            median_evals, median_s, missed = regime.median_effort(strategy)
            rows.append(
                {
                    "hyperparameters": regime.n_params,
                    "strategy": strategy,
                    "grid points": regime.budget,
                    "target accuracy": regime.target,
                    "evaluations to target": median_evals,
                    "range": f"{min(evals)}–{max(evals)}",
                    "seconds to target": median_s,
                    "seeds not reaching": missed,
                    "seeds": len(effort),
                }
            )
    return pd.DataFrame(rows).set_index(["hyperparameters", "strategy"])


def study_ratio(regime: Regime, strategy: str = "hyperopt", on: str = "seconds") -> tuple[float, str]:
    """Grid's median effort to the target ÷ the strategy's (`on` seconds or evaluations), with a note on bounds."""
    grid_evals, grid_s, _ = regime.median_effort("grid")
    evals, seconds, missed = regime.median_effort(strategy)
    ratio = grid_s / seconds if on == "seconds" else grid_evals / evals
    note = (
        (
            f"{missed} of {len(regime.seeds)} {strategy} seeds never reached the target and are charged their whole "
            "sweep, so the ratio is an upper bound"
        )
        if missed
        else ""
    )
    return ratio, note


def study_estimate(regime: Regime, strategy: str = "hyperopt") -> Estimate:
    """Grid seconds to the target ÷ the strategy's, paired by seed (the grid's random order and the searcher share
    the seed): the geometric mean ratio with its t interval over seeds; with one seed, no interval."""
    grid_s = [seconds for _, seconds, _ in regime.effort("grid")]
    other_s = [seconds for _, seconds, _ in regime.effort(strategy)]
    if len(grid_s) < 2:
        return single(grid_s[0] / other_s[0], "seeds")
    return ratio_interval(grid_s, other_s, "seeds")


def plot_study(regimes: list[Regime]) -> Any:
    """Median evaluations and seconds to the target (bars: min–max over seeds) against the number of hyperparameters."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4), layout="constrained")  # room for wide log tick labels
    sizes = [r.n_params for r in regimes]
    for offset, marker, strategy in zip(
        (-0.09, -0.03, 0.03, 0.09), "os^D", ("grid", *SEARCHERS), strict=True
    ):
        for ax, column in zip(axes, (0, 1), strict=True):
            values = [[e[column] for e in r.effort(strategy)] for r in regimes]
            median = np.array([np.median(v) for v in values])
            spread = [median - [min(v) for v in values], [max(v) for v in values] - median]
            x = [size + offset for size in sizes]
            ax.errorbar(x, median, yerr=spread, marker=marker, capsize=3, label=strategy)
    axes[0].plot(sizes, [r.budget for r in regimes], color="grey", linestyle=":", label="full grid")
    for ax, ylabel in zip(axes, ("evaluations to target", "seconds to target (this machine)"), strict=True):
        ax.set_yscale("log")
        ax.set_xticks(sizes)
        ax.set_xlabel("hyperparameters searched")
        ax.set_ylabel(ylabel)
    axes[0].legend(title="strategy")
    fig.suptitle(
        "Effort to get within 0.5 pt of the full grid's best, as the space grows (median, min–max over seeds)"
    )
    return fig
