"""08_compression_tradeoffs: Pareto front, combinations, ONNX export and final verdicts, on the smoke profile."""

from __future__ import annotations

import numpy as np
import pytest

from helpers.compression.claims import target_claim, text_claim
from helpers.compression.measure import variants_from_results
from helpers.compression.text import CLAIM_ARMS
from helpers.compression.tradeoffs import TARGET, dominates
from helpers.compression.variants import (
    BASELINE,
    COMBINATIONS,
    METHODS,
    SINGLE_METHOD_VARIANTS,
    Recipe,
    as_table,
    final_accuracy_claims,
)

from .compression_expected import check_accuracy_claim, overfit_accuracies

STEM = "08_compression_tradeoffs"


@pytest.fixture(scope="module")
def smoke(smoke_run):
    return smoke_run(STEM)


def test_required_results_are_recorded(smoke):
    results = smoke.results
    for combo in COMBINATIONS:
        for field in ("size_bytes", "latency_ms_b1", "accuracy_mean"):
            assert results[f"combo.{combo}.{field}"] is not None, f"combo.{combo}.{field}"
    assert results["onnx.max_abs_diff"] >= 0
    for name in METHODS:
        assert 0 <= results[f"model.{name}.accuracy_mean"] <= 1, f"{name} has no accuracy"
        assert results[f"model.{name}.seeds"] == results["seeds"]


def test_pareto_front_is_exactly_the_non_dominated_variants(smoke):
    table = as_table(variants_from_results(smoke.results)).set_index("name")
    front = smoke.results["pareto.variants"]
    assert front, "the Pareto front is empty"
    assert set(front) <= set(table.index)
    for name, row in table.iterrows():
        dominated = any(dominates(other, row) for _, other in table.iterrows())
        assert dominated == (name not in front), f"{name}: on the front iff no recorded variant dominates it"


def test_combinations_are_smaller_than_the_single_methods(smoke):
    results = smoke.results
    combined = results["combo.distill-prune-int8.size_bytes"]
    for method, name in SINGLE_METHOD_VARIANTS.items():
        assert combined < results[f"model.{name}.size_bytes"], f"distill-prune-int8 not smaller than {method}"
    assert results["combo.separable-int8.size_bytes"] < results["model.separable.size_bytes"]
    assert results["combo.distill-prune-int8.smaller_than_every_single_method"] is True


def test_onnx_timings_only_after_the_outputs_match(smoke):
    results = smoke.results
    assert results["onnx.variant"] in METHODS and results["onnx.variant"] not in (BASELINE, "teacher")
    assert results["onnx.file_bytes"] > 0 and results["onnx.tolerance"] <= 0.1
    assert results["onnx.outputs_match"] is (results["onnx.max_abs_diff"] <= results["onnx.tolerance"])
    if results["onnx.outputs_match"]:
        assert results["onnx.top1_agreement"] >= 0.99
        assert results["onnx.latency_ms_b1"] > 0 and "onnx.skipped" not in results
    else:
        assert "onnx.latency_ms_b1" not in results
        assert results["onnx.skipped"].startswith("ONNX Runtime's outputs do not match PyTorch's")
    if results["onnx.int8_instructions"]:
        assert results["onnx.outputs_match"], "with VNNI or AMX, ONNX Runtime's int8 kernels match PyTorch's"


def test_target_verdict_follows_from_the_recorded_ratios(smoke):
    results = smoke.results
    best = results["target.best_combination"]
    assert best in COMBINATIONS
    base = {k: results[f"model.{BASELINE}.{k}"] for k in ("size_bytes", "latency_ms_b1", "accuracy_mean")}
    met = (
        int(base["size_bytes"] / results[f"combo.{best}.size_bytes"] >= TARGET.size_x)
        + int(base["latency_ms_b1"] / results[f"combo.{best}.latency_ms_b1"] >= TARGET.speed_x)
        + int(
            100 * (results[f"combo.{best}.accuracy_mean"] - base["accuracy_mean"]) >= -TARGET.drop_pts - 1e-9
        )
    )
    assert results["target.conditions_met"] == met
    claim = smoke.claim(target_claim().id)
    assert claim["measured"] == met
    assert claim["verdict"] == (
        "reproduced" if met == 3 else "partly reproduced" if met == 2 else "not reproduced"
    )


def test_final_accuracy_claims_use_the_pooled_seeds(smoke):
    """The smoke profile trains two seeds, so the final verdicts take the several-seed branch (the one-seed branch,
    'not measurable here', is covered by test_compression_verdicts)."""
    assert smoke.results["seeds"] == [0, 1]
    per_seed = {n: smoke.results[f"model.{n}.per_seed_accuracy"] for n in METHODS}
    recipe = Recipe(
        prune_ratio=smoke.results["params.prune_ratio"],
        temperature=smoke.results["params.temperature"],
        alpha=smoke.results["params.alpha"],
    )
    for claim, higher, lower in final_accuracy_claims(recipe):
        a, b = per_seed[higher], per_seed[lower]
        assert len(a) == len(b) == 2
        entry = smoke.claim(claim.id)
        check_accuracy_claim(entry, a, b)
        assert entry["notebook"] == STEM


def test_overfit_final_verdicts_follow_the_recorded_sweep(smoke):
    rows = smoke.results["overfit.rows"]
    check_accuracy_claim(
        smoke.claim("compression.pruning.accuracy_increase.overfit.final"),
        overfit_accuracies(rows, "pruned_finetuned", 0.5),
        overfit_accuracies(rows, "dense_finetuned"),
    )
    check_accuracy_claim(
        smoke.claim("compression.quantization.accuracy_increase.overfit.final"),
        overfit_accuracies(rows, "fake_quant", 8),
        overfit_accuracies(rows, "dense"),
    )
    assert smoke.results["pareto.matches_by_hand"] is True


def test_text_task_claims_follow_from_the_recorded_runs(smoke):
    results = smoke.results
    assert results["text.sizes"]["test"] >= 2000, "a test set large enough for tenths of a point"
    runs = results["text.runs"]
    seeds = list(range(results["params.text_seeds"]))

    def arm(name: str) -> list[float]:
        by_seed = {r["seed"]: r["test_accuracy"] for r in runs if r["arm"] == name}
        assert sorted(by_seed) == seeds, name
        return [by_seed[s] for s in seeds]

    for key, (higher, lower) in CLAIM_ARMS.items():
        claim = text_claim(key, results["params.temperature"], results["params.alpha"])
        entry = smoke.claim(claim.id)
        assert entry["statement"] == claim.statement and entry["notebook"] == STEM
        check_accuracy_claim(entry, arm(higher), arm(lower))
        if key.startswith("distillation_") and key != "distillation_vs_teacher":
            (teacher_check,) = entry["checks"].values()
            teacher, alone = np.mean(arm("baseline")), np.mean(arm(lower))
            assert teacher_check is False or teacher > alone, "a passed teacher check needs a better teacher"
