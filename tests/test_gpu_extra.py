"""helpers/collection/gpu_extra.py: the RAPIDS extra `make run` installs, from nvidia-smi's report."""

from __future__ import annotations

import pytest

from helpers.collection.gpu_extra import choose

SMI = "| NVIDIA-SMI 580.65   Driver Version: 580.65   CUDA Version: {} |"


@pytest.mark.parametrize(
    ("cuda", "caps", "extra", "why"),
    [
        ("12.4", "7.5\n", "rapids-cu12", "CUDA 12 driver"),
        ("13.0", "9.0\n9.0\n", "rapids-cu13", "compute capability 9.0"),
        ("12.2", "6.0\n", "", "compute capability ≥ 7.0; the GPU reports 6.0"),
        ("11.8", "8.0\n", "", "CUDA 12 or newer driver; nvidia-smi reports CUDA 11"),
    ],
    ids=["t4-cuda12", "h100-cuda13", "p100-too-old", "cuda11-driver"],
)
def test_the_extra_follows_cuda_major_and_compute_capability(cuda, caps, extra, why):
    chosen, reason = choose(SMI.format(cuda), caps)
    assert chosen == extra and why in reason and "\n" not in reason
