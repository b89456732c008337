"""A small-scale Table 5 of Lan et al.: every pretraining task × seed, then the summary beside the paper's, the
claim measures (in points, with the one-sided 95 % margins of `helpers.core.stats`) and the learning curves.

Runs are independent (each seeds itself), so `run_table5` can spread them over worker processes, one thread each:
on a few cores, tiny models use the cores better side by side than by splitting each matrix product.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

import pandas as pd
import torch
from matplotlib.figure import Figure

from helpers.albert.claims import NSP_MODEL_SOP_NEAR_CHANCE, PAPER_TABLE5
from helpers.albert.pairs import TASKS, SpecialTokens, TokenDocs
from helpers.albert.pretraining import ModelSize, TrainSettings, make_eval_sets, pretrain_and_evaluate
from helpers.albert.workers import map_jobs
from helpers.core.params import require
from helpers.core.stats import Estimate, accuracy_difference_interval, accuracy_interval, distance_interval

CHANCE = 0.5
# A model within the claims' own near-chance band of chance on its own task (5 points, the target of
# NSP_MODEL_SOP_NEAR_CHANCE) is near chance by that rule: comparing what it does on the other task says nothing.
LEARNED_MARGIN = NSP_MODEL_SOP_NEAR_CHANCE.rule.target / 100
TASK_NAMES = {"mlm": "MLM only (no pair loss)", "nsp": "MLM + NSP", "sop": "MLM + SOP"}


def run_table5(
    docs: TokenDocs,
    heldout: TokenDocs,
    special: SpecialTokens,
    size: ModelSize,
    settings: TrainSettings,
    seeds: Sequence[int],
    eval_pairs: int,
    curve_pairs: int,
    device: str = "cpu",
    tasks: Sequence[str] = TASKS,
    workers: int = 1,
) -> tuple[pd.DataFrame, pd.DataFrame, dict[tuple[str, int], dict[str, torch.Tensor]]]:
    """Every task × seed: pretrain, then evaluate on the held-out sets, on `workers` processes (one thread each;
    1 runs here). Returns (one row per run, curve rows, the pretrained weights per (task, seed))."""
    require(len(seeds) >= 1, "Give at least one seed.")
    eval_sets = make_eval_sets(heldout, special, settings, eval_pairs)
    curve_sets = make_eval_sets(heldout, special, settings, curve_pairs, seed=4321)
    jobs = [(t, s) for s in seeds for t in tasks]
    run = partial(
        pretrain_and_evaluate,
        docs=docs,
        special=special,
        size=size,
        settings=settings,
        eval_sets=eval_sets,
        curve_sets=curve_sets,
        device=device,
    )
    results = map_jobs(run, jobs, workers, desc=f"pretraining runs ({settings.construction} pairs)")
    runs = pd.DataFrame([row for row, _, _ in results])
    curves = pd.DataFrame([point for _, curve, _ in results for point in curve])
    weights = {job: state for job, (_, _, state) in zip(jobs, results, strict=True)}
    return runs, curves, weights


def table5(runs: pd.DataFrame) -> pd.DataFrame:
    """Mean and standard deviation (over seeds, ddof=1; 0 with one seed) of each accuracy, per pretraining task."""
    rows = []
    for task, group in runs.groupby("task", sort=False):
        row = {"pretraining": task, "seeds": sorted(group["seed"].tolist())}
        for e in TASKS:
            values = group[f"{e}_acc"].to_numpy(dtype=float)
            row[f"{e}_acc_mean"] = float(values.mean())
            row[f"{e}_acc_std"] = float(values.std(ddof=1)) if len(values) > 1 else 0.0
        rows.append(row)
    return pd.DataFrame(rows).set_index("pretraining").reindex([t for t in TASKS if t in set(runs["task"])])


def side_by_side(summary: pd.DataFrame) -> pd.DataFrame:
    """Our accuracies (mean ± std, %) beside the paper's, one row per pretraining task."""
    rows = {}
    for task in summary.index:
        row = {}
        for e in TASKS:
            mean, std = 100 * summary.loc[task, f"{e}_acc_mean"], 100 * summary.loc[task, f"{e}_acc_std"]
            row[(e.upper(), "ours")] = f"{mean:.1f} ± {std:.1f}"
            row[(e.upper(), "paper")] = f"{PAPER_TABLE5.loc[task, e]:.1f}"
        rows[TASK_NAMES[task]] = row
    frame = pd.DataFrame.from_dict(rows, orient="index")
    frame.columns = pd.MultiIndex.from_tuples(frame.columns, names=["evaluation", ""])
    return frame


