"""The compression claims of notebooks 04–08, declared before anything is measured: quote, regime, rule.

Efficiency is judged per measure — serialized size, CPU latency at batch 1, CPU throughput at batch 64 — so a
technique that shrinks a model but slows it down says so. Accuracy claims are judged per regime: today's regime
(the full training split), and the regimes where the claimed mechanism should show (an over-parameterised model
that over-fits a small training fraction for pruning and quantization; little labelled data for distillation).
A claim's notebook is the one that assesses it (derived when it is assessed), never typed here.
"""

from __future__ import annotations

from dataclasses import replace

from helpers.core.claims import Claim, at_least, greater_than

SOURCE = (
    "Nick Pentreath (IBM), 'Scaling up Deep Learning by Scaling Down', Spark + AI Summit, as summarised in "
    "'My week in AI: Part 6'"
)
QUOTE_EFFICIENCY = "Each of the four techniques leads to significant efficiency improvements"
QUOTE_ACCURACY = (
    "Architecture improvement and model distillation typically cause a decrease in accuracy, whereas model "
    "pruning and quantization can often cause an increase in accuracy."
)

# --- regimes, fixed before measuring ----------------------------------------------------------------------------
OVERFIT_FRACTION = (
    0.1  # over-fit regime: the wide MLP (64 → 512 → 512 → 10) trained on 10 % of the training split
)
OVERFIT_SPARSITY = (
    0.5  # the sparsity whose pruned model is assessed in the over-fit regime (the sweep is context)
)
OVERFIT_BITS = 8  # the weight bit width whose fake-quantized model is assessed there (the sweep is context)
LABEL_FRACTIONS = (
    0.05,
    0.2,
    1.0,
)  # distillation: labelled fractions of the training split (teacher: all of it)

# --- efficiency: one claim per technique and measure -------------------------------------------------------------
SIGNIFICANT_RATIO = 2.0  # "significant": at least 2× smaller, faster or higher throughput than the reference
PARTLY_RATIO = 1.25  # partly: a real but modest gain of at least 1.25×
MEASURES = {
    "size": "serialized size (bytes of the saved state_dict)",
    "latency_b1": "CPU latency at batch 1",
    "throughput_b64": "CPU throughput at batch 64 (images per second)",
}
EFFICIENCY_RULE_TEXT = (
    f"each measure is judged on its own: reference / variant for size and batch-1 latency, variant / reference "
    f"for batch-64 throughput; significant when ≥ {SIGNIFICANT_RATIO:g}× (partly ≥ {PARTLY_RATIO:g}×), so below "
    f"1× means larger or slower; the latency measures are judged on the 95 % interval of the median over the "
    f"paired rounds, inconclusive when it straddles a bound"
)
# The smallest accuracy change that counts as one, fixed with the rule: half a percentage point (14 of the text
# task's 2,800 test paragraphs, under two of the 359 held-out digits). A change wholly smaller is negligible.
NEGLIGIBLE_ACCURACY_CHANGE = 0.005
ACCURACY_RULE_TEXT = (
    "measured = mean over seeds of the per-seed accuracy difference in the claimed direction (both arms of a "
    "seed share its data order and initialisation, and its base model where one is derived from the other), with "
    "its 95 % paired t interval; reproduced when the whole interval is above 0, not reproduced when it lies "
    f"wholly at or below +{100 * NEGLIGIBLE_ACCURACY_CHANGE:g} points (no change in the claimed direction, or one "
    f"too small to count), inconclusive when it includes 0 and reaches +{100 * NEGLIGIBLE_ACCURACY_CHANGE:g} "
    "points; needs ≥ 2 seeds"
)


def _efficiency(technique: str, label: str) -> dict[str, Claim]:
    return {
        measure: Claim(
            f"compression.{technique}.efficiency.{measure}",
            SOURCE,
            f"{label} gives a significant efficiency improvement in {words} ('{QUOTE_EFFICIENCY}')",
            f"significant (≥ {SIGNIFICANT_RATIO:g}×)",
            "× (better than the reference)",
            at_least(SIGNIFICANT_RATIO, partly=PARTLY_RATIO),
        )
        for measure, words in MEASURES.items()
    }


def _accuracy(cid: str, statement: str) -> Claim:
    return Claim(
        cid,
        SOURCE,
        statement,
        "accuracy change in the claimed direction",
        "accuracy difference (fraction)",
        greater_than(0, negligible=NEGLIGIBLE_ACCURACY_CHANGE),
    )


def _fraction_id(fraction: float) -> str:
    return f"labels_{round(100 * fraction)}pct"


ARCHITECTURE_EFFICIENCY = _efficiency("architecture", "Architecture improvement")
PRUNING_EFFICIENCY = _efficiency("pruning", "Pruning")
QUANTIZATION_EFFICIENCY = _efficiency("quantization", "Quantization")
DISTILLATION_EFFICIENCY = _efficiency("distillation", "Distillation (teacher → student)")

