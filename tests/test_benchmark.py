"""helpers.core.benchmark: medians, spreads and interleaved ratios (properties, not timing thresholds)."""

from __future__ import annotations

import time

import pytest
import torch

from helpers.core.benchmark import Comparison, Timing, compare, measure, torch_latency


def test_timing_statistics():
    t = Timing((1.0, 2.0, 3.0, 4.0, 100.0))
    assert t.median == 3.0 and t.min == 1.0
    assert t.iqr == pytest.approx(2.0)
    assert Timing((0.5,)).iqr == 0.0
    assert "ms" in str(Timing((0.002, 0.003)))
    assert t.to_dict()["repeats"] == 5


def test_measure_calls_warmup_plus_repeats():
    calls = []
    timing = measure(lambda: calls.append(1), warmup=2, repeats=3)
    assert len(calls) == 5 and len(timing.times) == 3 and all(x >= 0 for x in timing.times)


def test_measure_rejects_bad_counts():
    with pytest.raises(ValueError, match="repeats ≥ 1"):
        measure(lambda: None, repeats=0)


def test_compare_sees_a_large_difference():
    result = compare(lambda: time.sleep(0.02), lambda: time.sleep(0.001), warmup=0, repeats=3)
    assert len(result.baseline.times) == len(result.candidate.times) == 3
    assert result.speedup > 3


def test_round_speedups_pair_each_baseline_time_with_the_candidate_time_of_its_round():
    drifting = Comparison(Timing((2.0, 4.0, 8.0)), Timing((1.0, 2.0, 4.0)))
    assert drifting.round_speedups == (2.0, 2.0, 2.0)  # the machine slowed down 4x; every round still says 2x


def test_torch_latency_runs_a_model():
    model = torch.nn.Linear(16, 4).eval()
    timing = torch_latency(model, torch.randn(1, 16), min_run_time=0.05)
    assert timing.median > 0 and len(timing.times) >= 1