def learned_at(low: float) -> bool:
    """Whether an own-task accuracy interval starting at `low` lies wholly above chance plus the claims'
    near-chance band (above 55 %)."""
    return low > CHANCE + LEARNED_MARGIN


def learned(values: Sequence[float], n_eval: int | None) -> bool:
    """Whether a model learned a pair task: its accuracy's 95 % interval lies wholly above 55 % (`learned_at`)."""
    return learned_at(accuracy_interval(values, n_eval).low)


def distance_from_chance(values: Sequence[float], n_eval: int | None) -> Estimate:
    """|accuracy − 50 %| in points, with its interval: how far from chance the accuracy is."""
    return distance_interval(accuracy_interval(values, n_eval), CHANCE).scaled(100)


def above_chance(values: Sequence[float], n_eval: int | None) -> Estimate:
    """Accuracy − 50 % in points, with its interval: how far above chance the accuracy is."""
    return accuracy_interval(values, n_eval).scaled(100, -100 * CHANCE)


def difference(a: Sequence[float], b: Sequence[float], n_eval: int | None) -> Estimate:
    """mean(a) − mean(b) in points with its interval: over seeds, the paired per-seed differences; with one seed,
    two accuracies on `n_eval` examples each."""
    return accuracy_difference_interval(a, b, n_eval).scaled(100)


def run_values(runs: pd.DataFrame, task: str, evaluation: str) -> list[float]:
    """Per-seed accuracies of the model pretrained with `task` on `evaluation`, sorted by seed."""
    rows = runs[runs["task"] == task].sort_values("seed")
    return rows[f"{evaluation}_acc"].astype(float).tolist()


def curve_frame(curves: pd.DataFrame) -> pd.DataFrame:
    """Held-out accuracy checkpoints: mean and std over seeds per task, step and evaluation."""
    points = curves.dropna(subset=[f"{e}_acc" for e in TASKS])
    return points.groupby(["task", "step"])[[f"{e}_acc" for e in TASKS]].agg(["mean", "std"]).reset_index()


def plot_curves(curves: pd.DataFrame, smooth: int = 20) -> Figure:
    """Learning curves: training MLM and pair loss (smoothed), and held-out MLM / NSP / SOP accuracy vs step."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 5, figsize=(18, 3.6))
    colors = {"mlm": "0.45", "nsp": "#0072B2", "sop": "#E69F00"}  # grey baseline; Okabe–Ito blue and orange
    markers = {"mlm": "s", "nsp": "o", "sop": "^"}  # tasks told apart without colour too
    for task, group in curves.groupby("task", sort=False):
        mean = group.groupby("step")[["mlm_loss", "pair_loss"]].mean().rolling(smooth, min_periods=1).mean()
        axes[0].plot(
            mean.index, mean["mlm_loss"], color=colors[task], marker=markers[task], label=TASK_NAMES[task]
        )
        if task != "mlm":
            axes[1].plot(
                mean.index,
                mean["pair_loss"],
                color=colors[task],
                marker=markers[task],
                label=TASK_NAMES[task],
            )
        points = group.dropna(subset=["mlm_acc"]).groupby("step")[[f"{e}_acc" for e in TASKS]]
        mean_acc, std_acc = points.mean(), points.std().fillna(0.0)
        for ax, e in zip(axes[2:], TASKS, strict=True):
            ax.plot(
                mean_acc.index,
                100 * mean_acc[f"{e}_acc"],
                marker=markers[task],
                ms=3,
                color=colors[task],
                label=TASK_NAMES[task],
            )
            ax.fill_between(
                mean_acc.index,
                100 * (mean_acc[f"{e}_acc"] - std_acc[f"{e}_acc"]),
                100 * (mean_acc[f"{e}_acc"] + std_acc[f"{e}_acc"]),
                color=colors[task],
                alpha=0.15,
            )
    axes[0].set(title="training MLM loss", xlabel="step")
    axes[1].set(title="training pair loss", xlabel="step")
    for ax, e in zip(axes[2:], TASKS, strict=True):
        ax.set(title=f"held-out {e.upper()} accuracy (%)", xlabel="step")
        if e != "mlm":
            ax.axhline(50, color="black", lw=0.8, ls=":")
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    return fig
