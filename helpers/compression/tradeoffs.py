"""Compression trade-offs (notebook 08): the variants of 04–07 and their combinations rebuilt with the shared
helpers, the Pareto front, rankings, a computed "what to use when", the size/speed target, plots, final claims."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
import torch
from matplotlib.figure import Figure
from torch import nn
from tqdm.auto import tqdm

from helpers.compression.claims import (
    ARCHITECTURE_ACCURACY,
    DISTILLATION_ACCURACY_VS_TEACHER,
    DISTILLATION_BEATS_STUDENT,
    PRUNING_ACCURACY,
    QUANTIZATION_ACCURACY,
    TARGET_DROP_PTS,
    TARGET_SIZE_X,
    TARGET_SPEED_X,
    final_claim,
)
from helpers.compression.data import EdgeData
from helpers.compression.measure import VariantResult, measure_variant, variants_frame
from helpers.compression.models import STUDENT_WIDTH_MULT, TEACHER_WIDTH_MULT, make_cnn
from helpers.compression.train import (
    DistillationLoss,
    TrainConfig,
    TrainResult,
    evaluate,
    fine_tune,
    train_over_seeds,
)
from helpers.core.claims import Claim
from helpers.core.model_size import count_params
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


# --- the variants of notebooks 04–07 and their combinations, rebuilt in-process -------------------------------

BASELINE = "cnn"
# notebook 07's teacher is the baseline itself when it is equally wide
TEACHER = BASELINE if TEACHER_WIDTH_MULT == 1.0 else "teacher"
METHODS: dict[str, str] = {
    BASELINE: "baseline",
    "separable": "architecture",
    "pruned": "pruning",
    "int8": "quantization",
    TEACHER: "baseline" if TEACHER == BASELINE else "distillation",
    "student": "distillation",
    "distilled": "distillation",
    "distill-prune-int8": "combination",
    "separable-int8": "combination",
}
SINGLE_METHOD_VARIANTS: dict[str, str] = {
    "architecture": "separable",
    "pruning": "pruned",
    "quantization": "int8",
    "distillation": "distilled",
}
COMBINATIONS: dict[str, tuple[str, ...]] = {
    "distill-prune-int8": ("distilled", "pruned", "int8"),
    "separable-int8": ("separable", "int8"),
}


@dataclass(frozen=True)
class Recipe:
    """How the variants are rebuilt: CNN width, structured-pruning ratios (of the baseline, and of the distilled
    student in the combination), fine-tuning epochs and learning-rate scale, distillation, int8 calibration."""

    width_mult: float = 1.0
    prune_ratio: float = 0.5
    combo_prune_ratio: float = 0.25
    finetune_epochs: int = 3
    finetune_lr_scale: float = 1.0
    temperature: float = 4.0
    alpha: float = 0.7
    calibration_size: int = 256

    def __post_init__(self) -> None:
        require(self.width_mult > 0, f"width_mult={self.width_mult!r} must be > 0 (1.0 is the 04–07 CNN).")
        for name in ("prune_ratio", "combo_prune_ratio"):
            value = getattr(self, name)
            require(0 < value < 1, f"{name}={value!r} must lie strictly between 0 and 1.")
        require(self.finetune_lr_scale > 0, f"finetune_lr_scale={self.finetune_lr_scale!r} must be > 0.")
        require(self.temperature > 0, f"temperature={self.temperature!r} must be > 0.")
        require(0 <= self.alpha <= 1, f"alpha={self.alpha!r} is the soft-loss weight and must lie in [0, 1].")
        require(
            isinstance(self.finetune_epochs, int) and self.finetune_epochs >= 1,
            f"finetune_epochs={self.finetune_epochs!r} must be an integer ≥ 1.",
        )
        require(self.calibration_size >= 1, f"calibration_size={self.calibration_size!r} must be ≥ 1 image.")


@dataclass
class SeededVariant:
    """One variant over seeds: its method, the first seed's model (measured and exported), every seed's accuracy.

    For int8 variants `fp32` is the float network the first seed's int8 graph was converted from.
    """

    method: str
    model: Any = None
    fp32: Any = None
    seeds: list[int] = field(default_factory=list)
    accuracies: list[float] = field(default_factory=list)

    def add(self, seed: int, model: Any, accuracy: float, fp32: Any = None) -> None:
        """Add one seed's accuracy; keep the model (and its float source) of the first seed only."""
        if self.model is None:
            self.model, self.fp32 = model, fp32
        self.seeds.append(int(seed))
        self.accuracies.append(float(accuracy))


class Int8Converter:
    """PT2E static int8 (helpers.compression.quantization) with one torch.export per variant name: later seeds load their
    weights into the exported graph instead of exporting again (same shapes; re-exported if they differ)."""

    def __init__(self, calibration: torch.Tensor) -> None:
        self.calibration = calibration.to("cpu")
        self.exported: dict[str, torch.fx.GraphModule] = {}

    def __call__(self, name: str, model: nn.Module) -> tuple[torch.fx.GraphModule, nn.Module]:
        """(int8 graph that accepts .eval(), its float source on the CPU) for `model`."""
        from helpers.compression.quantization import export_for_quantization, static_int8_pt2e

        fp32 = copy.deepcopy(model).to("cpu").eval()
        exported = self.exported.get(name)
        try:
            if exported is None:
                raise RuntimeError("first export")
            exported.load_state_dict(fp32.state_dict())
        except RuntimeError:
            exported = self.exported[name] = export_for_quantization(fp32, self.calibration[:2])
        return static_int8_pt2e(exported, self.calibration), fp32


