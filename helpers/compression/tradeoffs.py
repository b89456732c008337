"""Compression trade-offs (notebook 08): the Pareto front, rankings, a computed "what to use when", the
size/speed target and plots, over the table of measured variants."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from helpers.compression.claims import TARGET_DROP_PTS, TARGET_SIZE_X, TARGET_SPEED_X
from helpers.compression.variants import BASELINE, TEACHER
from helpers.core.params import require

NAME = "name"
SIZE = "size_bytes"
LATENCY = "latency_ms_b1"
ACCURACY = "accuracy_mean"
GPU_LATENCY = "gpu_latency_ms_b1"
MINIMISE: tuple[str, ...] = (SIZE, LATENCY)
MAXIMISE: tuple[str, ...] = (ACCURACY,)
PTS_TOL = 1e-9  # float round-off allowed when comparing accuracy differences in points


def _check_columns(frame: pd.DataFrame, columns: Sequence[str]) -> None:
    missing = [c for c in columns if c not in frame.columns]
    require(
        not missing,
        f"The variants table lacks column(s) {', '.join(missing)}; build it with as_table().",
    )
    require(
        frame[NAME].is_unique, "Variant names in the table are not unique; give every variant its own name."
    )
    values = frame[list(columns[1:])].to_numpy(dtype=float)
    require(
        bool(np.isfinite(values).all()),
        "A size, latency or accuracy is missing (NaN); measure every variant.",
    )


def dominates(
    a: pd.Series, b: pd.Series, minimise: Sequence[str] = MINIMISE, maximise: Sequence[str] = MAXIMISE
) -> bool:
    """True when `a` is no worse than `b` on every objective and strictly better on at least one."""
    no_worse = all(a[c] <= b[c] for c in minimise) and all(a[c] >= b[c] for c in maximise)
    better = any(a[c] < b[c] for c in minimise) or any(a[c] > b[c] for c in maximise)
    return no_worse and better


def pareto_front(
    frame: pd.DataFrame, minimise: Sequence[str] = MINIMISE, maximise: Sequence[str] = MAXIMISE
) -> list[str]:
    """Names of the non-dominated variants (ties on every objective all stay on the front), in table order."""
    require(
        len(frame) > 0, "The variants table is empty; measure at least one variant before asking for a front."
    )
    _check_columns(frame, [NAME, *minimise, *maximise])
    rows = [row for _, row in frame.iterrows()]
    return [
        str(row[NAME]) for row in rows if not any(dominates(other, row, minimise, maximise) for other in rows)
    ]


def dominated_by(
    frame: pd.DataFrame, minimise: Sequence[str] = MINIMISE, maximise: Sequence[str] = MAXIMISE
) -> dict[str, list[str]]:
    """For every variant, the names of the variants that dominate it (empty for the Pareto front)."""
    _check_columns(frame, [NAME, *minimise, *maximise])
    rows = [row for _, row in frame.iterrows()]
    return {
        str(row[NAME]): [str(o[NAME]) for o in rows if dominates(o, row, minimise, maximise)] for row in rows
    }


def ranking_table(frame: pd.DataFrame, baseline: str) -> pd.DataFrame:
    """Variants ranked by size, latency and accuracy (1 = best), with ratios to `baseline`, by mean rank."""
    _check_columns(frame, [NAME, SIZE, LATENCY, ACCURACY])
    require(
        baseline in set(frame[NAME]),
        f"Baseline {baseline!r} is not in the variants table; pass a listed name.",
    )
    base = frame.set_index(NAME).loc[baseline]
    table = frame[[NAME, SIZE, LATENCY, ACCURACY]].copy()
    table["size_x_smaller"] = base[SIZE] / table[SIZE]
    table["speedup_b1"] = base[LATENCY] / table[LATENCY]
    table["accuracy_delta_pts"] = 100 * (table[ACCURACY] - base[ACCURACY])
    if "macs" in frame:
        macs = pd.to_numeric(frame["macs"], errors="coerce")
        table["macs_x_fewer"] = macs[frame[NAME] == baseline].iloc[0] / macs
    table["rank_size"] = table[SIZE].rank(method="min").astype(int)
    table["rank_latency"] = table[LATENCY].rank(method="min").astype(int)
    table["rank_accuracy"] = table[ACCURACY].rank(method="min", ascending=False).astype(int)
    table["mean_rank"] = table[["rank_size", "rank_latency", "rank_accuracy"]].mean(axis=1)
    return table.sort_values(["mean_rank", SIZE]).reset_index(drop=True)


def what_to_use_when(
    frame: pd.DataFrame, baseline: str, budgets_pts: Sequence[float] = (0.5, 1.0, 2.0)
) -> pd.DataFrame:
    """For each accuracy budget (points below the baseline allowed): the smallest and the fastest variant within it."""
    ranked = ranking_table(frame, baseline)
    rows = []
    for budget in budgets_pts:
        allowed = ranked[ranked["accuracy_delta_pts"] >= -budget - PTS_TOL]
        for goal, column in (("smallest", SIZE), ("fastest (CPU, batch 1)", LATENCY)):
            best = allowed.sort_values([column, ACCURACY], ascending=[True, False]).iloc[0]
            rows.append(
                {
                    "if you can lose at most": f"{budget:g} pts",
                    "and you want the": goal,
                    "use": best[NAME],
                    "x smaller": best["size_x_smaller"],
                    "x faster": best["speedup_b1"],
                    "accuracy Δ (pts)": best["accuracy_delta_pts"],
                }
            )
    best_acc = ranked.sort_values([ACCURACY, SIZE], ascending=[False, True]).iloc[0]
    rows.append(
        {
            "if you can lose at most": "nothing",
            "and you want the": "most accurate",
            "use": best_acc[NAME],
            "x smaller": best_acc["size_x_smaller"],
            "x faster": best_acc["speedup_b1"],
            "accuracy Δ (pts)": best_acc["accuracy_delta_pts"],
        }
    )
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class Target:
    """A compression target relative to the baseline: at least `size_x` smaller, `speed_x` faster, ≤ `drop_pts` lost."""

    size_x: float = 4.0
    speed_x: float = 2.0
    drop_pts: float = 1.0

    def check(self, frame: pd.DataFrame, baseline: str, candidates: Sequence[str]) -> pd.DataFrame:
        """Each candidate's ratios, which of the three conditions it meets, and how many, best first."""
        require(len(candidates) > 0, "No candidate variants for the target; pass at least one variant name.")
        ranked = ranking_table(frame, baseline).set_index(NAME)
        unknown = [c for c in candidates if c not in ranked.index]
        require(not unknown, f"Candidate(s) {', '.join(unknown)} are not in the variants table.")
        table = ranked.loc[list(candidates), ["size_x_smaller", "speedup_b1", "accuracy_delta_pts"]].copy()
        table["size_ok"] = table["size_x_smaller"] >= self.size_x
        table["speed_ok"] = table["speedup_b1"] >= self.speed_x
        table["accuracy_ok"] = table["accuracy_delta_pts"] >= -self.drop_pts - PTS_TOL
        table["conditions_met"] = table[["size_ok", "speed_ok", "accuracy_ok"]].sum(axis=1).astype(int)
        table["slack"] = np.minimum.reduce(
            [
                table["size_x_smaller"] / self.size_x,
                table["speedup_b1"] / self.speed_x,
                (self.drop_pts + table["accuracy_delta_pts"]) / self.drop_pts,
            ]
        )
        return table.sort_values(["conditions_met", "slack"], ascending=False).rename_axis(NAME).reset_index()

    def limits(self, row: pd.Series) -> str:
        """One sentence naming the conditions a checked candidate misses, with its measured numbers."""
        missed = []
        if not row["size_ok"]:
            missed.append(f"size is {row['size_x_smaller']:.2f}x smaller (< {self.size_x:g}x)")
        if not row["speed_ok"]:
            missed.append(f"batch-1 CPU speedup is {row['speedup_b1']:.2f}x (< {self.speed_x:g}x)")
        if not row["accuracy_ok"]:
            missed.append(f"accuracy is {-row['accuracy_delta_pts']:.2f} pts lower (> {self.drop_pts:g} pts)")
        if not missed:
            return f"{row[NAME]} meets all three conditions."
        return f"{row[NAME]} misses the target because its " + "; its ".join(missed) + "."


