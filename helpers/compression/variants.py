"""The variants of notebooks 04–07 and their combinations (notebook 08), rebuilt in-process and measured."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import pandas as pd
import torch
from torch import nn
from tqdm.auto import tqdm

from helpers.compression.claims import (
    ARCHITECTURE_ACCURACY,
    DISTILLATION_ACCURACY_VS_TEACHER,
    DISTILLATION_BEATS_STUDENT,
    PRUNING_ACCURACY,
    QUANTIZATION_ACCURACY,
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
    """The shared variants_frame with the variant name as a column (the form the functions of helpers.compression.tradeoffs take)."""
    values = list(rows.values()) if isinstance(rows, dict) else list(rows)
    return variants_frame(values).reset_index()


# --- final claim verdicts ----------------------------------------------------------------------------------------


def final_accuracy_claims(recipe: Recipe) -> list[tuple[Claim, str, str]]:
    """(claim re-declared for the running notebook, variant expected more accurate, variant expected less); each
    statement names the variants and settings notebook 08 measures, which are not always those of 04–07."""
    distillation = f"T = {recipe.temperature:g}, α = {recipe.alpha:g} for every seed"
    pairs = (
        (
            ARCHITECTURE_ACCURACY,
            BASELINE,
            "separable",
            "Architecture improvement typically decreases accuracy (the standard CNN against its "
            "depthwise-separable twin)",
        ),
        (
            PRUNING_ACCURACY,
            "pruned",
            BASELINE,
            f"Model pruning can often increase accuracy (full training split, the CNN with {recipe.prune_ratio:.0%} "
            f"of each group's channels removed by structured pruning and fine-tuned)",
        ),
        (
            QUANTIZATION_ACCURACY,
            "int8",
            BASELINE,
            "Quantization can often increase accuracy (full training split, the CNN converted to PT2E static int8)",
        ),
        (
            DISTILLATION_ACCURACY_VS_TEACHER,
            TEACHER,
            "distilled",
            f"Model distillation typically decreases accuracy (distilled student vs teacher, {distillation})",
        ),
        (
            DISTILLATION_BEATS_STUDENT[1.0],
            "distilled",
            "student",
            f"A distilled student is more accurate than the same student trained alone (all training labels, "
            f"{distillation}, where notebook 07 chooses T and α on validation)",
        ),
    )
    return [(final_claim(claim, statement), higher, lower) for claim, higher, lower, statement in pairs]