def train_one_seed(data: EdgeData, config: TrainConfig, seed: int, recipe: Recipe) -> dict[str, TrainResult]:
    """One seed's float variants: baseline, separable, teacher (the baseline itself when TEACHER_WIDTH_MULT is 1),
    student alone, distilled student, the pruned baseline and the pruned distilled student (both fine-tuned; the
    latter with the distillation loss)."""
    from helpers.compression.pruning import structured_prune

    shape = {"in_channels": data.in_channels, "num_classes": data.num_classes}
    builds = {
        BASELINE: lambda: make_cnn("standard", recipe.width_mult, **shape),
        "separable": lambda: make_cnn("separable", recipe.width_mult, **shape),
        TEACHER: lambda: make_cnn("standard", TEACHER_WIDTH_MULT * recipe.width_mult, **shape),
        "student": lambda: make_cnn("standard", STUDENT_WIDTH_MULT * recipe.width_mult, **shape),
    }
    trained = {
        name: train_over_seeds(build, [seed], data, config, desc=name)[0] for name, build in builds.items()
    }
    distil = DistillationLoss(trained[TEACHER].model, recipe.temperature, recipe.alpha)
    trained["distilled"] = train_over_seeds(
        builds["student"], [seed], data, config, lambda _: distil, "distilled"
    )[0]
    example = data.x_train[:1].to(config.device)
    for name, source, ratio, loss in (
        ("pruned", BASELINE, recipe.prune_ratio, None),
        ("distilled-pruned", "distilled", recipe.combo_prune_ratio, distil),
    ):
        pruned = structured_prune(trained[source].model, example, ratio)
        trained[name] = fine_tune(
            pruned,
            data,
            config,
            seed,
            recipe.finetune_epochs,
            recipe.finetune_lr_scale,
            loss_fn=loss,
            desc=name,
        )
    return trained


INT8_SOURCES = {"int8": BASELINE, "separable-int8": "separable", "distill-prune-int8": "distilled-pruned"}


def build_variants(
    data: EdgeData, config: TrainConfig, seeds: Sequence[int], recipe: Recipe
) -> dict[str, SeededVariant]:
    """Train, prune, distil and quantize every variant of METHODS once per seed with the shared helpers of 04–07."""
    variants = {name: SeededVariant(method) for name, method in METHODS.items()}
    to_int8 = Int8Converter(data.x_train[: recipe.calibration_size])
    x_test, y_test = data.x_test.cpu(), data.y_test.cpu()
    for seed in tqdm(list(seeds), desc="seeds"):
        trained = train_one_seed(data, config, seed, recipe)
        for name, result in trained.items():
            if name in variants:
                variants[name].add(seed, result.model, result.test_accuracy)
        for name, source in INT8_SOURCES.items():
            converted, fp32 = to_int8(name, trained[source].model)
            variants[name].add(seed, converted, evaluate(converted, x_test, y_test), fp32)
    return variants


def measure_variants(
    variants: dict[str, SeededVariant], example: torch.Tensor, min_run_time: float, lower_int8: bool
) -> dict[str, VariantResult]:
    """The shared VariantResult row of every variant (seed 0's model); int8 graphs are timed lowered to oneDNN
    int8 kernels when `lower_int8`, else as the q/dq reference graph, which computes in fp32."""
    from helpers.compression.quantization import lower_to_x86, measure_static_variant

    example = example.to("cpu")
    rows: dict[str, VariantResult] = {}
    for name, v in tqdm(variants.items(), desc="measure"):
        if v.fp32 is None:
            rows[name] = measure_variant(
                name, v.method, v.model, example, v.accuracies, v.seeds, min_run_time=min_run_time
            )
        elif lower_int8:
            batches = (example[:1].contiguous(), example.contiguous())
            lowered = lower_to_x86(v.model, batches)
            row = measure_static_variant(
                name, v.fp32, v.model, lowered, example, v.accuracies, v.seeds, min_run_time
            )
            rows[name] = replace(row, method=v.method)
        else:
            row = measure_variant(
                name,
                v.method,
                v.model,
                example,
                v.accuracies,
                v.seeds,
                min_run_time=min_run_time,
                params=count_params(v.fp32),
            )
            note = "latency of the q/dq reference graph (fp32 kernels; lower_int8=True times oneDNN int8 kernels)"
            rows[name] = replace(row, notes="; ".join(n for n in (row.notes, note) if n))
    return rows


def as_table(rows: dict[str, VariantResult] | Sequence[VariantResult]) -> pd.DataFrame:
    """The shared variants_frame with the variant name as a column (the form the functions above take)."""
    values = list(rows.values()) if isinstance(rows, dict) else list(rows)
    return variants_frame(values).reset_index()


def best_compressed(frame: pd.DataFrame, target: Target, exclude: Sequence[str] = (BASELINE, TEACHER)) -> str:
    """The compressed variant closest to `target` (most conditions met, then largest slack): the one to ship."""
    candidates = [n for n in frame[NAME] if n not in exclude]
    return str(target.check(frame, BASELINE, candidates).iloc[0][NAME])


# --- final claim verdicts ----------------------------------------------------------------------------------------

TARGET = Target(size_x=TARGET_SIZE_X, speed_x=TARGET_SPEED_X, drop_pts=TARGET_DROP_PTS)


def final_accuracy_claims() -> list[tuple[Claim, str, str]]:
    """(claim re-declared for the running notebook, variant expected more accurate, variant expected less)."""
    pairs = (
        (ARCHITECTURE_ACCURACY, BASELINE, "separable"),
        (PRUNING_ACCURACY, "pruned", BASELINE),
        (QUANTIZATION_ACCURACY, "int8", BASELINE),
        (DISTILLATION_ACCURACY_VS_TEACHER, TEACHER, "distilled"),
        (DISTILLATION_BEATS_STUDENT[1.0], "distilled", "student"),
    )
    return [(final_claim(claim), higher, lower) for claim, higher, lower in pairs]