ARCHITECTURE_ACCURACY = _accuracy(
    "compression.architecture.accuracy_decrease",
    "Architecture improvement (depthwise-separable blocks) typically decreases accuracy",
)
PRUNING_ACCURACY = _accuracy(
    "compression.pruning.accuracy_increase",
    "Model pruning can often increase accuracy (full training split, structured pruning with fine-tuning)",
)
PRUNING_ACCURACY_OVERFIT = _accuracy(
    "compression.pruning.accuracy_increase.overfit",
    f"Model pruning can often increase accuracy (over-fit regime: wide MLP on {OVERFIT_FRACTION:.0%} of the "
    f"training split, {OVERFIT_SPARSITY:.0%} magnitude sparsity and fine-tuning, against the dense model "
    f"fine-tuned alike)",
)
QUANTIZATION_ACCURACY = _accuracy(
    "compression.quantization.accuracy_increase",
    "Quantization can often increase accuracy (full training split, torchao dynamic int8 MLP)",
)
QUANTIZATION_ACCURACY_OVERFIT = _accuracy(
    "compression.quantization.accuracy_increase.overfit",
    f"Quantization can often increase accuracy (over-fit regime: wide MLP on {OVERFIT_FRACTION:.0%} of the "
    f"training split, weights fake-quantized to {OVERFIT_BITS} bits)",
)
DISTILLATION_ACCURACY_VS_TEACHER = _accuracy(
    "compression.distillation.accuracy_decrease_vs_teacher",
    "Model distillation typically decreases accuracy (distilled student vs teacher)",
)
DISTILLATION_BEATS_STUDENT = {
    fraction: _accuracy(
        f"compression.distillation.beats_student_alone.{_fraction_id(fraction)}",
        f"A distilled student is more accurate than the same student trained alone ({fraction:.0%} of the "
        f"training labels; the teacher saw all of them; T and α chosen on validation by notebook 07's sweep)",
    )
    for fraction in LABEL_FRACTIONS
}

