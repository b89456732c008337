"""helpers.compression.deployment: the int8 study's paths compute the block, its timings, break-even and verdicts."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from helpers.compression.claims import COMPUTE_BOUND_WIDTH, QUANTIZATION_SPEED_COMPUTE_BOUND, path_id
from helpers.compression.deployment import (
    PATHS,
    PairTiming,
    block_macs,
    break_even_width,
    identity_runner,
    linear_block,
    runners,
    time_int8,
    timing_of,
    timings_frame,
)
from helpers.compression.verdicts import assess_compute_bound
from helpers.core.params import resolve


def timing(path: str, width: int, batch: int, rounds: tuple[float, ...]) -> PairTiming:
    return PairTiming(path, width, batch, 1.0, 1.0 / float(np.median(rounds)), rounds, (1, 1), 0.01)


def test_the_block_is_a_feed_forward_layer_and_its_macs_are_counted():
    block = linear_block(8)
    assert [tuple(m.weight.shape) for m in block if hasattr(m, "weight")] == [(32, 8), (8, 32)]
    assert block_macs(8, 3) == 3 * (8 * 32 + 32 * 8)
    with pytest.raises(ValueError, match="width=0"):
        linear_block(0)


@pytest.mark.parametrize("path", PATHS)
def test_every_path_runs_the_block_in_fp32_and_approximates_it_in_int8(path, tmp_path):
    block, x = linear_block(32), torch.randn(4, 32)
    fp32, int8 = runners(path, block, 32, tmp_path)
    with torch.inference_mode():
        expected = block(x).numpy()
        got, approx = (np.asarray(r(x)) for r in (fp32, int8))
    assert got.shape == approx.shape == (4, 32)
    assert np.abs(got - expected).max() <= 1e-4 * np.abs(expected).max(), "fp32 on the path is the same block"
    error = np.abs(approx - expected).max() / np.abs(expected).max()
    assert 0 < error < 0.05, f"int8 on {path} rounds (error {error:.3g}) but computes the same function"
    with torch.inference_mode():
        assert np.array_equal(np.asarray(identity_runner(path, tmp_path)(x)), x.numpy())


def test_a_timed_pair_gives_a_speedup_with_its_interval(tmp_path):
    timed = time_int8(
        "PyTorch eager", 16, 2, runners("PyTorch eager", linear_block(16), 16, tmp_path), 0.02, 4
    )
    assert len(timed.round_speedups) == 4 and timed.baseline_ms > 0 and timed.candidate_ms > 0
    estimate = timed.speedup
    assert estimate.low == min(timed.round_speedups) and estimate.high == max(timed.round_speedups)
    row = timings_frame([timed]).iloc[0]
    assert row["macs"] == block_macs(16, 2) and row["speedup"] == pytest.approx(estimate.value)
    with pytest.raises(ValueError, match="not one of"):
        runners("TensorRT", linear_block(16), 16, tmp_path)


def test_break_even_is_the_width_from_which_int8_stays_faster():
    lows = {16: 0.5, 64: 1.2, 256: 0.9, 1024: 1.5}
    timings = [timing("ONNX Runtime", w, 1, (low, low + 0.1, low + 0.2)) for w, low in lows.items()]
    assert break_even_width(timings, "ONNX Runtime", 1) == 1024, "a dip at 256 moves the break-even past it"
    timings[2] = timing("ONNX Runtime", 256, 1, (1.1, 1.2, 1.3))
    assert break_even_width(timings, "ONNX Runtime", 1) == 64
    slower = [timing("ONNX Runtime", w, 1, (0.5, 0.6, 0.7)) for w in lows]
    assert break_even_width(slower, "ONNX Runtime", 1) is None
    with pytest.raises(ValueError, match="widths must include 1024"):
        timing_of(slower, "ONNX Runtime", 1024, 64)


def test_the_compute_bound_claims_are_judged_on_the_interval_of_the_widest_block(monkeypatch):
    monkeypatch.setenv("FSL_NOTEBOOK", "06_some_name")
    rounds = {
        ("PyTorch eager", 1): (2.2, 2.5, 3.0),  # wholly ≥ 2: reproduced
        ("PyTorch eager", 64): (1.3, 1.5, 1.9),  # wholly in [1.25, 2): partly
        ("torch.compile", 1): (0.8, 0.9, 1.0),  # wholly below 1.25: not reproduced
        ("torch.compile", 64): (1.5, 2.0, 2.5),  # straddles 2: inconclusive
        ("ONNX Runtime", 1): (4.0, 5.0, 6.0),
        ("ONNX Runtime", 64): (4.0, 5.0, 6.0),
    }
    timings = [timing(path, COMPUTE_BOUND_WIDTH, batch, r) for (path, batch), r in rounds.items()]
    timings.append(timing("PyTorch eager", 64, 1, (9.0, 9.5, 10.0)))  # another width: never judged
    resolve(
        {"int8_rounds": (2, 3, 3)}, {"profile": "cpu"}
    )  # the table whose int8_rounds set the three rounds
    entries = {
        e["id"]: e
        for e in assess_compute_bound(
            QUANTIZATION_SPEED_COMPUTE_BOUND,
            timings,
            COMPUTE_BOUND_WIDTH,
            ("fp32", "int8"),
            "int8_paths",
            "int8_rounds",
        )
    }
    assert set(entries) == {c.id for c in QUANTIZATION_SPEED_COMPUTE_BOUND.values()}

    def verdict(path: str, measure: str) -> str:
        return entries[f"compression.quantization.compute_bound.{path_id(path)}.{measure}"]["verdict"]

    assert verdict("PyTorch eager", "latency_b1") == "reproduced"
    assert verdict("PyTorch eager", "throughput_b64") == "partly reproduced"
    assert verdict("torch.compile", "latency_b1") == "not reproduced"
    assert verdict("torch.compile", "throughput_b64") == "inconclusive"
    undecided = entries["compression.quantization.compute_bound.torch_compile.throughput_b64"]
    counts = {"smoke": 2, "cpu": 3, "gpu": 3, "this run": 3}
    assert undecided["sampled_by"] == {"parameter": "int8_rounds", "counts": counts}
    assert (
        "width 1024, batch 64"
        in entries["compression.quantization.compute_bound.eager.throughput_b64"]["reason"]
    )


def test_a_structure_study_times_both_models_on_every_path_and_counts_their_macs(tmp_path):
    from helpers.compression.deployment import structure_study
    from helpers.compression.models import make_cnn

    pairs = {16: (make_cnn("standard", 0.25).eval(), make_cnn("separable", 0.25).eval())}
    paths = ("PyTorch eager", "ONNX Runtime")  # torch.compile's runner is the int8 study's, tested above
    timings, floors = structure_study(pairs, (1, 8, 8), (1, 3), tmp_path, 0.02, 3, paths=paths)
    assert {(t.path, t.width, t.batch) for t in timings} == {(p, 16, b) for p in paths for b in (1, 3)}
    for t in timings:
        assert t.baseline_ms > 0 and t.candidate_ms > 0 and t.relative_error is None
        assert t.macs[0] > t.macs[1] > 0, "the separable CNN does less arithmetic"
    row = timings_frame(timings, ("standard", "separable")).iloc[0]
    assert {"standard_ms", "separable_ms", "macs_ratio"} <= set(row.index) and "relative_error" not in row
    assert set(floors.path) == set(paths) and (floors.identity_ms > 0).all()
    with pytest.raises(ValueError, match="rounds=1"):
        structure_study(pairs, (1, 8, 8), (1,), tmp_path, 0.02, 1)


def test_deployment_study_parameters_are_refused_with_the_parameter_named():
    from helpers.compression.deployment import check_deployment_study

    with pytest.raises(ValueError, match=r"deploy_width_mults=\[1, 4\] must be positive and include 8"):
        check_deployment_study([1, 4], list(PATHS), 5, "deploy")
    with pytest.raises(ValueError, match="deploy_rounds=1 must be at least 2"):
        check_deployment_study([1, 8], list(PATHS), 1, "deploy")
    with pytest.raises(ValueError, match="in deploy_paths"):
        check_deployment_study([1, 8], ["TensorRT"], 5, "deploy")


@pytest.mark.parametrize("path", PATHS)
def test_the_identity_model_returns_a_four_axis_input_unchanged(path, tmp_path):
    x = torch.randn(2, 1, 4, 4)
    with torch.inference_mode():
        assert np.array_equal(np.asarray(identity_runner(path, tmp_path, rank=4)(x)), x.numpy())
