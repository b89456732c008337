"""GPU checks of the compression core and notebooks 04 and 07: CUDA paths really ran and were timed."""

from __future__ import annotations

import pytest
import torch

from helpers.compression.data import load_data
from helpers.compression.measure import measure_variant
from helpers.compression.models import make_cnn
from helpers.compression.train import TrainConfig, train

pytestmark = pytest.mark.gpu


def test_training_on_cuda_and_gpu_latency_are_measured():
    data = load_data(limit=200)
    result = train(make_cnn("separable"), data, TrainConfig(epochs=2, device="cuda", progress=False), seed=0)
    assert next(result.model.parameters()).is_cuda
    v = measure_variant(
        "gpu_check",
        "architecture",
        result.model,
        data.x_test[:4],
        [result.test_accuracy],
        [0],
        min_run_time=0.05,
    )
    assert v.gpu_latency_ms_b1 is not None and v.gpu_latency_ms_b1 > 0
    assert torch.cuda.is_initialized()


@pytest.mark.parametrize(
    ("stem", "variants"),
    [
        ("04_compression_architecture", ("cnn_standard", "cnn_separable", "cnn_separable_w050")),
        ("07_compression_distillation", ("teacher", "student_alone", "student_distilled")),
    ],
)
def test_gpu_profile_runs_trained_on_cuda_with_five_seeds(gpu_results, stem, variants):
    results = gpu_results[stem]
    assert results["params.profile"] == "gpu" and results["params.device"] == "cuda"
    for v in variants:
        assert len(results[f"model.{v}.seeds"]) >= 5
        assert results[f"model.{v}.gpu_latency_ms_b1"] is not None