# --- a task below the ceiling: which package a documentation paragraph comes from (notebook 08) -------------------
TEXT_TASK = "package-of-origin text task"
TEXT_BASELINE_SHAPE = {"embed_dim": 128, "hidden": 256}  # the baseline, which is also the teacher
TEXT_STUDENT_WIDTH = 4  # distillation's student is a quarter as wide as the baseline, in every layer
TEXT_STUDENT_SHAPE = {name: size // TEXT_STUDENT_WIDTH for name, size in TEXT_BASELINE_SHAPE.items()}
TEXT_FACTOR_DIM = 16  # architecture: the factorised embedding's table width
TEXT_PRUNE_RATIO = 0.5  # pruning: the fraction of hidden units structured pruning removes
TEXT_FEW_LABELS = 0.05  # distillation: the labelled fraction where a teacher should help most


TEXT_ACCURACY_CLAIMS = {
    "architecture": (
        "architecture.accuracy_decrease",
        "Architecture improvement typically decreases accuracy",
        f"the full {TEXT_BASELINE_SHAPE['embed_dim']}-wide embedding table against an ALBERT-style factorised one, "
        f"{TEXT_FACTOR_DIM} wide and projected to {TEXT_BASELINE_SHAPE['embed_dim']}",
    ),
    "pruning": (
        "pruning.accuracy_increase",
        "Model pruning can often increase accuracy",
        f"all training labels, {TEXT_PRUNE_RATIO:.0%} of the hidden units removed by structured pruning and "
        "fine-tuned, against the model fine-tuned alike",
    ),
    "pruning_overfit": (
        "pruning.accuracy_increase.overfit",
        "Model pruning can often increase accuracy",
        f"over-fit regime: the model on {OVERFIT_FRACTION:.0%} of the training labels, {OVERFIT_SPARSITY:.0%} "
        "magnitude sparsity of its Linear weights and fine-tuning, against the dense model fine-tuned alike",
    ),
    "quantization": (
        "quantization.accuracy_increase",
        "Quantization can often increase accuracy",
        f"all training labels, every weight rounded to {OVERFIT_BITS} bits, against fp32",
    ),
    "quantization_overfit": (
        "quantization.accuracy_increase.overfit",
        "Quantization can often increase accuracy",
        f"over-fit regime: the model on {OVERFIT_FRACTION:.0%} of the training labels, every weight rounded to "
        f"{OVERFIT_BITS} bits, against fp32",
    ),
    "distillation_vs_teacher": (
        "distillation.accuracy_decrease_vs_teacher",
        "Model distillation typically decreases accuracy",
        "a student a quarter as wide, distilled from the baseline as teacher with all training labels, against "
        "the teacher",
    ),
    "distillation_few_labels": (
        f"distillation.beats_student_alone.{_fraction_id(TEXT_FEW_LABELS)}",
        "A distilled student is more accurate than the same student trained alone",
        f"{TEXT_FEW_LABELS:.0%} of the training labels, the teacher trained on all of them",
    ),
    "distillation_all_labels": (
        f"distillation.beats_student_alone.{_fraction_id(1.0)}",
        "A distilled student is more accurate than the same student trained alone",
        "all training labels",
    ),
}


def text_claim(key: str, temperature: float, alpha: float) -> Claim:
    """One accuracy claim of the text task (a key of TEXT_ACCURACY_CLAIMS), its statement naming the regime and,
    for distillation, the temperature and weight used."""
    cid, statement, regime = TEXT_ACCURACY_CLAIMS[key]
    if key.startswith("distillation"):
        regime += f", T = {temperature:g}, α = {alpha:g}"
    return _accuracy(f"compression.text.{cid}", f"{statement} ({TEXT_TASK}: {regime})")


# --- where compute dominates: int8 against fp32 on each deployment path (notebook 06) -----------------------------
DEPLOYMENT_PATHS = ("PyTorch eager", "torch.compile", "ONNX Runtime")
COMPUTE_BOUND_WIDTH = 1024  # the Linear block 1024 → 4096 → 1024 (8.4 M MACs per row): arithmetic, not calls
SPEED_MEASURES = {"latency_b1": "CPU latency at batch 1", "throughput_b64": "CPU throughput at batch 64"}
SPEED_BATCH = {"latency_b1": 1, "throughput_b64": 64}  # the batch each speed measure is timed at


def path_id(path: str) -> str:
    """A deployment path as an identifier: 'PyTorch eager' → 'eager', 'torch.compile' → 'torch_compile'."""
    return path.lower().replace("pytorch ", "").replace("torch.", "torch_").replace(" ", "_")


def _compute_bound(technique: str, label: str, setting: str, faster: str) -> dict[tuple[str, str], Claim]:
    """One speed claim per deployment path and speed measure for `technique`, judged where compute dominates;
    the measured ratio is how many times `faster` (e.g. 'int8 than fp32') the candidate is."""
    return {
        (path, measure): Claim(
            f"compression.{technique}.compute_bound.{path_id(path)}.{measure}",
            SOURCE,
            f"{label} gives a significant efficiency improvement in {words} where compute dominates ({setting}, "
            f"{path}) ('{QUOTE_EFFICIENCY}')",
            f"significant (≥ {SIGNIFICANT_RATIO:g}×)",
            f"× ({faster})",
            at_least(SIGNIFICANT_RATIO, partly=PARTLY_RATIO),
        )
        for path in DEPLOYMENT_PATHS
        for measure, words in SPEED_MEASURES.items()
    }


QUANTIZATION_SPEED_COMPUTE_BOUND = _compute_bound(
    "quantization",
    "Quantization",
    f"int8 against fp32 on a Linear {COMPUTE_BOUND_WIDTH} → {4 * COMPUTE_BOUND_WIDTH} → {COMPUTE_BOUND_WIDTH} block",
    "int8 faster than fp32",
)

# the CNN of notebooks 04–08 at 8× its width (128, 256, 512, 512 channels) on 32 × 32 inputs: about 300 M
# multiply-accumulates per image, where arithmetic, not calls, sets the time
COMPUTE_BOUND_WIDTH_MULT = 8
COMPUTE_BOUND_RESOLUTION = 32
COMPUTE_BOUND_PRUNING_RATIO = 0.5  # structured pruning of the compute-bound CNN: half of every prunable group
_CNN_SETTING = f"CNN at width ×{COMPUTE_BOUND_WIDTH_MULT}, {COMPUTE_BOUND_RESOLUTION} × {COMPUTE_BOUND_RESOLUTION} inputs"
ARCHITECTURE_SPEED_COMPUTE_BOUND = _compute_bound(
    "architecture",
    "Architecture improvement",
    f"depthwise-separable against standard blocks, {_CNN_SETTING}, fp32",
    "separable faster than standard",
)
PRUNING_SPEED_COMPUTE_BOUND = _compute_bound(
    "pruning",
    "Pruning",
    f"{COMPUTE_BOUND_PRUNING_RATIO:.0%} of the channels structurally removed against the dense model, "
    f"{_CNN_SETTING}, fp32",
    "pruned faster than dense",
)

# --- notebook 08: the accuracy claims re-assessed from pooled seeds, and the combination target --------------------
TARGET_SIZE_X, TARGET_SPEED_X, TARGET_DROP_PTS = 4.0, 2.0, 1.0


def final_claim(claim: Claim, statement: str | None = None) -> Claim:
    """A claim of notebooks 04–07 re-declared for the running notebook's final verdict (id suffix `.final`), with
    the statement of what that notebook measures when it differs."""
    return replace(claim, id=f"{claim.id}.final", statement=statement or claim.statement)


def target_claim() -> Claim:
    """The collection's combination target, declared for the running notebook."""
    return Claim(
        "compression.combined.target",
        "Collection target for the talk's edge setting (issue 6 of this project), not a figure from the talk",
        f"A combined variant is at least {TARGET_SIZE_X:g}× smaller and {TARGET_SPEED_X:g}× faster (CPU, batch 1) "
        f"than the baseline, within {TARGET_DROP_PTS:g} accuracy point of it",
        f"3 of 3 conditions (≥ {TARGET_SIZE_X:g}× smaller, ≥ {TARGET_SPEED_X:g}× faster, ≤ {TARGET_DROP_PTS:g} pt "
        "lower)",
        "conditions met (of 3)",
        at_least(3, partly=2),
    )