def plot_tradeoffs(frame: pd.DataFrame, front: Sequence[str], baseline: str) -> Figure:
    """Accuracy vs serialized size (log x) and vs CPU batch-1 latency (and GPU latency when measured), with seed
    error bars on accuracy, latency IQR bars, the baseline as a star and the Pareto-front variants ringed."""
    import matplotlib.pyplot as plt

    _check_columns(frame, [NAME, SIZE, LATENCY, ACCURACY])
    panels = [
        (SIZE, None, "serialized size (bytes, log scale)"),
        (LATENCY, "latency_iqr_ms_b1", "CPU latency, batch 1 (ms, median ± IQR/2)"),
    ]
    if GPU_LATENCY in frame and frame[GPU_LATENCY].notna().any():
        panels.append((GPU_LATENCY, None, "GPU latency, batch 1 (ms, median)"))
    fig, axes = plt.subplots(1, len(panels), figsize=(6 * len(panels), 4.8), sharey=True, squeeze=False)
    cycle = plt.rcParams["axes.prop_cycle"].by_key()
    colours = cycle["color"]
    markers = [m for m in cycle.get("marker", ["o"]) if m != "*"] or ["o"]  # "*" marks the baseline
    for ax, (column, spread, label) in zip(axes[0], panels, strict=True):
        for i, row in enumerate(frame.itertuples(index=False)):
            values = row._asdict()
            if pd.isna(values[column]):
                continue
            xerr = values.get(spread, 0) / 2 if spread else None
            ax.errorbar(
                values[column],
                100 * values[ACCURACY],
                yerr=100 * values.get("accuracy_std", 0),
                xerr=xerr,
                fmt="*" if values[NAME] == baseline else markers[i % len(markers)],
                markersize=12 if values[NAME] == baseline else 6,
                capsize=3,
                color=colours[i % len(colours)],
                label=values[NAME],
            )
        ringed = frame[frame[NAME].isin(front) & frame[column].notna()]
        ax.scatter(
            ringed[column],
            100 * ringed[ACCURACY],
            s=240,
            facecolors="none",
            edgecolors="black",
            linewidths=1.4,
            zorder=5,
            label="Pareto front (size, CPU latency, accuracy)",
        )
        ax.set_xlabel(label)
        ax.grid(True, which="both", alpha=0.3)
    axes[0][0].set_xscale("log")
    axes[0][0].set_ylabel("held-out accuracy (%, mean ± std over seeds)")
    handles, labels = axes[0][1].get_legend_handles_labels()
    fig.legend(handles, labels, loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=8)
    fig.tight_layout()
    return fig


def best_compressed(frame: pd.DataFrame, target: Target, exclude: Sequence[str] = (BASELINE, TEACHER)) -> str:
    """The compressed variant closest to `target` (most conditions met, then largest slack): the one to ship."""
    candidates = [n for n in frame[NAME] if n not in exclude]
    return str(target.check(frame, BASELINE, candidates).iloc[0][NAME])


# --- final claim verdicts ----------------------------------------------------------------------------------------

TARGET = Target(size_x=TARGET_SIZE_X, speed_x=TARGET_SPEED_X, drop_pts=TARGET_DROP_PTS)
