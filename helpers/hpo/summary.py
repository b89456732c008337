"""Sweeps side by side: the target within a tolerance of the best, a summary table, speed ratios and curves."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from helpers.hpo.objective import Objective, Sweep

if TYPE_CHECKING:
    import pandas as pd


def tolerance_target(sweeps: dict[str, Sweep], tolerance: float) -> float:
    """The best accuracy any strategy found, minus `tolerance` (0.005 is half an accuracy point)."""
    bests = [s.best.accuracy for s in sweeps.values() if s.best is not None]
    if not bests:
        raise ValueError(
            "Every trial of every strategy failed, so there is no best accuracy to compare against."
        )
    return max(bests) - tolerance


def summary_table(sweeps: dict[str, Sweep], tolerance: float = 0.005) -> pd.DataFrame:
    """Per strategy: evaluations, failures, best accuracy, wall time and the effort to get within `tolerance`."""
    import pandas as pd

    target = tolerance_target(sweeps, tolerance)
    rows = []
    for name, sweep in sweeps.items():
        evals, seconds = sweep.reach(target)
        best = sweep.best
        rows.append(
            {
                "strategy": name,
                "evaluations": sweep.evaluations,
                "failed": sweep.failed,
                "best accuracy": best.accuracy if best else np.nan,
                "wall s": sweep.wall_s,
                "evaluations to target": evals,
                "seconds to target": seconds,
                "best params": best.params if best else None,
            }
        )
    return pd.DataFrame(rows).set_index("strategy")


def speed_ratio(slow: Sweep, fast: Sweep, target: float) -> tuple[float | None, str]:
    """Seconds `slow` needed to reach `target` ÷ seconds `fast` needed, with a note when one never reached it.

    A sweep that never reached the target is charged its whole wall time, so the ratio becomes a bound.
    """
    _, slow_s = slow.reach(target)
    _, fast_s = fast.reach(target)
    if slow_s is None and fast_s is None:
        return None, "neither sweep reached the target"
    if fast_s is None:
        return slow_s / fast.wall_s, f"{fast.strategy} never reached the target: ratio is an upper bound"
    if slow_s is None:
        return slow.wall_s / fast_s, f"{slow.strategy} never reached the target: ratio is a lower bound"
    return slow_s / fast_s, ""


def plot_curves(sweeps: dict[str, Sweep], target: float) -> Any:
    """Best-so-far accuracy against evaluations and against wall-clock seconds, one line per strategy."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
    for name, sweep in sweeps.items():
        curve = sweep.curve()
        axes[0].step(curve["evaluation"], curve["best_so_far"], where="post", label=name)
        axes[1].step(curve["elapsed_s"], curve["best_so_far"], where="post", label=name)
    for ax, xlabel in zip(axes, ("evaluations", "wall-clock seconds since the sweep began"), strict=True):
        ax.axhline(
            target, color="grey", linestyle=":", linewidth=1, label="target: within 0.5 pt of the best"
        )
        ax.set_xlabel(xlabel)
    axes[0].set_ylabel("best holdout accuracy so far")
    axes[0].legend(title="strategy")  # names the target line too: a note on the line would sit on the curves
    fig.suptitle("Best-so-far accuracy on an equal budget")
    return fig


def sweep_seconds(objective: Objective, candidates: list[dict[str, Any]]) -> Callable[[], None]:
    """A callable that fits every candidate once (for timing a fixed sweep on one backend)."""

    def sweep() -> None:
        for params in candidates:
            objective.fit(params)

    return sweep


def first_error(sweeps: dict[str, Sweep]) -> str:
    """The first failed trial's error across sweeps (empty when nothing failed)."""
    errors = (t.error for t in itertools.chain.from_iterable(s.trials for s in sweeps.values()) if not t.ok)
    return next(errors, "")
