"""Unit tests for helpers.compression.tradeoffs, variants and onnx_export on hand-made rows and a tiny network."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import pandas as pd
import pytest
import torch
from torch import nn

from helpers.compression.claims import target_claim
from helpers.compression.onnx_export import (
    check_parity,
    export_onnx,
    max_abs_diff,
    onnx_runner,
    ort_session,
    time_pair,
    top1_agreement,
    torch_runner,
)
from helpers.compression.tradeoffs import (
    Target,
    best_compressed,
    dominated_by,
    dominates,
    pareto_front,
    plot_tradeoffs,
    ranking_table,
    what_to_use_when,
)
from helpers.compression.variants import BASELINE, METHODS, TEACHER, Recipe, final_accuracy_claims


def rows(*items: tuple[str, float, float, float]) -> pd.DataFrame:
    """A variants table from (name, size_bytes, latency_ms_b1, accuracy_mean) tuples."""
    return pd.DataFrame(items, columns=["name", "size_bytes", "latency_ms_b1", "accuracy_mean"])


TABLE = rows(
    ("baseline", 1000, 2.0, 0.97),
    ("small", 200, 1.0, 0.96),
    ("tiny", 100, 1.5, 0.90),
    ("worse", 300, 1.2, 0.95),  # dominated by "small": bigger, slower, less accurate
    ("bloated", 2000, 3.0, 0.97),  # dominated by "baseline": ties on accuracy, worse elsewhere
)


def test_dominance_needs_one_strict_improvement():
    a, b = TABLE.iloc[1], TABLE.iloc[3]
    assert dominates(a, b) and not dominates(b, a)
    assert not dominates(a, a), "a variant never dominates itself"


def test_front_drops_dominated_and_keeps_trade_offs():
    assert pareto_front(TABLE) == ["baseline", "small", "tiny"]


def test_front_members_are_not_dominated_by_any_row():
    front = pareto_front(TABLE)
    for name in front:
        row = TABLE.set_index("name").loc[name]
        assert not any(dominates(other, row) for _, other in TABLE.set_index("name").iterrows())


def test_exact_ties_both_stay_on_the_front():
    tied = rows(("a", 100, 1.0, 0.9), ("b", 100, 1.0, 0.9), ("c", 150, 1.5, 0.8))
    assert pareto_front(tied) == ["a", "b"]


def test_tie_on_two_objectives_is_broken_by_the_third():
    tied = rows(("a", 100, 1.0, 0.9), ("b", 100, 1.0, 0.91))
    assert pareto_front(tied) == ["b"]


def test_single_row_is_its_own_front():
    assert pareto_front(rows(("only", 1, 1.0, 0.5))) == ["only"]


def test_front_rejects_empty_nan_and_duplicate_tables():
    with pytest.raises(ValueError, match="empty"):
        pareto_front(rows())
    with pytest.raises(ValueError, match="NaN"):
        pareto_front(rows(("a", 1, float("nan"), 0.5)))
    with pytest.raises(ValueError, match="not unique"):
        pareto_front(rows(("a", 1, 1.0, 0.5), ("a", 2, 1.0, 0.5)))
    with pytest.raises(ValueError, match="lacks column"):
        pareto_front(TABLE.drop(columns="latency_ms_b1"))


def test_ranking_table_ratios_and_ranks():
    table = ranking_table(TABLE, "baseline").set_index("name")
    assert table.loc["small", "size_x_smaller"] == pytest.approx(5.0)
    assert table.loc["small", "speedup_b1"] == pytest.approx(2.0)
    assert table.loc["small", "accuracy_delta_pts"] == pytest.approx(-1.0)
    assert table.loc["tiny", "rank_size"] == 1
    assert table.loc["baseline", "rank_accuracy"] == table.loc["bloated", "rank_accuracy"] == 1
    with pytest.raises(ValueError, match="Baseline 'nope'"):
        ranking_table(TABLE, "nope")


def test_what_to_use_when_respects_the_accuracy_budget():
    advice = what_to_use_when(TABLE, "baseline", budgets_pts=(0.5, 1.0, 10.0))
    pick = {(r["if you can lose at most"], r["and you want the"]): r["use"] for _, r in advice.iterrows()}
    assert pick[("0.5 pts", "smallest")] == "baseline"
    assert pick[("1 pts", "smallest")] == "small"
    assert pick[("10 pts", "smallest")] == "tiny"
    assert pick[("1 pts", "fastest (CPU, batch 1)")] == "small"
    assert pick[("nothing", "most accurate")] == "baseline"


def test_target_counts_conditions_and_explains_the_limit():
    target = Target(size_x=4, speed_x=2, drop_pts=1)
    checked = target.check(TABLE, "baseline", ["small", "tiny", "worse"]).set_index("name")
    assert checked.loc["small", "conditions_met"] == 3
    assert checked.loc["tiny", "conditions_met"] == 1  # 10x smaller, but 1.33x faster and 7 pts lost
    assert checked.index[0] == "small"
    sentence = target.limits(checked.reset_index().set_index("name", drop=False).loc["tiny"])
    assert "speedup is 1.33x" in sentence and "7.00 pts lower" in sentence
    with pytest.raises(ValueError, match="not in the variants table"):
        target.check(TABLE, "baseline", ["ghost"])
    with pytest.raises(ValueError, match="at least one"):
        target.check(TABLE, "baseline", [])


def test_plot_has_log_size_axis_and_marks_the_front():
    frame = TABLE.assign(accuracy_std=0.01, latency_iqr_ms_b1=0.1)
    fig = plot_tradeoffs(frame, pareto_front(frame), "baseline")
    size_ax, latency_ax = fig.axes[:2]
    assert size_ax.get_xscale() == "log" and latency_ax.get_xscale() == "linear"
    labels = size_ax.get_legend_handles_labels()[1]
    assert "Pareto front (size, CPU latency, accuracy)" in labels
    assert len(fig.axes) == 2, "no GPU panel without GPU latencies"
    with_gpu = frame.assign(gpu_latency_ms_b1=[0.1, None, 0.2, 0.3, 0.4])
    assert len(plot_tradeoffs(with_gpu, pareto_front(frame), "baseline").axes) == 3


def tiny_net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 8 * 8, 10)
    ).eval()


def test_onnx_export_matches_pytorch_and_times_both(tmp_path):
    model, example = tiny_net(), torch.randn(1, 1, 8, 8)
    session = ort_session(export_onnx(model, example, tmp_path / "tiny.onnx"), threads=1)
    assert max_abs_diff(model, session, torch.randn(32, 1, 8, 8)) < 1e-4, "dynamic batch axis works"
    assert top1_agreement(model, session, torch.randn(16, 1, 8, 8)) == 1.0
    timing = time_pair(torch_runner(model, example, 2), onnx_runner(session, example, 2), inner=2, repeats=2)
    assert timing.candidate_ms > 0 and timing.reference_ms > 0
    assert timing.speedup == pytest.approx(timing.reference_ms / timing.candidate_ms)
    with pytest.raises(ValueError, match="inner ≥ 1"):
        time_pair(print, print, inner=0, repeats=1)


def test_a_mismatching_onnx_graph_stops_the_timings_with_one_sentence(tmp_path):
    model, example = tiny_net(), torch.randn(1, 1, 8, 8)
    session = ort_session(export_onnx(model, example, tmp_path / "tiny.onnx"), threads=1)
    inputs = torch.randn(32, 1, 8, 8)
    same = check_parity(model, session, inputs, int8=False)
    assert same.matches and same.max_abs_diff < 1e-4 and same.top1_agreement == 1.0
    assert same.sentence().startswith("ONNX Runtime computes the same model")
    with torch.no_grad():
        model[-1].bias += 0.5  # PyTorch now computes another model than the one exported
    for instructions, cause in (([], "no VNNI or AMX int8 instructions"), (["avx512_vnni"], None)):
        wrong = check_parity(model, session, inputs, int8=True, int8_instructions=instructions)
        said = wrong.sentence()
        assert not wrong.matches and wrong.max_abs_diff == pytest.approx(0.5, rel=1e-3)
        assert said.startswith("ONNX Runtime's outputs do not match PyTorch's")
        assert "the ONNX timings are skipped" in said and f"{wrong.max_abs_diff:.2g}" in said
        assert said.endswith(".") and ". " not in said, f"one sentence: {said}"
        assert (cause in said) if cause else ("VNNI" not in said)
    assert not check_parity(model, session, inputs, int8=False).matches


def test_onnx_export_needs_a_batch_axis(tmp_path):
    with pytest.raises(ValueError, match="batch axis"):
        export_onnx(tiny_net(), torch.randn(8), tmp_path / "x.onnx")


def test_dominated_by_names_the_dominators():
    beaten = dominated_by(TABLE)
    assert beaten["worse"] == ["small"] and beaten["bloated"] == ["baseline"]
    assert [n for n, by in beaten.items() if not by] == pareto_front(TABLE)


def test_best_compressed_skips_baseline_and_teacher():
    table = pd.concat(
        [TABLE, rows(("teacher", 4000, 4.0, 0.99), ("cnn", 1000, 2.0, 0.97))], ignore_index=True
    )
    assert best_compressed(table, Target()) == "small"


def test_recipe_rejects_bad_settings():
    with pytest.raises(ValueError, match="prune_ratio=1.5"):
        Recipe(prune_ratio=1.5)
    with pytest.raises(ValueError, match="combo_prune_ratio=0"):
        Recipe(combo_prune_ratio=0)
    with pytest.raises(ValueError, match="finetune_lr_scale=0"):
        Recipe(finetune_lr_scale=0)
    with pytest.raises(ValueError, match="alpha=2"):
        Recipe(alpha=2)
    with pytest.raises(ValueError, match="finetune_epochs=0"):
        Recipe(finetune_epochs=0)
    with pytest.raises(ValueError, match="width_mult=0"):
        Recipe(width_mult=0)


def test_final_claims_belong_to_the_running_notebook_and_keep_the_shared_rules(monkeypatch):
    monkeypatch.setenv("FSL_NOTEBOOK", "08_some_name")
    claims = final_accuracy_claims(Recipe())
    ids = [claim.id for claim, _, _ in claims]
    assert len(set(ids)) == len(ids) and all(i.endswith(".final") for i in ids)
    for claim, higher, lower in claims:
        assert higher in METHODS and lower in METHODS
        assert claim.rule.verdict(0.001) == "reproduced" and claim.rule.verdict(-0.001) == "not reproduced"
    target = target_claim()
    assert target.assess(3)["notebook"] == "08_some_name"
    assert target.rule.verdict(3) == "reproduced"
    assert target.rule.verdict(2) == "partly reproduced"
    assert target.rule.verdict(1) == "not reproduced"


def test_final_claims_name_what_notebook_08_measures():
    recipe = Recipe(prune_ratio=0.4, temperature=3.0, alpha=0.6)
    by_pair = {(higher, lower): claim.statement for claim, higher, lower in final_accuracy_claims(recipe)}
    quantized = by_pair["int8", BASELINE]
    assert "PT2E static int8" in quantized and "CNN" in quantized and "torchao" not in quantized
    assert "MLP" not in " ".join(by_pair.values()), "08 measures CNNs only"
    assert "40% of each group's channels" in by_pair["pruned", BASELINE]
    assert "depthwise-separable" in by_pair[BASELINE, "separable"]
    for pair in (("distilled", "student"), (TEACHER, "distilled")):
        assert "T = 3, α = 0.6" in by_pair[pair], "the distillation settings 08 used"
    assert "notebook 07 chooses T and α on validation" in by_pair["distilled", "student"]
